"""Fidelity beyond epochs: judge a trial first on a fraction of the training data.

With ``scheduler: {fidelity: data}`` a built-in trial trains in *stages*. Each stage trains the
whole recipe (every epoch, the full learning-rate schedule) from the same initialisation on a
fraction of the training split; the last stage trains on all of it, so a trial that is never
stopped ends with exactly the model its recipe gives (an export that retrains it gets the same
network). Stage ``k``'s fraction is the epoch rung it replaces over the trial's length
(``min_steps * eta**k / max_steps``), so it costs as many epoch-equivalents (passes over the
whole split) as that rung. Steps count epoch-equivalents: a stage reports once per
epoch-equivalent it trains, and the rungs sit at the stages' ends, where the scheduler judges.

Why it can help where epoch rungs cannot: a trial cut at an epoch rung is judged in the middle
of its schedule (a one-cycle rate still rising, a cosine rate still high), while a stage is a
complete training, only on less data. Its price: a trial that survives every rung trains each
stage in turn, so it costs the sum of the stages (:func:`full_steps`) instead of
``max_steps``. On mnist1d it did not beat epoch rungs (docs/samplers.md), so ``auto`` keeps
epochs.

Example:
    >>> stages = data_stages(min_steps=1, eta=3, max_steps=9)
    >>> [(round(s.fraction, 3), s.steps) for s in stages]
    [(0.111, 1), (0.333, 3), (1.0, 9)]
    >>> rung_steps(stages), full_steps(stages)
    ([1, 4], 13)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from archtune.search._rung_schedulers import rung_levels

__all__ = ["FIDELITIES", "Fidelity", "Stage", "data_stages", "full_steps", "rung_steps"]

Fidelity = Literal["epochs", "data"]
FIDELITIES: tuple[str, ...] = ("epochs", "data")


@dataclass(frozen=True)
class Stage:
    """One complete training on ``fraction`` of the training split, costing ``steps``
    epoch-equivalents (``fraction * max_steps``)."""

    fraction: float
    steps: int


def data_stages(min_steps: int, eta: int, max_steps: int) -> tuple[Stage, ...]:
    """The stages of a trial of ``max_steps`` epochs: one per epoch rung, then all the data."""
    levels = rung_levels(min_steps, eta, max_steps)
    return (*(Stage(level / max_steps, level) for level in levels), Stage(1.0, max_steps))


def stage_ends(stages: Sequence[Stage]) -> list[int]:
    """The step at which each stage ends (its last report)."""
    return list(itertools.accumulate(stage.steps for stage in stages))


def rung_steps(stages: Sequence[Stage]) -> list[int]:
    """The rungs: every stage's end but the last (a finished trial is not judged)."""
    return stage_ends(stages)[:-1]


def full_steps(stages: Sequence[Stage]) -> int:
    """The steps of a trial that no rung stops: every stage's cost."""
    return stage_ends(stages)[-1]
