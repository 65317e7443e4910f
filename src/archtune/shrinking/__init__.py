"""Shrink a trained network: search smaller structures (and recipes) that keep its accuracy.

:func:`shrink` trains (or takes) a baseline, derives a shrink space from its structure (width
multipliers, removable layers, kernel sizes, separable convolutions), searches it with MO-ASHA
for accuracy and cost, starting candidates from the baseline's pruned weights or from scratch,
retrains the Pareto candidates, and exports the cheapest one within ``max_drop``.

``archtune.shrink(model, data, ...)`` is :func:`shrink`.
"""

from archtune.shrinking._objective import INIT_KEY, ShrinkObjective
from archtune.shrinking._prune import keep_largest_l1, prune_state
from archtune.shrinking._result import Candidate, ShrinkResult
from archtune.shrinking._run import DEFAULT_RECIPE, shrink
from archtune.shrinking._space import (
    WIDTH_MULTIPLIERS,
    ShrunkLayer,
    apply_shrink,
    describe_structure,
    shrink_plan,
    shrink_space,
)

__all__ = [
    "DEFAULT_RECIPE",
    "INIT_KEY",
    "WIDTH_MULTIPLIERS",
    "Candidate",
    "ShrinkObjective",
    "ShrinkResult",
    "ShrunkLayer",
    "apply_shrink",
    "describe_structure",
    "keep_largest_l1",
    "prune_state",
    "shrink",
    "shrink_plan",
    "shrink_space",
]
