"""Framework backends: build, train and export models from an :mod:`archtune.arch` description.

Each backend lives in its own subpackage (``archtune.backends.torch``,
``archtune.backends.keras``), implements :class:`BaseBackend`, and imports its framework only
when used, so ``import archtune.backends`` works with no framework installed.
"""

from __future__ import annotations

from archtune.backends._base import BACKEND_NAMES, BACKENDS, BackendName, BaseBackend, get_backend
from archtune.backends._distill import Distillation
from archtune.backends._result import FitResult

__all__ = [
    "BACKENDS",
    "BACKEND_NAMES",
    "BackendName",
    "BaseBackend",
    "Distillation",
    "FitResult",
    "get_backend",
]
