"""The Keras 3 backend: build, train, save and export ``keras.Model`` s.

Importing this package does not import Keras; the names below do, on first use, and raise
:class:`archtune.MissingDependencyError` with the install command when Keras is missing.

Keras 3 runs on PyTorch, TensorFlow or JAX and reads its backend from ``KERAS_BACKEND`` (or
``~/.keras/keras.json``). archtune is tested with ``KERAS_BACKEND=torch``; when no backend is
configured and TensorFlow is not installed, archtune sets ``KERAS_BACKEND=torch`` (or ``jax``)
before importing Keras. A TensorFlow user runs the same code on TensorFlow with::

    pip install tensorflow      # not in archtune's default install
    export KERAS_BACKEND=tensorflow

(and ``pip install jax`` with ``KERAS_BACKEND=jax`` for JAX). The backend must be chosen before
Keras is first imported in the process.

Example:
    >>> from archtune.arch import builtin_network
    >>> from archtune.backends.keras import KerasBackend
    >>> backend = KerasBackend()
    >>> model = backend.build(builtin_network("mlp-32-32"), seed=0)
    >>> backend.count_params(model)
    1738
"""

from __future__ import annotations

import importlib
from typing import Any

from archtune.backends.keras._keras import import_keras

__all__ = [
    "DistillationLoss",
    "KerasBackend",
    "ReporterCallback",
    "apply_initialisation",
    "build_model",
    "evaluate",
    "export_onnx",
    "fit",
    "get_state",
    "import_keras",
    "make_optimizer",
    "measure_latency",
    "predict",
    "set_state",
]

# Where each lazily imported name lives (importing any of them imports Keras).
_LAZY = {
    "DistillationLoss": "_distill",
    "KerasBackend": "_backend",
    "ReporterCallback": "_callback",
    "apply_initialisation": "_init",
    "build_model": "_build",
    "evaluate": "_evaluate",
    "predict": "_evaluate",
    "export_onnx": "_export",
    "measure_latency": "_latency",
    "fit": "_train",
    "make_optimizer": "_optim",
    "get_state": "_state",
    "set_state": "_state",
}


def __getattr__(name: str) -> Any:
    """Import the Keras backend (and Keras) only when one of its names is asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import_keras()
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
