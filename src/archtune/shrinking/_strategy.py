"""The search strategy's interface: from a trained baseline to a ladder of smaller models.

A strategy proposes shrink tasks, runs them through the :class:`TaskRunner` (which records
each as a trial of the study) and returns the models worth a full fine-tune, cheapest last.
Strategies are peers behind :class:`BaseShrinkStrategy`; the pipeline (``_run.py``) does the
rest (baseline, final fine-tunes, choice, export) the same way for all of them.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from archtune.arch import Network
from archtune.shrinking._runner import TaskRunner

__all__ = ["BaseShrinkStrategy", "LadderPoint", "SearchContext", "model_path", "task_config"]


@dataclass(frozen=True)
class LadderPoint:
    """A model the search found: trained briefly, saved, measured on validation.

    Attributes:
        trial: Its trial in the study.
        network: Its network description.
        model: The file its trained model was saved to (the backend's format).
        val_accuracy: Validation accuracy after the search's short training.
        cost: The objective's cost (params, FLOPs or latency).
        epochs: Epochs of training along its lineage since the baseline (search steps).
        moves: The moves that made it from the baseline, in order (``w4: 64 -> 47``).
        recipe: Recipe fields of its training that differ from the base recipe.
    """

    trial: int
    network: Network
    model: str
    val_accuracy: float
    cost: float
    epochs: float
    moves: tuple[str, ...] = ()
    recipe: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchContext:
    """What a strategy may use.

    Attributes:
        baseline: The baseline network (trained).
        baseline_model: The baseline's saved model.
        baseline_val: The baseline's validation accuracy.
        cost_of: The objective's cost of a network, before training.
        runner: Runs tasks (through the executor) and records them.
        epochs: The search's budget, in epochs of the full training split.
        work: A folder for saved models.
        recipe: The base recipe's fields.
        distill: Whether search tasks learn from the baseline's logits too.
        seed: The shrink's seed.
        log: One line per step.
        n_train: Rows of the training split (to size short trainings in optimizer steps).
        trivial_val: The validation accuracy of always answering the most frequent class.
    """

    baseline: Network
    baseline_model: str
    baseline_val: float
    cost_of: Callable[[Network], float]
    runner: TaskRunner
    epochs: float
    work: Path
    recipe: Mapping[str, Any]
    distill: bool
    seed: int
    log: Callable[[str], None]
    n_train: int = 0
    trivial_val: float = 0.0


class BaseShrinkStrategy(abc.ABC):
    """Searches for smaller models; one class per algorithm."""

    name: ClassVar[str]

    @abc.abstractmethod
    def search(self, context: SearchContext) -> list[LadderPoint]:
        """Run the search; return its best models, from the most costly to the cheapest.

        Each point should be at least as accurate (on validation) as every cheaper one the
        search found, so a choice among them walks one ladder.
        """

    def first_step_epochs(
        self,
        network: Network,
        cost_of: Callable[[Network], float],
        n_train: int,
        recipe: Mapping[str, Any],
    ) -> float:
        """Epochs the search needs before it can try one smaller model (``0``: unknown).

        The pipeline checks the budget against it before training anything: a budget that
        cannot hold one step would end with the baseline and a verdict about candidates that
        were never tried.
        """
        return 0.0


def task_config(
    parent: Network,
    parent_model: str | None,
    delta: Mapping[str, Any],
    *,
    save: str,
    epochs: int,
    init: str = "pretrained",
    recipe: Mapping[str, Any] | None = None,
    train_fraction: float = 1.0,
    distill: bool = False,
) -> dict[str, Any]:
    """A shrink task's plain-data configuration (see :mod:`archtune.shrinking._objective`)."""
    return {
        "parent": {"network": parent.to_dict(), "model": parent_model},
        "delta": dict(delta),
        "init": init,
        "recipe": dict(recipe or {}),
        "epochs": epochs,
        "train_fraction": train_fraction,
        "distill": distill,
        "save": save,
    }


def model_path(work: Path, key: str, suffix: str) -> str:
    """Where a task's model is saved: ``search/3/w4=47`` -> ``work/search-3-w4=47.pt``."""
    safe = "".join(c if c.isalnum() or c in "=.-_" else "-" for c in key)
    return str(work / f"{safe}{suffix}")
