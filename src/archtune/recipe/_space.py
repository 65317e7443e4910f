"""The default search space of training recipes, as plain data in archtune's space format."""

from __future__ import annotations

from typing import Any

__all__ = ["default_recipe_space"]

_WARMUP_SCHEDULES = ["constant", "step", "exponential", "cosine", "plateau"]


def _int(low: int, high: int, **extra: Any) -> dict[str, Any]:
    if low == high:
        return {"type": "fixed", "value": low, **extra}
    return {"type": "int", "low": low, "high": high, **extra}


def default_recipe_space(
    *, task: str = "classification", epochs: int = 20
) -> dict[str, dict[str, Any]]:
    """Return the default recipe search space (a fresh dict on each call).

    The parameter names are :class:`~archtune.recipe.Recipe` fields, so a sampled flat
    configuration becomes a recipe with :meth:`Recipe.from_config`. Entries use archtune's
    space format: ``{"type": "int" | "float", "low", "high", "log", "step"}``,
    ``{"type": "choice", "options"}``, ``{"type": "fixed", "value"}``, each optionally with
    ``"when": {param: value or [values]}`` (sampled only when the condition holds).

    Full-batch ``gd`` and ``constant``/``pretrained`` initialisers are left out: ``gd`` takes
    one step per epoch, too few in a short trial; constant weights do not break symmetry;
    ``pretrained`` needs a baseline (add it when there is one).

    Args:
        task: ``"classification"`` adds ``label_smoothing``; ``"regression"`` does not.
        epochs: The (fixed) training length; it bounds ``step_size`` and ``warmup_epochs``.

    Example:
        >>> space = default_recipe_space()
        >>> space["lr"]
        {'type': 'float', 'low': 0.0001, 'high': 0.1, 'log': True}
    """
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    space: dict[str, dict[str, Any]] = {
        "weight_init": {
            "type": "choice",
            "options": [
                "default",
                "glorot_uniform",
                "glorot_normal",
                "he_uniform",
                "he_normal",
                "lecun_normal",
                "orthogonal",
            ],
        },
        "bias_init": {"type": "choice", "options": ["default", "zeros", "mean"]},
        "optimizer": {
            "type": "choice",
            "options": ["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"],
        },
        "lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
        "momentum": {
            "type": "float",
            "low": 0.5,
            "high": 0.99,
            "when": {"optimizer": ["momentum", "nesterov"]},
        },
        "weight_decay": {
            "type": "float",
            "low": 1e-5,
            "high": 1e-1,
            "log": True,
            "when": {"optimizer": "adamw"},
        },
        "batch_size": {"type": "choice", "options": [16, 32, 64, 128, 256]},
        "schedule": {
            "type": "choice",
            "options": ["constant", "step", "exponential", "cosine", "one_cycle", "plateau"],
        },
        "step_size": _int(1, max(1, epochs // 2), when={"schedule": "step"}),
        "step_gamma": {"type": "float", "low": 0.1, "high": 0.9, "when": {"schedule": "step"}},
        "exp_gamma": {
            "type": "float",
            "low": 0.8,
            "high": 0.99,
            "when": {"schedule": "exponential"},
        },
        "pct_start": {
            "type": "float",
            "low": 0.1,
            "high": 0.5,
            "when": {"schedule": "one_cycle"},
        },
        "plateau_factor": {
            "type": "float",
            "low": 0.1,
            "high": 0.7,
            "when": {"schedule": "plateau"},
        },
        "plateau_patience": _int(1, 3, when={"schedule": "plateau"}),
        "epochs": {"type": "fixed", "value": epochs},
    }
    max_warmup = min(3, epochs // 5)
    if max_warmup >= 1:
        space["warmup_epochs"] = _int(0, max_warmup, when={"schedule": _WARMUP_SCHEDULES})
    if task == "classification":
        space["label_smoothing"] = {"type": "float", "low": 0.0, "high": 0.2}
    return space
