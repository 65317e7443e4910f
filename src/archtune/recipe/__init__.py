"""Training recipes: initialisation, optimizer, learning rate and schedule, batch size.

This package imports no deep-learning framework. :func:`find_lr` (the LR range test) runs on
the PyTorch backend and imports it only when called.

Example:
    >>> from archtune.recipe import Recipe, default_recipe_space
    >>> Recipe.from_config({"optimizer": "nesterov", "lr": 0.05, "momentum": 0.9}).optimizer
    'nesterov'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archtune.recipe._errors import DivergedError, InvalidRecipeError
from archtune.recipe._recipe import (
    BIAS_INITS,
    OPTIMIZERS,
    PIECEWISE_VALUES,
    SCHEDULES,
    WEIGHT_INITS,
    Recipe,
    SchedulePoint,
)
from archtune.recipe._schedule import LRSchedule
from archtune.recipe._space import default_recipe_space

if TYPE_CHECKING:
    from archtune.backends.torch._lr_find import LRFinderResult

__all__ = [
    "BIAS_INITS",
    "OPTIMIZERS",
    "PIECEWISE_VALUES",
    "SCHEDULES",
    "WEIGHT_INITS",
    "DivergedError",
    "InvalidRecipeError",
    "LRSchedule",
    "Recipe",
    "SchedulePoint",
    "default_recipe_space",
    "find_lr",
]


def find_lr(module: Any, dataset: Any, recipe: Recipe, **kwargs: Any) -> LRFinderResult:
    """Run the LR range test on a PyTorch module (imports torch on first use).

    See :func:`archtune.backends.torch._lr_find.find_lr` for the arguments and the rule that
    picks the suggested rate.

    Raises:
        MissingDependencyError: PyTorch is not installed.
    """
    from archtune._imports import require

    require("torch", extra="torch", feature="the LR range test (find_lr)")
    from archtune.backends.torch._lr_find import find_lr as _find_lr

    return _find_lr(module, dataset, recipe, **kwargs)
