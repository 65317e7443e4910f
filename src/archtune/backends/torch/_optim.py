"""The PyTorch optimizer of a :class:`Recipe`."""

from __future__ import annotations

from typing import Any

import torch

from archtune.recipe import Recipe

__all__ = ["make_optimizer"]


def make_optimizer(module: torch.nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """Create the recipe's optimizer over ``module``'s trainable parameters.

    ``gd``, ``sgd``, ``momentum`` and ``nesterov`` are :class:`torch.optim.SGD` (``gd`` and
    ``sgd`` without momentum unless ``recipe.momentum`` says otherwise, ``momentum`` and
    ``nesterov`` with 0.9 by default); ``adam``, ``adamw`` and ``rmsprop`` are their torch
    classes (RMSprop's ``alpha`` is ``recipe.rho``). Weight decay applies to parameters with
    two or more dimensions only: biases and normalisation parameters are not decayed. They
    are two parameter groups whenever the recipe decays at all (``weight_decay``, or a
    ``piecewise`` point's), so that a per-epoch weight decay reaches the weights only.

    The batch size of ``gd`` (the whole training split) is the trainer's business.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the module has no trainable parameters")
    groups: list[dict[str, Any]]
    decays = [recipe.weight_decay] + [p.weight_decay or 0.0 for p in recipe.piecewise or ()]
    if max(decays) > 0:
        groups = [
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": recipe.weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
        groups = [g for g in groups if g["params"]]
    else:
        groups = [{"params": params}]
    name = recipe.optimizer
    lr = recipe.lr
    wd = recipe.weight_decay
    momentum = recipe.effective_momentum
    if name in ("gd", "sgd", "momentum", "nesterov"):
        return torch.optim.SGD(
            groups, lr=lr, momentum=momentum, nesterov=name == "nesterov", weight_decay=wd
        )
    if name == "adam":
        return torch.optim.Adam(
            groups, lr=lr, betas=(recipe.beta1, recipe.beta2), eps=recipe.eps, weight_decay=wd
        )
    if name == "adamw":
        return torch.optim.AdamW(
            groups, lr=lr, betas=(recipe.beta1, recipe.beta2), eps=recipe.eps, weight_decay=wd
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(
            groups, lr=lr, alpha=recipe.rho, eps=recipe.eps, weight_decay=wd, momentum=momentum
        )
    raise ValueError(f"unknown optimizer {name!r}")  # pragma: no cover - Recipe validates
