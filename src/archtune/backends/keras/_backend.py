"""The Keras 3 backend as a :class:`~archtune.backends.BaseBackend`: :class:`KerasBackend`."""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from archtune._errors import ConfigError
from archtune._reporter import Reporter
from archtune.arch import Network
from archtune.backends._base import BaseBackend
from archtune.backends._distill import Distillation
from archtune.backends._result import FitResult
from archtune.backends.keras import (  # noqa: F401 - registers custom objects
    _distill,
    _layers,
    _optim,
)
from archtune.backends.keras._build import NETWORK_ATTRIBUTE, build_model
from archtune.backends.keras._evaluate import evaluate, predict
from archtune.backends.keras._export import export_onnx
from archtune.backends.keras._keras import import_keras
from archtune.backends.keras._latency import measure_latency
from archtune.backends.keras._state import get_state, model_network, set_state
from archtune.backends.keras._train import fit
from archtune.data import Dataset, SplitName
from archtune.recipe import Recipe

keras = import_keras()

__all__ = ["NETWORK_ENTRY", "KerasBackend"]

#: The member of a :meth:`KerasBackend.save` file that holds the network description (Keras
#: reads only its own members and ignores it).
NETWORK_ENTRY = "archtune_network.json"


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
        keep_weights: bool = False,
        distill: Distillation | None = None,
        resumable: bool = False,
    ) -> FitResult:
        """Train with :func:`archtune.backends.keras.fit`.

        ``keep_weights=True`` trains the current weights (no initialisation from the recipe);
        ``distill`` adds a teacher's soft targets (see :class:`~archtune.backends.Distillation`).
        ``resumable`` is ignored: Keras training keeps no checkpoints (``model.fit`` shuffles
        and steps its optimizer with state that cannot be restored exactly mid-run), so a rerun
        of a Keras trial trains from the start.
        """
        return fit(
            model,
            dataset,
            recipe,
            reporter=reporter,
            seed=seed,
            keep_weights=keep_weights,
            distill=distill,
        )

    def evaluate(
        self, model: Any, dataset: Dataset, *, split: SplitName = "test"
    ) -> dict[str, float]:
        """The PyTorch backend's metrics on a split (see
        :func:`archtune.backends.keras.evaluate`)."""
        return evaluate(model, dataset, split=split)

    def get_state(self, model: Any) -> dict[str, np.ndarray]:
        """The weights and batch-norm statistics under the PyTorch builder's names and in its
        layouts (see :func:`archtune.backends.keras.get_state`); ``num_batches_tracked``,
        which Keras does not count, is 0.

        Raises:
            ConfigError: A model not built by :meth:`build` that ``from_keras`` cannot read.
        """
        return get_state(model)

    def set_state(
        self, model: Any, state: Mapping[str, np.ndarray], *, strict: bool = False
    ) -> None:
        """Write PyTorch-named entries into the model's variables (see
        :func:`archtune.backends.keras.set_state`); ``num_batches_tracked`` is ignored.

        Raises:
            ConfigError: An unknown name, a shape mismatch, a missing entry when ``strict``,
                or a model not built by :meth:`build` (nor loaded from its file).
        """
        set_state(model, state, strict=strict)

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

        The network description of a model :meth:`build` built goes in the file too (the
        ``archtune_network.json`` member), so that :meth:`load` gives a model whose
        :meth:`get_state` and :meth:`set_state` work.

        Raises:
            ConfigError: ``path`` does not end in ``.keras``.
        """
        target = Path(path)
        if target.suffix != self.native_suffix:
            raise ConfigError(f"KerasBackend.save: path must end in '.keras', got {str(target)!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        model.save(target)
        network = model_network(model)
        if network is not None:
            with zipfile.ZipFile(target, "a") as archive:
                archive.writestr(NETWORK_ENTRY, json.dumps(network.to_dict()))

    def load(self, path: str | os.PathLike[str]) -> Any:
        """Load a ``.keras`` file written by :meth:`save` (archtune's custom layers included).

        Raises:
            ConfigError: The file is missing or is not a Keras model.
        """
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"model file {str(p)!r} does not exist (or is not a file)")
        try:
            model = keras.saving.load_model(p)
        except Exception as exc:
            from archtune.backends.keras._unreadable import describe_unreadable

            raise ConfigError(f"model file {str(p)!r} {describe_unreadable(p, exc)}") from exc
        network = _saved_network(p)
        if network is not None:
            setattr(model, NETWORK_ATTRIBUTE, network)
        return model

    def export_onnx(
        self, model: Any, path: str | os.PathLike[str], *, input_shape: Sequence[int]
    ) -> None:
        """Export to ONNX (see :func:`archtune.backends.keras.export_onnx`)."""
        export_onnx(model, path, input_shape=input_shape)


def _saved_network(path: Path) -> Network | None:
    """The network description :meth:`KerasBackend.save` put in the file, if any."""
    try:
        with zipfile.ZipFile(path) as archive:
            if NETWORK_ENTRY not in archive.namelist():
                return None
            data = json.loads(archive.read(NETWORK_ENTRY))
    except (OSError, ValueError, zipfile.BadZipFile):
        return None
    try:
        return Network.from_dict(data)
    except Exception as exc:
        raise ConfigError(
            f"model file {str(path)!r} holds a network description that cannot be read ({exc})"
        ) from exc
