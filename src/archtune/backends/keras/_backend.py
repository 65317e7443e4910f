"""The Keras 3 backend as a :class:`~archtune.backends.BaseBackend`: :class:`KerasBackend`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from archtune._errors import ConfigError
from archtune._reporter import Reporter
from archtune.arch import Network
from archtune.backends._base import BaseBackend
from archtune.backends._result import FitResult
from archtune.backends.keras import _layers, _optim  # noqa: F401 - registers custom objects
from archtune.backends.keras._build import build_model
from archtune.backends.keras._evaluate import predict
from archtune.backends.keras._export import export_onnx
from archtune.backends.keras._keras import import_keras
from archtune.backends.keras._latency import measure_latency
from archtune.backends.keras._train import fit
from archtune.data import Dataset
from archtune.recipe import Recipe

keras = import_keras()

__all__ = ["KerasBackend"]


class KerasBackend(BaseBackend):
    """Keras 3 models (``keras.Model``) built from a network description.

    Models are functional ``keras.Model`` s with PyTorch's parameter counts (see
    ``docs/backends.md``), trained by :func:`archtune.backends.keras.fit` (``model.fit`` with
    a :class:`~archtune.backends.keras.ReporterCallback`), saved as ``.keras`` files and
    exported to ONNX. Runs on any Keras backend; tested with ``KERAS_BACKEND=torch``.
    """

    name = "keras"
    native_suffix = ".keras"

    def build(self, network: Network, *, seed: int = 0) -> Any:
        """Build ``network`` as a functional ``keras.Model`` (see :func:`build_model`)."""
        return build_model(network, seed=seed)

    def count_params(self, model: Any) -> int:
        """The elements of the model's trainable variables (batch-norm statistics excluded)."""
        return sum(int(np.prod(v.shape)) for v in model.trainable_variables)

    def fit(
        self,
        model: Any,
        dataset: Dataset,
        recipe: Recipe,
        *,
        reporter: Reporter | None = None,
        seed: int = 0,
    ) -> FitResult:
        """Train with :func:`archtune.backends.keras.fit`."""
        return fit(model, dataset, recipe, reporter=reporter, seed=seed)

    def predict(self, model: Any, x: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """The model's outputs on ``x`` (see :func:`archtune.backends.keras.predict`)."""
        return predict(model, x)

    def measure_latency(
        self, model: Any, input_shape: Sequence[int], *, batch_sizes: Sequence[int] = (1, 64)
    ) -> dict[int, float]:
        """Milliseconds per sample of ``model.predict_on_batch`` at each batch size."""
        return measure_latency(model, input_shape, batch_sizes=batch_sizes)

    def save(self, model: Any, path: str | os.PathLike[str]) -> None:
        """Save as a ``.keras`` file (structure, weights, and the optimizer when compiled).

        Raises:
            ConfigError: ``path`` does not end in ``.keras``.
        """
        target = Path(path)
        if target.suffix != self.native_suffix:
            raise ConfigError(f"KerasBackend.save: path must end in '.keras', got {str(target)!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        model.save(target)

    def load(self, path: str | os.PathLike[str]) -> Any:
        """Load a ``.keras`` file written by :meth:`save` (archtune's custom layers included).

        Raises:
            ConfigError: The file is missing or is not a Keras model.
        """
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"model file {str(p)!r} does not exist (or is not a file)")
        try:
            return keras.saving.load_model(p)
        except Exception as exc:
            raise ConfigError(f"model file {str(p)!r} cannot be loaded by Keras ({exc})") from exc

    def export_onnx(
        self, model: Any, path: str | os.PathLike[str], *, input_shape: Sequence[int]
    ) -> None:
        """Export to ONNX (see :func:`archtune.backends.keras.export_onnx`)."""
        export_onnx(model, path, input_shape=input_shape)
