"""Expected hypervolume gain of a candidate whose cost is known and whose score is not.

With ``objectives: {val_accuracy: max, params: min}`` the second objective is known before
training: a candidate's parameter count (or FLOPs) is computed exactly from its configuration,
and only the trained score is uncertain. The expected gain in the front's dominated area (two
objectives, both minimised, the score modelled as a normal) then has a closed form: the area a
point at cost ``c`` with score ``f`` adds is the integral over costs ``c' >= c`` of how far
``f`` lies below the front's staircase ``F(c')`` (the best score at cost at most ``c'``), so its
expectation is a sum over the staircase's steps of the step's width times the expected
improvement below the step's score. This is expected hypervolume improvement (EHVI) with one
dimension exact, which needs no Monte Carlo and no second model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from archtune.search._gp import expected_improvement

__all__ = ["KnownCost", "expected_front_gain", "front_indices"]


@dataclass(frozen=True)
class KnownCost:
    """An objective known before training, such as a network's parameter count.

    Attributes:
        objective: Its index among the study's objectives (minimised).
        of: Its value for a configuration; ``None`` where the configuration cannot be built.
        smaller: Configurations cheaper than a given one along its family's shrink ladder
            (``None``: no family), moved to from the front's members.
    """

    objective: int
    of: Callable[[Mapping[str, Any]], float | None]
    smaller: Callable[[Mapping[str, Any]], list[dict[str, Any]]] | None = None


def front_indices(cost: np.ndarray, score: np.ndarray) -> np.ndarray:
    """The indices of the non-dominated points of (``cost``, ``score``), both minimised, by
    rising cost (and so by falling score)."""
    order = np.lexsort((score, cost))
    best = np.minimum.accumulate(score[order])
    first = np.concatenate([[True], best[1:] < best[:-1]])
    return np.asarray(order[first])


def expected_front_gain(
    mean: np.ndarray,
    std: np.ndarray,
    cost: np.ndarray,
    front_cost: np.ndarray,
    front_score: np.ndarray,
    *,
    ref_cost: float,
    ref_score: float,
) -> np.ndarray:
    """Each candidate's expected gain in the area dominated by the front, below the reference.

    Args:
        mean: The candidates' predicted scores (minimised).
        std: Their predictive standard deviations (positive).
        cost: Their exact costs (minimised; a log scale where sizes span decades).
        front_cost: The front's costs, rising (:func:`front_indices`), each below ``ref_cost``.
        front_score: The front's scores, falling.
        ref_cost: The reference cost: nothing at or beyond it adds area.
        ref_score: The reference score: the staircase's value where no front point is cheaper.
    """
    edges = np.concatenate([front_cost, [ref_cost]])  # where each step of the staircase ends
    levels = np.concatenate([[ref_score], np.minimum(front_score, ref_score)])
    gain = np.zeros(len(mean))
    # Step k spans [edges[k-1], edges[k]) at level levels[k] (k = 0: from -inf to the first).
    for k in range(len(edges)):
        start = -np.inf if k == 0 else edges[k - 1]
        width = np.clip(edges[k] - np.maximum(cost, start), 0.0, None)
        if not width.any():
            continue
        gain += width * expected_improvement(mean, std, float(levels[k]))
    return gain
