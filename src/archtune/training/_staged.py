"""Train a built-in trial in the stages of a data fidelity (``scheduler: {fidelity: data}``).

Each stage trains the whole recipe, from the same initialisation, on a fraction of the training
split; the last stage uses all of it. The trial's steps count epoch-equivalents (passes over the
whole split): a stage worth ``steps`` of them makes that many reports, the last at its end,
where the scheduler's rung is (:mod:`archtune.search._fidelity` says why and what it costs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archtune._reporter import WARMUP_METRIC, Decision, Reporter
from archtune.data import train_fraction

if TYPE_CHECKING:
    from archtune.arch import Network
    from archtune.backends import BaseBackend, FitResult
    from archtune.data import Dataset
    from archtune.recipe import Recipe

__all__ = ["StageReporter", "fit_in_stages"]


class StageReporter:
    """One stage's per-epoch reports, passed on as the trial's epoch-equivalent steps.

    After epoch ``e`` of ``epochs`` the stage has made ``floor(e * steps / epochs)`` reports,
    numbered on from ``start``. The warm-up flag is dropped: a stage is judged at its end, where
    its schedule is complete, and a warm-up flag inside a later stage would read as a rung
    passed during a warm-up. Checkpoints are not kept (a rerun trains its stages again).
    """

    def __init__(self, reporter: Reporter, *, start: int, steps: int, epochs: int) -> None:
        self.reporter = reporter
        self.start = start
        self.steps = steps
        self.epochs = max(1, epochs)
        self.made = 0
        self.stopped = False

    @property
    def trial_number(self) -> int:
        return self.reporter.trial_number

    @property
    def seed(self) -> int | None:
        return self.reporter.seed

    @property
    def should_stop(self) -> bool:
        return self.stopped or self.reporter.should_stop

    def report(self, step: int, **metrics: float) -> Decision:
        """Pass on the reports this epoch completes; ``STOP`` once the trial is stopped."""
        due = min(self.steps, step * self.steps // self.epochs)
        passed = {name: value for name, value in metrics.items() if name != WARMUP_METRIC}
        while self.made < due and not self.stopped:
            self.made += 1
            if self.reporter.report(self.start + self.made, **passed) is Decision.STOP:
                self.stopped = True
        return Decision.STOP if self.stopped else Decision.CONTINUE


def fit_in_stages(
    backend: BaseBackend,
    network: Network,
    dataset: Dataset,
    recipe: Recipe,
    stages: Sequence[tuple[float, int]],
    *,
    reporter: Reporter,
    seed: int,
) -> tuple[Any, FitResult, int]:
    """Train each ``(fraction, steps)`` stage in turn until one is stopped or all are done.

    Returns:
        The last stage's model and fit result, and the epoch-equivalent steps reported.
    """
    start = 0
    model: Any = None
    result: FitResult | None = None
    for fraction, steps in stages:
        model = backend.build(network, seed=seed)
        part = dataset if fraction >= 1 else train_fraction(dataset, fraction, seed)
        staged = StageReporter(reporter, start=start, steps=steps, epochs=recipe.epochs)
        result = backend.fit(model, part, recipe, reporter=staged, seed=seed)
        start += staged.made
        if staged.should_stop:
            break
    if result is None:
        raise ValueError("fit_in_stages needs at least one stage")
    return model, result, start
