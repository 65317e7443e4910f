"""What a model spec names: a network description and, when it comes with them, its weights.

The one resolver below ``archtune model``, ``archtune lr-find``, :func:`archtune.shrink` and
the built-in trial's ``model: {network: ...}`` block.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from archtune._errors import ConfigError
from archtune.arch import Head, HeadActivation, Network

if TYPE_CHECKING:
    from archtune.interop import ImportedModel

__all__ = ["ResolvedModel", "resolve_model"]

Weights = Mapping[str, npt.NDArray[np.generic]]


@dataclass(frozen=True)
class ResolvedModel:
    """A resolved model spec.

    Attributes:
        network: The description (channels-last input).
        weights: Its trained state, named as :func:`archtune.backends.torch.build_module`
            names the parameters (as :func:`~archtune.interop.from_keras` and
            :func:`~archtune.interop.from_torch` give it), or ``None`` for a description.
        source: ``"builtin"``, ``"family"``, ``"keras-file"``, ``"function"``, ``"network"``
            or ``"imported"``.
    """

    network: Network
    weights: Weights | None
    source: str


def resolve_model(
    model: str | Network | ImportedModel | Mapping[str, Any],
    *,
    input_shape: tuple[int, ...] | None,
    n_outputs: int | None,
    head: str | None,
    what: str = "model",
    check_shape: bool = True,
) -> ResolvedModel:
    """The network (and weights) ``model`` names, fitted to the data.

    ``model`` is one of:

    * a built-in network (``cnn-32-64-64``);
    * a family (``cnn2d``): its default configuration on ``input_shape`` with ``n_outputs``;
    * a ``.keras`` file (with its weights);
    * ``module:function`` returning a Keras model or a PyTorch module (with its weights; a
      PyTorch module is traced on a batch of ``input_shape``, channels-first first);
    * a :class:`~archtune.arch.Network` or an :class:`~archtune.interop.ImportedModel`;
    * a config's ``{network: name}`` block (a built-in network only; errors name
      ``<what>.network``).

    Args:
        model: The spec.
        input_shape: The data's input shape, channels-last; ``None`` when unknown (families
            and PyTorch modules then cannot be resolved).
        n_outputs: The data's outputs (classes or targets), or ``None``.
        head: The data's head activation (``softmax``, ``sigmoid``, ``none``), or ``None`` to
            keep the network's own head. With ``head`` and ``n_outputs``, a description's head
            is refitted to them, and a model with weights whose head differs is an error.
        what: How errors name the model (``"model"``, ``"shrink: model"``).
        check_shape: ``False``: ``input_shape`` only builds families and traces PyTorch modules
            (in the module's own layout first, as ``archtune model --input-shape`` takes it),
            and a network whose input differs is kept as it is.

    Raises:
        ConfigError: in one line: an unknown name, a file or function that cannot be loaded
            or imported, a network whose input shape differs from ``input_shape``, or a model
            with weights whose head does not give ``n_outputs`` with ``head``.
    """
    from archtune.interop import ImportedModel

    hint = ""
    label = str(model)
    if isinstance(model, ImportedModel):
        resolved = ResolvedModel(model.network, model.weights, "imported")
    elif isinstance(model, Network):
        resolved = ResolvedModel(model, None, "network")
    elif isinstance(model, str):
        resolved = _from_name(model, input_shape, n_outputs, head, what, check_shape)
        if resolved.source == "builtin":
            hint = "; a family builds its network for the data (e.g. 'mlp', 'cnn2d')"
    elif isinstance(model, Mapping):
        what = f"{what}.network"
        resolved = ResolvedModel(_from_block(model, what), None, "builtin")
        label = str(model.get("network"))
        hint = "; choose a network for this data or a family (`model: {family: auto}`)"
    else:
        raise ConfigError(
            f"{what} must be a name, a .keras file, module:function, a Network or an "
            f"ImportedModel, got {type(model).__name__}"
        )
    network = resolved.network
    name = network.name or label
    shape = tuple(network.input_shape)
    if check_shape and input_shape is not None and shape != tuple(input_shape):
        raise ConfigError(
            f"{what} {name!r} takes inputs of shape {shape}, but the data's are "
            f"{tuple(input_shape)}{hint}"
        )
    if head is None or n_outputs is None:
        return resolved
    if network.head.units == n_outputs and network.head.activation == head:
        return resolved
    if resolved.weights is not None:
        raise ConfigError(
            f"{what} {name!r} has {network.head.units} outputs ({network.head.activation}), "
            f"but the data need {n_outputs} ({head})"
        )
    fitted = Head(n_outputs, activation=cast(HeadActivation, head))
    network = Network(network.input_shape, layers=network.layers, head=fitted, name=network.name)
    return ResolvedModel(network, None, resolved.source)


def _from_name(
    model: str,
    input_shape: tuple[int, ...] | None,
    n_outputs: int | None,
    head: str | None,
    what: str,
    check_shape: bool,
) -> ResolvedModel:
    from archtune.arch import builtin_network, list_builtin_networks
    from archtune.arch.families import FAMILIES, get_family

    if model.endswith(".keras"):
        return _keras_file(model, what)
    if ":" in model:
        return _function(model, input_shape, head, what, check_shape)
    if model in list_builtin_networks():
        return ResolvedModel(builtin_network(model), None, "builtin")
    if model in FAMILIES:
        if input_shape is None:
            raise ConfigError(
                f"{what} {model!r} is a family: pass --input-shape, e.g. --input-shape 28,28,1"
            )
        if n_outputs is None:
            raise ConfigError(f"{what} {model!r} is a family: it needs the number of outputs")
        family = get_family(model)
        network = family.build(
            family.default_config(),
            input_shape=tuple(input_shape),
            n_outputs=n_outputs,
            head_activation=head or "softmax",
        )
        return ResolvedModel(network, None, "family")
    names = ", ".join([*list_builtin_networks(), *FAMILIES])
    raise ConfigError(
        f"{what} must be a built-in network or a family ({names}), a .keras file or "
        f"module:function, got {model!r}"
    )


def _from_block(block: Mapping[str, Any], what: str) -> Network:
    """A config's ``{network: name}``: a built-in network."""
    from archtune.arch import builtin_network

    if block.get("network") is None:
        raise ConfigError(f"{what}: give a built-in network's name, got {dict(block)!r}")
    try:
        return builtin_network(str(block["network"]))
    except ConfigError as exc:
        raise ConfigError(f"{what}: {exc}{_family_hint(str(block['network']))}") from None


def _family_hint(name: str) -> str:
    """For a name given where a family may have been meant: the families, and the closest."""
    import difflib

    from archtune.arch._builtin import _BUILTINS
    from archtune.arch.families import FAMILIES

    close = difflib.get_close_matches(name, [*FAMILIES, *_BUILTINS], n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"; or a family: {', '.join(FAMILIES)}{hint}"


def _keras_file(path: str, what: str) -> ResolvedModel:
    from archtune.backends.keras import import_keras
    from archtune.interop import from_keras

    if not Path(path).is_file():
        raise ConfigError(f"{what} {path!r}: no such file")
    keras = import_keras()
    try:
        loaded = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # a corrupt or foreign file: one line
        from archtune.backends.keras._unreadable import describe_unreadable

        raise ConfigError(f"{what} {path!r} {describe_unreadable(path, exc)}") from None
    imported = from_keras(loaded, name=Path(path).stem)
    return ResolvedModel(imported.network, imported.weights, "keras-file")


def _function(
    spec: str,
    input_shape: tuple[int, ...] | None,
    head: str | None,
    what: str,
    check_shape: bool,
) -> ResolvedModel:
    import importlib.util

    from archtune.execution import ObjectiveRef
    from archtune.interop import from_keras, from_torch

    if importlib.util.find_spec("keras") is not None:
        from archtune.backends.keras import import_keras

        import_keras()  # choose a Keras backend before the user's code imports keras
    try:
        built = ObjectiveRef(spec, search_path=(os.getcwd(),)).load()()
    except ConfigError as exc:
        raise ConfigError(f"{what} {spec!r}: {exc}") from None
    name = spec.rpartition(":")[2]
    if type(built).__module__.startswith("keras"):
        imported = from_keras(built, name=name)
        return ResolvedModel(imported.network, imported.weights, "function")
    import torch

    if not isinstance(built, torch.nn.Module):
        raise ConfigError(
            f"{what} {spec!r} must return a Keras model or a PyTorch module, got "
            f"{type(built).__name__}"
        )
    if input_shape is None:
        raise ConfigError(
            f"{what} {spec!r} returned a PyTorch module: pass --input-shape in its own layout, "
            "e.g. --input-shape 1,28,28"
        )
    activation = cast("HeadActivation | None", head)
    given = tuple(input_shape)
    first = (given[-1], *given[:-1])  # PyTorch's channels-first layout of channels-last data
    shapes = [first, given] if check_shape else [given, first]
    errors: dict[tuple[int, ...], ConfigError] = {}
    for shape in dict.fromkeys(shapes):  # one try when both layouts are the same
        try:
            imported = from_torch(
                built, torch.zeros(1, *shape), name=name, head_activation=activation
            )
        except ConfigError as exc:
            errors[shape] = exc
            continue
        return ResolvedModel(imported.network, imported.weights, "function")
    raise errors[given]  # no layout fits: the error for the shape as given
