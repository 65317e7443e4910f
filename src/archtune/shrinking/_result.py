"""What a shrink produced: the baseline, the Pareto candidates, the chosen model."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archtune._redact import redact_url

__all__ = ["COST_KEYS", "Candidate", "ShrinkResult"]

COST_KEYS = {"params": "params", "flops": "flops", "latency": "latency_ms"}
"""``--objective`` -> the metric it minimises."""


@dataclass(frozen=True)
class Candidate:
    """One model fine-tuned at the full budget and evaluated on the test split.

    Attributes:
        label: ``baseline``, ``baseline + best recipe`` or ``trial N``.
        trial: The study's trial number (``None`` for the baseline rows).
        params: Trainable parameters.
        flops: FLOPs per example (2 x multiply-adds).
        latency_ms: Milliseconds per example at batch 1 (CPU, one thread).
        val_accuracy: Accuracy on the validation split.
        test_accuracy: Accuracy on the held-out test split.
        train_time_s: Seconds of training (0 for given trained weights).
        structure: The layers in one line.
        recipe: The training recipe's fields.
        config: The shrink parameters (``shrink.*``) and the searched recipe fields.
        network: The network description (``Network.to_dict()``).
        test_interval: The 95 % Wilson interval of ``test_accuracy``.
        change_interval: The change in test accuracy against the baseline on the same rows,
            and its 95 % interval: ``(change, low, high)``.
        epochs: Epochs of training since the baseline (search steps and fine-tune).
    """

    label: str
    trial: int | None
    params: int
    flops: int
    latency_ms: float
    val_accuracy: float
    test_accuracy: float
    train_time_s: float
    structure: str
    recipe: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    network: dict[str, Any] = field(default_factory=dict)
    test_interval: tuple[float, float] = (math.nan, math.nan)
    change_interval: tuple[float, float, float] = (0.0, 0.0, 0.0)
    epochs: float = 0.0

    @property
    def within_noise(self) -> bool:
        """Whether the change against the baseline's test accuracy is within its 95 % interval."""
        _, low, high = self.change_interval
        return bool(low <= 0.0 <= high)

    def cost(self, objective: str) -> float:
        """The cost ``objective`` (``params``, ``flops`` or ``latency``) measures."""
        return float(getattr(self, COST_KEYS[objective]))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every attribute."""
        return {
            "label": self.label,
            "trial": self.trial,
            "params": self.params,
            "flops": self.flops,
            "latency_ms": self.latency_ms,
            "val_accuracy": self.val_accuracy,
            "test_accuracy": self.test_accuracy,
            "train_time_s": self.train_time_s,
            "structure": self.structure,
            "recipe": self.recipe,
            "config": self.config,
            "network": self.network,
            "test_interval": list(self.test_interval),
            "change_interval": list(self.change_interval),
            "epochs": self.epochs,
        }


@dataclass(frozen=True)
class ShrinkResult:
    """The outcome of :func:`archtune.shrink`.

    Attributes:
        baseline: The baseline as given (trained with its recipe, or its given weights).
        pareto: The retrained Pareto candidates, cheapest first.
        chosen: The cheapest model within ``max_drop`` of the baseline's test accuracy (the
            baseline itself when no candidate is).
        baseline_best_recipe: The baseline's structure retrained with the best recipe found.
        objective: ``params``, ``flops`` or ``latency``: the cost minimised.
        max_drop: The accepted drop in test accuracy (absolute, e.g. 0.005).
        exported: The chosen model's ONNX file (``None`` when not exported).
        study_name: The study's name.
        storage: Its storage URL (``None``: in memory).
        wall_time_s: Seconds the whole shrink took.
        counts: The study's trials by status.
        strategy: The search strategy (``progressive`` or ``sampler``).
        epochs_spent: Epochs of training in all (baseline, search, fine-tunes), in passes over
            the training split.
        budget_epochs: The budget those epochs were limited to.
        baseline_epochs: One baseline training's epochs (the budget's unit).
        preprocessing: How the data were prepared for every model (``standardized`` or
            ``as given``).
        ladder: The models the search found, from the most costly to the cheapest (trial,
            params, flops, cost, validation accuracy after the search's short training, epochs
            along its lineage, structure, saved model): the front the finalists came from.
    """

    baseline: Candidate
    pareto: tuple[Candidate, ...]
    chosen: Candidate
    baseline_best_recipe: Candidate | None
    objective: str
    max_drop: float
    exported: Path | None
    study_name: str
    storage: str | None
    wall_time_s: float
    counts: dict[str, int] = field(default_factory=dict)
    strategy: str = "progressive"
    epochs_spent: float = 0.0
    budget_epochs: float = 0.0
    baseline_epochs: int = 0
    preprocessing: str = "standardized"
    ladder: tuple[dict[str, Any], ...] = ()
    study: Any = field(default=None, repr=False, compare=False)
    """The Optuna study (in memory when ``storage`` is ``None``): what :meth:`report` reads."""

    def __repr__(self) -> str:
        chosen = self.chosen
        what = (
            "the baseline"
            if chosen is self.baseline
            else f"{chosen.label}, {self.reduction(chosen):.1f}x fewer {self.objective}"
        )
        return (
            f"ShrinkResult(study={self.study_name!r}, chosen: {what}, {chosen.params:,} params, "
            f"validation accuracy {chosen.val_accuracy:.4f} against the baseline's "
            f"{self.baseline.val_accuracy:.4f}; {len(self.pareto)} on the Pareto front)"
        )

    def _repr_html_(self) -> str:
        from archtune.shrinking._result_view import shrink_html

        return shrink_html(self)

    def report(self, path: str | os.PathLike[str] | None = None, *, open: bool = False) -> Any:
        """The shrink's HTML report (:class:`archtune.report.HTMLReport`): shown inline in a
        notebook, written to ``path`` if given, opened in a web browser with ``open=True``.

        Raises:
            StudyStateError: the result has no study (it was read back from JSON).
        """
        from archtune._errors import StudyStateError
        from archtune.report._inline import report_of
        from archtune.search import TuneResult

        if self.study is None:
            raise StudyStateError(
                f"shrink result {self.study_name!r} holds no study; run `archtune report "
                f"{self.study_name} --storage <url>` on the study's storage"
            )
        return report_of(TuneResult.from_study(self.study), path, open_it=open)

    @property
    def verdict(self) -> str:
        """One line on the chosen model's test accuracy against the baseline's."""
        chosen = self.chosen
        if chosen is self.baseline:
            return "the baseline: no cheaper candidate is within max_drop on validation"
        change, low, high = chosen.change_interval
        span = (
            f"{100 * change:+.2f} pt on test (95 % interval {100 * low:+.2f} to {100 * high:+.2f})"
        )
        if chosen.within_noise:
            return f"{span}: within the test split's noise"
        return f"{span}: {'better' if change > 0 else 'worse'} than the baseline beyond noise"

    def reduction(self, candidate: Candidate) -> float:
        """How many times cheaper than the baseline ``candidate`` is (by the objective)."""
        cost = candidate.cost(self.objective)
        return self.baseline.cost(self.objective) / cost if cost > 0 else float("inf")

    def rows(self) -> list[Candidate]:
        """The baseline, the baseline with the best recipe, then the Pareto candidates."""
        extra = [self.baseline_best_recipe] if self.baseline_best_recipe is not None else []
        return [self.baseline, *extra, *self.pareto]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``archtune shrink --json``."""

        def entry(candidate: Candidate) -> dict[str, Any]:
            drop = candidate.test_accuracy - self.baseline.test_accuracy
            return {
                **candidate.to_dict(),
                "accuracy_change": drop,
                "reduction": self.reduction(candidate),
            }

        best = self.baseline_best_recipe
        return {
            "objective": self.objective,
            "max_drop": self.max_drop,
            "baseline": entry(self.baseline),
            "baseline_best_recipe": entry(best) if best is not None else None,
            "chosen": entry(self.chosen),
            "pareto": [entry(c) for c in self.pareto],
            "exported": str(self.exported) if self.exported is not None else None,
            "study": {
                "name": self.study_name,
                "storage": redact_url(self.storage) if self.storage is not None else None,
                "trials": self.counts,
            },
            "wall_time_s": self.wall_time_s,
            "strategy": self.strategy,
            "verdict": self.verdict,
            "budget": {
                "baseline_epochs": self.baseline_epochs,
                "epochs_spent": self.epochs_spent,
                "budget_epochs": self.budget_epochs,
                "baseline_trainings": (
                    self.epochs_spent / self.baseline_epochs if self.baseline_epochs else None
                ),
            },
            "preprocessing": self.preprocessing,
            "ladder": list(self.ladder),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), indent=indent, default=_plain)


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)
