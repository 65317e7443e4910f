"""Lazy imports of optional dependencies with an install hint."""

from __future__ import annotations

import importlib
from types import ModuleType

from archtune._errors import MissingDependencyError

__all__ = ["require"]


def require(module: str, *, extra: str, feature: str) -> ModuleType:
    """Import an optional module or raise :class:`MissingDependencyError` naming the fix.

    Args:
        module: The module to import, e.g. ``"torch"``.
        extra: The archtune extra that installs it, e.g. ``"torch"``.
        feature: What needs it, for the message, e.g. ``"the PyTorch backend"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{feature} needs {module!r}, which is not installed. "
            f'Install it with: pip install "archtune[{extra}]"'
        ) from exc
