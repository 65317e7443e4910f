"""Training recipes: initialisation, optimizer, learning rate and schedule, batch size.

This package imports no deep-learning framework. The LR range test is
:func:`archtune.backends.torch.find_lr`; ``archtune.recipe.find_lr`` is a deprecated alias.

Example:
    >>> from archtune.recipe import Recipe, default_recipe_space
    >>> Recipe.from_config({"optimizer": "nesterov", "lr": 0.05, "momentum": 0.9}).optimizer
    'nesterov'
"""

from __future__ import annotations

from typing import Any

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


def find_lr(module: Any, dataset: Any, recipe: Recipe, **kwargs: Any) -> Any:
    """Deprecated alias of :func:`archtune.backends.torch.find_lr` (the LR range test).

    Raises:
        MissingDependencyError: PyTorch is not installed.
    """
    import warnings

    from archtune._imports import require

    warnings.warn(
        "archtune.recipe.find_lr is deprecated; use archtune.backends.torch.find_lr",
        DeprecationWarning,
        stacklevel=2,
    )

    require("torch", extra="torch", feature="the LR range test (find_lr)")
    from archtune.backends.torch._lr_find import find_lr as _find_lr

    return _find_lr(module, dataset, recipe, **kwargs)
