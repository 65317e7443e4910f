"""Framework backends: build, train and export models from an :mod:`archtune.arch` description.

Each backend lives in its own subpackage (``archtune.backends.torch``) and imports its framework
only when used, so ``import archtune.backends`` works with no framework installed.
"""

from __future__ import annotations

__all__: list[str] = []
