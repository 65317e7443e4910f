"""The shrink space of a baseline network, and the network a point of it describes.

Parameters are named after the baseline's layer index ``i`` (``layers[i]``):

- ``shrink.w{i}``: a width multiplier of a dense layer's units or a convolution's filters; for
  a residual block, of its output (the last dense layer or convolution of its body; the
  shortcut follows, becoming a projection where the block's input and output widths differ);
- ``shrink.w{i}.{k}``: a width multiplier of the ``k``-th dense layer or convolution inside
  the residual block ``i`` (all but the last, whose width is the block's output);
- ``shrink.keep{i}``: whether a dense layer, a convolution or a residual block stays (only
  where removing it alone still fits the shapes); its norm, activation and dropout layers go
  with it;
- ``shrink.kernel{i}``: a convolution's kernel size (the baseline's or 2 smaller);
- ``shrink.separable{i}``: a depthwise-separable instead of a standard convolution (not for a
  1-channel input, as in the ``cnn2d`` family).

Missing keys keep the baseline's value, so ``apply_shrink(net, {}) == net`` (but the name).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archtune._errors import ConfigError
from archtune.arch import (
    Activation,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    InfeasibleNetworkError,
    Layer,
    LayerNorm,
    Network,
    Residual,
    infer_shapes,
)

__all__ = [
    "WIDTH_MULTIPLIERS",
    "ShrunkLayer",
    "apply_shrink",
    "describe_structure",
    "removable",
    "residual_weighted",
    "shrink_plan",
    "shrink_space",
    "width_keys",
]

WIDTH_MULTIPLIERS: tuple[float, ...] = (0.125, 0.25, 0.5, 0.75, 1.0)
"""The width multipliers searched per layer."""

_COMPANIONS = (BatchNorm, LayerNorm, Activation, Dropout)


@dataclass(frozen=True)
class ShrunkLayer:
    """One layer of a shrunk network and where it comes from.

    Attributes:
        source: The index of the baseline layer it comes from.
        layer: The layer itself.
        reshaped: Its kernel size or kind of convolution differs from the baseline's, so its
            weights cannot come from the baseline.
    """

    source: int
    layer: Layer
    reshaped: bool = False


def _groups(network: Network) -> dict[int, tuple[int, ...]]:
    """Each removable candidate's index -> the indices removed with it."""
    groups: dict[int, tuple[int, ...]] = {}
    layers = network.layers
    for i, layer in enumerate(layers):
        if isinstance(layer, Dense | Conv1D | Conv2D | Residual):
            end = i + 1
            while end < len(layers) and isinstance(layers[end], _COMPANIONS):
                end += 1
            groups[i] = tuple(range(i, end))
    return groups


def _kernel(layer: Conv1D | Conv2D) -> int | None:
    """The square kernel's size, or ``None`` for a non-square one (not searched)."""
    size = layer.kernel_size
    if isinstance(size, int):
        return size
    return size[0] if size[0] == size[1] else None


def _kernel_options(layer: Conv1D | Conv2D) -> list[int]:
    size = _kernel(layer)
    if size is None or size <= 1:
        return []
    return [max(1, size - 2), size]


def shrink_space(
    network: Network, *, multipliers: Sequence[float] = WIDTH_MULTIPLIERS
) -> dict[str, dict[str, Any]]:
    """The shrink space of ``network`` in archtune's plain-dict space format.

    Raises:
        InfeasibleNetworkError: ``network`` itself does not fit its input.
        ConfigError: it has nothing to shrink (no dense layer, convolution or residual block).
    """
    shapes = infer_shapes(network)
    inputs = (network.input_shape, *shapes[:-1])
    space: dict[str, dict[str, Any]] = {}
    for i, layer in enumerate(network.layers):
        if not isinstance(layer, Dense | Conv1D | Conv2D | Residual):
            continue
        if removable(network, i):
            space[f"shrink.keep{i}"] = {"type": "choice", "options": [True, False]}
        when = {f"shrink.keep{i}": True} if f"shrink.keep{i}" in space else None
        extra: dict[str, Any] = {"when": when} if when else {}
        options = sorted({float(m) for m in multipliers})
        if isinstance(layer, Residual):
            weighted = residual_weighted(layer)
            if weighted:
                space[f"shrink.w{i}"] = {"type": "choice", "options": options, **extra}
            for k in range(len(weighted) - 1):
                space[f"shrink.w{i}.{k}"] = {"type": "choice", "options": options, **extra}
            continue
        space[f"shrink.w{i}"] = {"type": "choice", "options": options, **extra}
        if isinstance(layer, Conv1D | Conv2D):
            kernels = _kernel_options(layer)
            if len(kernels) > 1:
                space[f"shrink.kernel{i}"] = {"type": "choice", "options": kernels, **extra}
            if not layer.separable and inputs[i][-1] > 1:
                space[f"shrink.separable{i}"] = {
                    "type": "choice",
                    "options": [False, True],
                    **extra,
                }
    if not space:
        raise ConfigError(
            f"shrink: network {network.name or 'network'!r} has no dense layer, convolution or "
            "residual block to shrink"
        )
    return space


def removable(network: Network, index: int) -> bool:
    try:
        apply_shrink(network, {f"shrink.keep{index}": False})
    except InfeasibleNetworkError:
        return False
    return True


