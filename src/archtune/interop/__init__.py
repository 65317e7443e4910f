"""Bring users' models and KerasTuner code to archtune.

* :func:`from_keras` and :func:`from_torch` turn a trained Keras or PyTorch model into a
  network description and its weights (:class:`ImportedModel`), the baseline of a search and
  the source of ``weight_init: pretrained``.
* :mod:`archtune.interop.kerastuner` runs KerasTuner-style ``build(hp)`` functions under
  archtune.
* :mod:`archtune.interop.hyperopt` converts Hyperopt spaces and runs ``fmin`` on archtune's
  engine; :mod:`archtune.interop.raytune` converts Ray Tune spaces and runs function
  trainables without a Ray cluster. Both warn with :class:`ConversionWarning` where a
  distribution has no exact counterpart.

Importing this package imports neither Keras, PyTorch, Hyperopt nor Ray; the functions import
what they need.

Example:
    >>> from archtune.interop import from_keras              # doctest: +SKIP
    >>> imported = from_keras(model)                         # doctest: +SKIP
    >>> module = imported.build_torch()                      # doctest: +SKIP
"""

from __future__ import annotations

from archtune.interop._errors import ConversionWarning, UnsupportedLayerError
from archtune.interop._imported import ImportedModel
from archtune.interop._keras_import import SUPPORTED_KERAS_LAYERS, from_keras
from archtune.interop._torch_import import SUPPORTED_TORCH_LAYERS, from_torch

__all__ = [
    "SUPPORTED_KERAS_LAYERS",
    "SUPPORTED_TORCH_LAYERS",
    "ConversionWarning",
    "ImportedModel",
    "UnsupportedLayerError",
    "from_keras",
    "from_torch",
]
