"""The backend interface: one small class per framework, one conformance suite for all."""

from __future__ import annotations

import abc
import os
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from archtune._errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

    from archtune._reporter import Reporter
    from archtune.arch import Network
    from archtune.backends._distill import Distillation
    from archtune.backends._result import FitResult
    from archtune.data import Dataset, SplitName
    from archtune.recipe import Recipe

__all__ = ["BACKENDS", "BACKEND_NAMES", "BackendName", "BaseBackend", "get_backend"]


class BaseBackend(abc.ABC):
    """Builds, trains, measures and exports models of one framework.

    Models are the framework's own objects (``torch.nn.Module``, ``keras.Model``). Inputs and
    outputs at this interface are channels-last NumPy arrays; a classifier's outputs are logits
    (the head's activation is not applied). Every backend passes
    :mod:`archtune.testing` 's backend conformance suite: the same network has the analytic
    parameter count, the right output shape, trains with a :class:`~archtune.recipe.Recipe`,
    reports every epoch, honours STOP, and exports to ONNX with the same outputs.

    A model's state (:meth:`get_state`, :meth:`set_state`) is framework-neutral: NumPy arrays
    named and shaped as :func:`archtune.backends.torch.build_module` names and shapes the
    same network's parameters and buffers (its ``state_dict()``), so one backend's weights,
    or weights pruned from a baseline, initialise another's model.
    """

    name: str
    native_suffix: str
    """The suffix of :meth:`save` files, e.g. ``".pt"`` or ``".keras"``."""

    @abc.abstractmethod
    def build(self, network: Network, *, seed: int = 0) -> Any:
        """The framework's model of ``network``, initialised from ``seed``."""

    @abc.abstractmethod
    def count_params(self, model: Any) -> int:
        """The model's trainable parameters, as the framework counts them."""

    @abc.abstractmethod
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
        """Train ``model`` in place; report each epoch (1-based) and stop when told.

        Args:
            model: The model to train.
            dataset: The data.
            recipe: Initialisation, optimizer, schedule, batch size, epochs.
            reporter: Receives each epoch's metrics.
            seed: The seed of everything random in training.
            keep_weights: Train the model's current weights as they are (e.g. loaded with
                :meth:`set_state`): the recipe's initialisation is not applied.
            distill: Also fit a teacher's soft targets (classification only).
            resumable: Checkpoint after each epoch through ``reporter`` when it keeps
                checkpoints (:class:`~archtune.CheckpointReporter`), and continue from the
                checkpoint ``reporter.restore()`` returns. A backend that cannot resume
                exactly ignores it (the Keras backend does).

        Raises:
            ConfigError: A bad :class:`~archtune.backends.Distillation` (logits not of shape
                ``(n_train, n_classes)``, or a regression dataset).
        """

    @abc.abstractmethod
    def evaluate(
        self, model: Any, dataset: Dataset, *, split: SplitName = "test"
    ) -> dict[str, float]:
        """Metrics on a split: ``{split}_loss`` and ``{split}_accuracy`` (classification) or
        ``{split}_loss``, ``{split}_mse`` and ``{split}_mae`` (regression, in the target's
        units); empty for an empty split."""

    @abc.abstractmethod
    def get_state(self, model: Any) -> dict[str, np.ndarray]:
        """The model's weights and buffers (batch-norm statistics) as NumPy copies, named
        and shaped as ``build_module(network).state_dict()`` names and shapes them."""

    @abc.abstractmethod
    def set_state(
        self, model: Any, state: Mapping[str, np.ndarray], *, strict: bool = False
    ) -> None:
        """Load entries of :meth:`get_state`'s form into ``model`` in place.

        With ``strict=False`` a part of the entries may be given: only those change.

        Raises:
            ConfigError: An unknown name, a shape that differs from the model's (the message
                names the entry and both shapes), or (``strict=True``) a missing entry.
        """

    @abc.abstractmethod
    def predict(self, model: Any, x: np.ndarray) -> np.ndarray:
        """The model's outputs (logits for a classifier) on ``x``."""

    @abc.abstractmethod
    def measure_latency(
        self, model: Any, input_shape: Sequence[int], *, batch_sizes: Sequence[int] = (1, 64)
    ) -> dict[int, float]:
        """Milliseconds per sample of inference at each batch size."""

    @abc.abstractmethod
    def save(self, model: Any, path: str | os.PathLike[str]) -> None:
        """Save in the framework's own format (weights and structure)."""

    @abc.abstractmethod
    def load(self, path: str | os.PathLike[str]) -> Any:
        """Load what :meth:`save` wrote."""

    @abc.abstractmethod
    def export_onnx(
        self, model: Any, path: str | os.PathLike[str], *, input_shape: Sequence[int]
    ) -> None:
        """Write an ONNX model whose input is a channels-last batch and output the logits."""


def _torch() -> BaseBackend:
    from archtune.backends.torch._backend import TorchBackend

    return TorchBackend()


def _keras() -> BaseBackend:
    from archtune.backends.keras._backend import KerasBackend

    return KerasBackend()


#: Every backend by name: the one table from which :data:`BACKEND_NAMES`, the config's check
#: and the docs' list derive. A backend's module imports its framework only when it is built.
BACKENDS: Mapping[str, Callable[[], BaseBackend]] = MappingProxyType(
    {"torch": _torch, "keras": _keras}
)
BACKEND_NAMES: tuple[str, ...] = tuple(BACKENDS)
if TYPE_CHECKING:
    BackendName = str
else:
    BackendName = Literal[BACKEND_NAMES]  # for pydantic: "must be one of 'torch' or 'keras'"


def get_backend(name: str) -> BaseBackend:
    """The backend called ``name`` (one of :data:`BACKEND_NAMES`).

    Raises:
        ConfigError: an unknown name.
        MissingDependencyError: its framework is not installed (the message says how).
    """
    factory = BACKENDS.get(name)
    if factory is None:
        raise ConfigError(f"backend must be one of {', '.join(BACKEND_NAMES)}, got {name!r}")
    return factory()