def _number(config: Mapping[str, Any], key: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise ConfigError(f"shrink: {key} must be a number in (0, 1], got {value!r}")
    return float(value)


def _flag(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"shrink: {key} must be true or false, got {value!r}")
    return value


def scaled(units: int, multiplier: float) -> int:
    """``units * multiplier`` rounded half up, at least 1."""
    return max(1, math.floor(units * multiplier + 0.5))


def _width_of(layer: Layer) -> int:
    if isinstance(layer, Dense):
        return int(layer.units)
    if isinstance(layer, Conv1D | Conv2D):
        return int(layer.filters)
    return 0


def width_keys(network: Network) -> list[tuple[str, int]]:
    """Every width a shrink configuration can set: ``(key, the width now)``, in layer order."""
    keys: list[tuple[str, int]] = []
    for i, layer in enumerate(network.layers):
        if isinstance(layer, Dense | Conv1D | Conv2D):
            keys.append((f"shrink.w{i}", _width_of(layer)))
        elif isinstance(layer, Residual):
            weighted = residual_weighted(layer)
            for k, position in enumerate(weighted):
                key = f"shrink.w{i}" if k == len(weighted) - 1 else f"shrink.w{i}.{k}"
                keys.append((key, _width_of(layer.layers[position])))
    return keys


def residual_weighted(block: Residual) -> list[int]:
    """The positions of the dense layers and convolutions in a residual block's body."""
    return [k for k, sub in enumerate(block.layers) if isinstance(sub, Dense | Conv1D | Conv2D)]


def _scaled_layer(layer: Layer, multiplier: float) -> Layer:
    if isinstance(layer, Dense):
        return dataclasses.replace(layer, units=scaled(layer.units, multiplier))
    if isinstance(layer, Conv1D | Conv2D):
        return dataclasses.replace(layer, filters=scaled(layer.filters, multiplier))
    return layer


def _shrink_residual(block: Residual, i: int, config: Mapping[str, Any]) -> ShrunkLayer:
    weighted = residual_weighted(block)
    body = list(block.layers)
    for k, position in enumerate(weighted):
        key = f"shrink.w{i}" if k == len(weighted) - 1 else f"shrink.w{i}.{k}"
        if key in config:
            body[position] = _scaled_layer(body[position], _number(config, key, 1.0))
    return ShrunkLayer(i, dataclasses.replace(block, layers=tuple(body)))


def _shrink_layer(layer: Layer, i: int, config: Mapping[str, Any]) -> ShrunkLayer:
    if isinstance(layer, Residual):
        return _shrink_residual(layer, i, config)
    if isinstance(layer, Dense):
        units = scaled(layer.units, _number(config, f"shrink.w{i}", 1.0))
        return ShrunkLayer(i, dataclasses.replace(layer, units=units))
    if isinstance(layer, Conv1D | Conv2D):
        filters = scaled(layer.filters, _number(config, f"shrink.w{i}", 1.0))
        separable = _flag(config, f"shrink.separable{i}", layer.separable)
        kernel: Any = layer.kernel_size
        chosen = config.get(f"shrink.kernel{i}")
        if chosen is not None:
            if isinstance(chosen, bool) or not isinstance(chosen, int) or chosen < 1:
                raise ConfigError(
                    f"shrink: shrink.kernel{i} must be an integer >= 1, got {chosen!r}"
                )
            kernel = chosen if isinstance(layer, Conv1D) else (chosen, chosen)
            kernel = layer.kernel_size if _kernel(layer) == chosen else kernel
        reshaped = separable != layer.separable or kernel != layer.kernel_size
        new = dataclasses.replace(layer, filters=filters, separable=separable, kernel_size=kernel)
        return ShrunkLayer(i, new, reshaped)
    return ShrunkLayer(i, layer)


def shrink_plan(network: Network, config: Mapping[str, Any]) -> tuple[ShrunkLayer, ...]:
    """The shrunk network's layers, each with the baseline layer it comes from.

    Raises:
        ConfigError: a ``shrink.*`` value of the wrong type.
    """
    removed: set[int] = set()
    for i, members in _groups(network).items():
        if not _flag(config, f"shrink.keep{i}", True):
            removed.update(members)
    return tuple(
        _shrink_layer(layer, i, config)
        for i, layer in enumerate(network.layers)
        if i not in removed
    )


def apply_shrink(network: Network, config: Mapping[str, Any]) -> Network:
    """The network that the shrink configuration ``config`` makes of ``network``.

    A pure function: ``shrink.*`` keys set widths, removals, kernels and separable
    convolutions (missing keys keep the baseline's); other keys are ignored.

    Raises:
        InfeasibleNetworkError: the shrunk layers do not fit together.
        ConfigError: a ``shrink.*`` value of the wrong type.
    """
    layers = tuple(entry.layer for entry in shrink_plan(network, config))
    name = f"{network.name}-shrunk" if network.name else "shrunk"
    shrunk = Network(network.input_shape, layers=layers, head=network.head, name=name)
    infer_shapes(shrunk)
    return shrunk


def describe_structure(network: Network) -> str:
    """A one-line structure, e.g. ``conv 16k3 > pool > conv 32k3 sep > flatten > dense 32``."""
    parts: list[str] = []
    for layer in network.layers:
        if isinstance(layer, Conv1D | Conv2D):
            size = _kernel(layer)
            text = f"conv {layer.filters}k{size if size is not None else layer.kernel_size}"
            parts.append(text + (" sep" if layer.separable else ""))
        elif isinstance(layer, Dense):
            parts.append(f"dense {layer.units}")
        elif isinstance(layer, _COMPANIONS):
            continue
        elif isinstance(layer, Residual):
            widths = [_width_of(layer.layers[k]) for k in residual_weighted(layer)]
            parts.append("res " + "-".join(map(str, widths)))
        else:
            parts.append(layer.kind.replace("max_pool", "pool").replace("avg_pool", "avgpool"))
    return " > ".join([*parts, f"head {network.head.units}"])
