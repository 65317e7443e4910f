"""Imported weights, per layer, and their names in the PyTorch builder's state dict.

Importers collect each layer's arrays in PyTorch's layout under a *role* (``weight``, ``bias``,
``depthwise``, ``running_var``, ...). :func:`state_dict` places them under the names that
:func:`archtune.backends.torch.build_module` gives the same network's parameters and buffers,
so ``build_module(network).load_state_dict(...)`` takes them; this module needs no torch.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from archtune.arch import (
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Embedding,
    Layer,
    LayerNorm,
    Network,
    PositionEmbedding,
    Recurrent,
    Residual,
    Shape,
    axes,
    layer_output_shape,
    residual_projection,
    window,
)

__all__ = ["Array", "LayerWeights", "parameter_slots", "state_dict"]

Array = npt.NDArray[Any]


@dataclass
class LayerWeights:
    """One layer's arrays by role, in PyTorch's layout; ``body`` for a residual's layers."""

    arrays: dict[str, Array] = field(default_factory=dict)
    body: list[LayerWeights] = field(default_factory=list)


_RECURRENT_ROLES = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _conv_slots(layer: Conv1D | Conv2D, shape: Shape, prefix: str) -> Iterator[tuple[str, str]]:
    rank = 1 if isinstance(layer, Conv1D) else 2
    kernel, stride = axes(layer.kernel_size, rank), axes(layer.stride, rank)
    even = True
    for length, k, s in zip(shape[:-1], kernel, stride, strict=True):
        geometry = window(length, kernel=k, stride=s, padding=layer.padding)
        even = even and geometry.pad_before == geometry.pad_after
    base = f"{prefix}{'.0' if layer.activation != 'none' else ''}.inner"
    offset = 0 if even else 1
    if layer.separable:
        yield f"{base}.{offset}.weight", "depthwise"
        yield f"{base}.{offset + 1}.weight", "pointwise"
        if layer.use_bias:
            yield f"{base}.{offset + 1}.bias", "bias"
        return
    conv = base if even else f"{base}.{offset}"
    yield f"{conv}.weight", "weight"
    if layer.use_bias:
        yield f"{conv}.bias", "bias"


def _layer_slots(
    layer: Layer, shape: Shape, prefix: str, path: tuple[int, ...]
) -> Iterator[tuple[str, tuple[int, ...], str]]:
    if isinstance(layer, Dense):
        base = f"{prefix}{'.0' if layer.activation != 'none' else ''}"
        yield f"{base}.weight", path, "weight"
        if layer.use_bias:
            yield f"{base}.bias", path, "bias"
    elif isinstance(layer, (Conv1D, Conv2D)):
        for name, role in _conv_slots(layer, shape, prefix):
            yield name, path, role
    elif isinstance(layer, BatchNorm):
        for role in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            yield f"{prefix}.norm.{role}", path, role
    elif isinstance(layer, (LayerNorm, Embedding)):
        yield f"{prefix}.weight", path, "weight"
        if isinstance(layer, LayerNorm):
            yield f"{prefix}.bias", path, "bias"
    elif isinstance(layer, Recurrent):
        for suffix in ("", "_reverse") if layer.bidirectional else ("",):
            for role in _RECURRENT_ROLES:
                yield f"{prefix}.rnn.{role}{suffix}", path, role + suffix
    elif isinstance(layer, PositionEmbedding):
        yield f"{prefix}.table.weight", path, "weight"
    elif isinstance(layer, Residual):
        current = shape
        for index, child in enumerate(layer.layers):
            yield from _layer_slots(child, current, f"{prefix}.body.{index}", (*path, index))
            current = layer_output_shape(child, current)
        if residual_projection(shape, current) is not None:
            yield f"{prefix}.projection.weight", path, "projection_weight"
            yield f"{prefix}.projection.bias", path, "projection_bias"
    elif layer.kind == "transformer_block":
        raise TypeError("importing a TransformerBlock's weights is not supported")


def parameter_slots(network: Network) -> list[tuple[str, tuple[int, ...], str]]:
    """Every state-dict entry of the built network: ``(name, layer path, role)``.

    The layer path is the layer's index, then its index inside a residual block; the head's
    path is ``()``.
    """
    slots: list[tuple[str, tuple[int, ...], str]] = []
    current = network.input_shape
    for index, layer in enumerate(network.layers):
        slots += _layer_slots(layer, current, f"layers.{index}", (index,))
        current = layer_output_shape(layer, current, first=index == 0)
    slots += [("head.weight", (), "weight"), ("head.bias", (), "bias")]
    return slots


def state_dict(
    network: Network, layers: Sequence[LayerWeights], head: LayerWeights
) -> dict[str, Array]:
    """Place the layers' arrays under the PyTorch builder's names.

    Raises:
        KeyError: A role the network needs is missing (an importer's bug).
    """
    out: dict[str, Array] = {}
    for name, path, role in parameter_slots(network):
        if not path:
            weights = head
        else:
            weights = layers[path[0]]
            for index in path[1:]:
                weights = weights.body[index]
        if role == "num_batches_tracked" and role not in weights.arrays:
            out[name] = np.array(0, dtype=np.int64)
            continue
        out[name] = weights.arrays[role]
    return out
