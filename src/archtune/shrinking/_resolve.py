"""What ``MODEL`` names: a network description and, when it comes with them, trained weights."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from archtune._errors import ConfigError
from archtune.arch import Head, Network

__all__ = ["Baseline", "resolve_baseline"]

Weights = Mapping[str, npt.NDArray[np.generic]]
Baseline = tuple[Network, Weights | None]


def resolve_baseline(
    model: str | Network | Any, *, input_shape: tuple[int, ...], n_outputs: int, head: str
) -> Baseline:
    """The baseline network for data of ``input_shape`` with ``n_outputs`` outputs.

    ``model`` is a built-in network (``cnn-32-64-64``), a family (its default configuration),
    a ``.keras`` file, ``module:function`` returning a Keras model or a PyTorch module, a
    :class:`~archtune.arch.Network`, or an :class:`~archtune.interop.ImportedModel`. Weights
    come with ``.keras`` files, functions and imported models.

    Raises:
        ConfigError: an unknown name, a model that cannot be imported, or one whose input or
            outputs do not fit the data.
    """
    from archtune.interop import ImportedModel

    weights: Weights | None = None
    if isinstance(model, ImportedModel):
        network, weights = model.network, model.weights
    elif isinstance(model, Network):
        network = model
    elif isinstance(model, str) and model.endswith(".keras"):
        network, weights = _keras_file(model)
    elif isinstance(model, str) and ":" in model:
        network, weights = _function(model, input_shape, head)
    elif isinstance(model, str):
        from archtune.cli._model_cmds import resolve_network

        shape = ",".join(map(str, input_shape))
        network = resolve_network(model, input_shape=shape, n_outputs=n_outputs)
    else:
        raise ConfigError(
            f"shrink: model must be a name, a .keras file, module:function, a Network or an "
            f"ImportedModel, got {type(model).__name__}"
        )
    if tuple(network.input_shape) != tuple(input_shape):
        raise ConfigError(
            f"shrink: model {network.name or str(model)!r} takes inputs of shape "
            f"{tuple(network.input_shape)}, but the data's are {tuple(input_shape)}"
        )
    if network.head.units != n_outputs or network.head.activation != head:
        if weights is not None:
            raise ConfigError(
                f"shrink: model {network.name or str(model)!r} has {network.head.units} outputs "
                f"({network.head.activation}), but the data need {n_outputs} ({head})"
            )
        fitted = Head(n_outputs, activation=head)  # type: ignore[arg-type]
        network = Network(
            network.input_shape, layers=network.layers, head=fitted, name=network.name
        )
    return network, weights


def _keras_file(path: str) -> Baseline:
    from archtune.backends.keras import import_keras
    from archtune.interop import from_keras

    if not Path(path).is_file():
        raise ConfigError(f"shrink: model {path!r}: no such file")
    keras = import_keras()
    try:
        loaded = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # a corrupt or foreign file: one line
        raise ConfigError(f"shrink: model {path!r} cannot be loaded by Keras: {exc}") from None
    imported = from_keras(loaded, name=Path(path).stem)
    return imported.network, imported.weights


def _function(spec: str, input_shape: tuple[int, ...], head: str) -> Baseline:
    import importlib.util

    from archtune.execution import ObjectiveRef
    from archtune.interop import from_keras, from_torch

    if importlib.util.find_spec("keras") is not None:
        from archtune.backends.keras import import_keras

        import_keras()  # choose a Keras backend before the user's code imports keras
    try:
        built = ObjectiveRef(spec, search_path=(os.getcwd(),)).load()()
    except ConfigError as exc:
        raise ConfigError(f"shrink: model {spec!r}: {exc}") from None
    name = spec.rpartition(":")[2]
    if type(built).__module__.startswith("keras"):
        imported = from_keras(built, name=name)
        return imported.network, imported.weights
    import torch

    if not isinstance(built, torch.nn.Module):
        raise ConfigError(
            f"shrink: model {spec!r} must return a Keras model or a PyTorch module, got "
            f"{type(built).__name__}"
        )
    activation: Any = head
    first = (input_shape[-1], *input_shape[:-1])  # PyTorch's channels-first layout
    try:
        imported = from_torch(built, torch.zeros(1, *first), name=name, head_activation=activation)
    except ConfigError:
        imported = from_torch(
            built, torch.zeros(1, *input_shape), name=name, head_activation=activation
        )
    return imported.network, imported.weights
