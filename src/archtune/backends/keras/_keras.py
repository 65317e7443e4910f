"""Import Keras lazily, with a Keras backend that is installed.

Keras 3 reads its backend from ``KERAS_BACKEND`` (or ``~/.keras/keras.json``) and defaults to
TensorFlow, which archtune does not install. When ``KERAS_BACKEND`` is not set and the backend
of the config file (or TensorFlow) is not installed, :func:`import_keras` sets
``KERAS_BACKEND`` to ``torch`` (or ``jax``), whichever is installed, before Keras is first
imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from archtune._errors import MissingDependencyError
from archtune._imports import require

__all__ = ["import_keras"]

_FEATURE = "the Keras backend"


def _configured_backend() -> str | None:
    """The backend named by ``KERAS_BACKEND`` or Keras's config file, if any."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    try:
        config = json.loads((Path(home) / "keras.json").read_text())
    except (OSError, ValueError):
        return None
    backend = config.get("backend") if isinstance(config, dict) else None
    return backend if isinstance(backend, str) else None


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def import_keras() -> Any:
    """Import and return ``keras``, choosing an installed backend when none is configured.

    Raises:
        MissingDependencyError: Keras, or the framework of its backend, is not installed.
    """
    if "keras" in sys.modules:
        return sys.modules["keras"]
    if not _installed("keras"):
        require("keras", extra="keras", feature=_FEATURE)
    backend = _configured_backend()
    # Keras writes `"backend": "tensorflow"` to keras.json on its first import, so only the
    # environment variable is an explicit choice: a config-file backend that is not installed
    # gives way to one that is.
    explicit = bool(os.environ.get("KERAS_BACKEND"))
    if not explicit and not _installed(backend or "tensorflow"):
        backend = next((name for name in ("torch", "jax") if _installed(name)), None)
        if backend is not None:
            os.environ["KERAS_BACKEND"] = backend
    try:
        return importlib.import_module("keras")
    except ImportError as exc:
        raise MissingDependencyError(
            f"{_FEATURE} needs the framework of Keras's backend "
            f"{backend or 'tensorflow'!r}, which cannot be imported ({exc}). Set "
            "KERAS_BACKEND=torch and install torch (pip install torch==2.13.0), or install "
            "the framework: pip install tensorflow / pip install jax"
        ) from exc
