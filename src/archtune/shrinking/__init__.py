"""Shrink a trained network: search smaller structures (and recipes) that keep its accuracy.

:func:`shrink` trains (or takes) a baseline, derives a shrink space from its structure (width
multipliers, removable layers, kernel sizes, separable convolutions), searches it with MO-ASHA
for accuracy and cost, starting candidates from the baseline's pruned weights or from scratch,
retrains the Pareto candidates, and exports the cheapest one within ``max_drop``.

The package is callable: ``archtune.shrink(model, data, ...)`` is :func:`shrink` (the
submodule's name would otherwise hide a function of that name on ``archtune``).
"""

import sys
import types
from typing import Any

from archtune.shrink._objective import INIT_KEY, ShrinkObjective
from archtune.shrink._prune import keep_largest_l1, prune_state
from archtune.shrink._result import Candidate, ShrinkResult
from archtune.shrink._run import DEFAULT_RECIPE, shrink
from archtune.shrink._space import (
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


class _CallableModule(types.ModuleType):
    """``archtune.shrink(...)`` calls :func:`shrink`."""

    def __call__(self, *args: Any, **kwargs: Any) -> ShrinkResult:
        return shrink(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
