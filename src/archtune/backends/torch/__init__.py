"""The PyTorch backend.

Importing this package does not import torch: :func:`build_module` does, and raises
:class:`archtune._errors.MissingDependencyError` with the install command when torch is missing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from archtune._imports import require

if TYPE_CHECKING:
    from archtune.arch import Network
    from archtune.backends.torch._build import NetworkModule

__all__ = [
    "FitResult",
    "InitSummary",
    "LRFinderResult",
    "NetworkModule",
    "StepLRScheduler",
    "TorchBackend",
    "apply_initialisation",
    "build_module",
    "evaluate",
    "find_lr",
    "fit",
    "load_checkpoint",
    "make_lr_scheduler",
    "make_optimizer",
    "measure_latency",
    "predict",
    "read_state_dict",
    "resolve_device",
    "save_checkpoint",
    "suggest_lr",
]

# Where each lazily imported name lives (importing any of them imports torch).
_LAZY = {
    "NetworkModule": "_build",
    "FitResult": "_train",
    "fit": "_train",
    "InitSummary": "_init",
    "apply_initialisation": "_init",
    "make_optimizer": "_optim",
    "StepLRScheduler": "_lr_schedule",
    "make_lr_scheduler": "_lr_schedule",
    "predict": "_evaluate",
    "evaluate": "_evaluate",
    "save_checkpoint": "_checkpoint",
    "load_checkpoint": "_checkpoint",
    "read_state_dict": "_checkpoint",
    "LRFinderResult": "_lr_find",
    "find_lr": "_lr_find",
    "suggest_lr": "_lr_find",
    "measure_latency": "_latency",
    "resolve_device": "_device",
    "TorchBackend": "_backend",
}


def _load_build() -> Any:
    require("torch", extra="torch", feature="the PyTorch backend")
    from archtune.backends.torch import _build

    return _build


def build_module(network: Network) -> NetworkModule:
    """Build ``network`` as a ``torch.nn.Module`` with PyTorch's default initialisation.

    The module's ``forward`` takes a channels-last batch, ``(N, *network.input_shape)`` (int64
    token ids when ``network.takes_token_ids``), and returns the head's logits: the head's
    activation (``module.head_activation``) is not applied. ``module.layers[i]`` is the
    description's ``layers[i]``; the module's parameter count is
    :func:`archtune.arch.count_params` exactly. The module is on the CPU; move it with
    ``module.to(device)``.

    Example:
        >>> import torch
        >>> from archtune.arch import builtin_network
        >>> module = build_module(builtin_network("cnn-32-64-64"))
        >>> module(torch.zeros(2, 28, 28, 1)).shape
        torch.Size([2, 10])

    Raises:
        InfeasibleNetworkError: The layers do not fit together.
        MissingDependencyError: torch is not installed.
    """
    module: NetworkModule = _load_build().build_module(network)
    return module


# Old names, kept working with a DeprecationWarning ("scheduler" alone means early stopping).
_RENAMED = {"make_scheduler": "make_lr_scheduler", "StepScheduler": "StepLRScheduler"}


def __getattr__(name: str) -> Any:
    """Import the training API (and torch) only when it is asked for."""
    if name in _RENAMED:
        import warnings

        new = _RENAMED[name]
        warnings.warn(
            f"{__name__}.{name} is deprecated; use {__name__}.{new}",
            DeprecationWarning,
            stacklevel=2,
        )
        name = new
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    require("torch", extra="torch", feature="the PyTorch backend")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
