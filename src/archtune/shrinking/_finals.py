"""The finalists' full fine-tunes: a search over the ladder for the cheapest model within
``max_drop`` of the baseline on validation.

The ladder runs from the most costly model to the cheapest. Each round fine-tunes up to
``n_workers`` points (in parallel) of the part of the ladder still in doubt: bounded by the
cheapest point known to be within (at first the baseline) and the dearest point known not to
be. The first round spreads its points evenly. Later rounds aim where the boundary is
predicted: each point's accuracy after its short search step, plus the recovery (full
fine-tune minus short step) measured on the finalists so far, interpolated along the ladder;
they fine-tune the cheapest point predicted within, and the next cheaper one, which brackets
the boundary. The rounds go on while the budget lasts (one round at least).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from archtune.shrinking._runner import ShrinkTask, TaskRunner
from archtune.shrinking._space import describe_structure
from archtune.shrinking._strategy import LadderPoint, model_path, task_config

__all__ = ["FINETUNE_RECIPE", "Final", "finetune_ladder", "next_picks"]

FINETUNE_RECIPE: dict[str, object] = {"schedule": "cosine"}
"""The finalists' fine-tune: the base recipe with a cosine schedule to zero."""

Final = tuple[LadderPoint, dict[str, float], str]
"""A fine-tuned finalist: its ladder point, its metrics and its saved model."""


def next_picks(
    ladder: Sequence[LadderPoint],
    low: int,
    high: int,
    n: int,
    measured: dict[int, float],
    threshold: float,
) -> list[int]:
    """The next ``n`` ladder indices to fine-tune, strictly between ``low`` and ``high``.

    ``measured`` maps fine-tuned indices to their validation accuracy; ``threshold`` is the
    accuracy a model needs to be within.
    """
    inside = list(range(low + 1, high))
    if not inside or n < 1:
        return []
    if not measured:  # nothing to learn from yet: spread the picks
        spread = {low + round((k + 1) * (high - low) / (n + 1)) for k in range(n)}
        return sorted(p for p in spread if low < p < high) or [inside[0]]
    recovery = {i: acc - ladder[i].val_accuracy for i, acc in measured.items()}

    def predicted(i: int) -> float:
        before = [j for j in recovery if j < i]
        after = [j for j in recovery if j > i]
        if before and after:
            a, b = max(before), min(after)
            share = (i - a) / (b - a)
            gain = recovery[a] + share * (recovery[b] - recovery[a])
        else:
            gain = recovery[max(before)] if before else recovery[min(after)]
        return ladder[i].val_accuracy + gain

    within = [i for i in inside if predicted(i) >= threshold]
    first = max(within) if within else inside[0]
    picks = [first]
    if n > 1 and first + 1 < high:
        picks.append(first + 1)  # the next cheaper one: brackets the boundary
    if n > len(picks) and first - 1 > low:
        picks.append(first - 1)
    return sorted(picks)


def finetune_ladder(
    runner: TaskRunner,
    ladder: Sequence[LadderPoint],
    *,
    baseline_val: float,
    max_drop: float,
    epochs: int,
    budget_epochs: float,
    n_workers: int,
    distill: bool,
    work: Path,
    log: Callable[[str], None],
) -> list[Final]:
    """Fine-tune finalists, closing in on the cheapest one within ``max_drop``."""
    finals: list[Final] = []
    threshold = baseline_val - max_drop - 1e-12
    measured: dict[int, float] = {}
    low, high = -1, len(ladder)  # ladder[low] is within (-1: the baseline); ladder[high] not
    rounds = 0
    while high - low > 1:
        left = budget_epochs - runner.epochs
        n = min(n_workers, high - low - 1, max(0, math.floor(left / epochs)))
        if n < 1 and rounds > 0:
            break
        rounds += 1
        picks = next_picks(ladder, low, high, max(n, 1), measured, threshold)
        tasks = [finetune_task(ladder[p], epochs, distill, work, runner.suffix) for p in picks]
        for p, outcome in zip(picks, runner.run(tasks), strict=True):
            if outcome.metrics is None:
                high = min(high, p)
                continue
            accuracy = float(outcome.metrics["val_accuracy"])
            measured[p] = accuracy
            finals.append((ladder[p], dict(outcome.metrics), str(outcome.task.config["save"])))
            log(
                f"fine-tuned step {p + 1} ({describe_structure(ladder[p].network)}): validation "
                f"accuracy {accuracy:.4f}, {'within' if accuracy >= threshold else 'not within'} "
                f"{100 * max_drop:.1f} pt of the baseline's"
            )
        passed = [p for p, acc in measured.items() if acc >= threshold]
        failed = [
            p for p, acc in measured.items() if acc < threshold and p > max(passed, default=-1)
        ]
        low = max(passed, default=-1)
        high = min(failed, default=len(ladder))
    return finals


def finetune_task(
    point: LadderPoint, epochs: int, distill: bool, work: Path, suffix: str
) -> ShrinkTask:
    """The full fine-tune of one ladder point, from its own weights."""
    key = f"finetune/{point.trial}"
    return ShrinkTask(
        key=key,
        config=task_config(
            point.network,
            point.model,
            {},
            save=model_path(work, key, suffix),
            epochs=epochs,
            recipe={**FINETUNE_RECIPE, **point.recipe},
            distill=distill,
        ),
        info={
            "archtune.shrink.stage": "finetune",
            "archtune.shrink.from_trial": point.trial,
            "archtune.shrink.structure": describe_structure(point.network),
        },
    )
