"""Shape inference: what each layer outputs, or why it cannot take its input.

Shapes are channels-last tuples without the batch axis. Windows (convolutions, pooling) follow
Keras: with ``"valid"`` padding the output length is ``(length - kernel) // stride + 1``; with
``"same"`` it is ``ceil(length / stride)`` and the input is padded by
``max((out - 1) * stride + kernel - length, 0)``, half before, the odd one after.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from archtune.arch._errors import InfeasibleNetworkError
from archtune.arch._layers import (
    Activation,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    Layer,
    LayerNorm,
    Pool,
    PositionEmbedding,
    Recurrent,
    Residual,
    TransformerBlock,
)
from archtune.arch._network import Head, Network

__all__ = [
    "Shape",
    "Window",
    "axes",
    "head_output_shape",
    "infer_output_shape",
    "infer_shapes",
    "layer_output_shape",
    "residual_projection",
    "window",
]

Shape = tuple[int, ...]

_RANK_NAMES = {1: "(features,)", 2: "(length, channels)", 3: "(height, width, channels)"}


class Window(NamedTuple):
    """A window's effect on one axis: the output length and the padding on each side."""

    size: int
    pad_before: int
    pad_after: int


class _Infeasible(Exception):
    """Raised by the rules below; turned into :class:`InfeasibleNetworkError` with a path."""


def window(length: int, *, kernel: int, stride: int, padding: str) -> Window:
    """Return the output length and padding of a window sliding over one axis.

    The output length is below 1 when the kernel does not fit (``"valid"`` padding).

    Example:
        >>> window(7, kernel=3, stride=2, padding="same")
        Window(size=4, pad_before=1, pad_after=1)
    """
    if padding == "valid":
        return Window((length - kernel) // stride + 1, 0, 0)
    size = -(-length // stride)
    total = max((size - 1) * stride + kernel - length, 0)
    return Window(size, total // 2, total - total // 2)


def axes(value: int | tuple[int, int], rank: int) -> tuple[int, ...]:
    """Return a window's size or stride as one int per spatial axis (``rank`` of them)."""
    if isinstance(value, int):
        return (value,) * rank
    return tuple(value)


def _need_rank(layer: Layer, shape: Shape, rank: int) -> None:
    if len(shape) != rank:
        raise _Infeasible(
            f"{layer.kind} needs an input of rank {rank} {_RANK_NAMES[rank]}, got rank "
            f"{len(shape)}"
        )


def _windows(
    layer: Layer,
    shape: Shape,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: str,
    name: str,
) -> tuple[int, ...]:
    spatial = shape[:-1]
    sizes = tuple(
        window(n, kernel=k, stride=s, padding=padding).size
        for n, k, s in zip(spatial, kernel, stride, strict=True)
    )
    if min(sizes) < 1:
        shown = getattr(layer, name)
        size = spatial[0] if len(spatial) == 1 else spatial
        raise _Infeasible(
            f"{name} {shown} is larger than the input {size} with padding 'valid', which "
            f"would leave an axis below 1; use padding='same' or a smaller {name}"
        )
    return sizes


def residual_projection(
    input_shape: Shape, output_shape: Shape, *, path: str = "residual"
) -> tuple[int, ...] | None:
    """Return the shortcut of a residual block, or ``None`` when it is the identity.

    The shortcut is a linear map of the channels (a 1x1 convolution) applied at a stride on each
    spatial axis; the strides returned are the ones that make the shapes match (``()`` for flat
    inputs).

    Raises:
        InfeasibleNetworkError: No such projection maps ``input_shape`` to ``output_shape``.
    """
    if input_shape == output_shape:
        return None

    def fail(reason: str) -> InfeasibleNetworkError:
        return InfeasibleNetworkError(path, "residual", input_shape, reason)

    if len(input_shape) != len(output_shape):
        raise fail(
            f"the body's output {output_shape} has another rank than its input, so no "
            "projection can add them; keep Flatten and global pooling out of the block"
        )
    strides = []
    for axis, (n_in, n_out) in enumerate(zip(input_shape[:-1], output_shape[:-1], strict=True)):
        stride = -(-n_in // n_out)
        if -(-n_in // stride) != n_out:
            raise fail(
                f"no stride maps axis {axis} of length {n_in} to the body's {n_out} "
                f"(body output {output_shape}); a 1x1 projection cannot match them"
            )
        strides.append(stride)
    return tuple(strides)


def _rule(layer: Layer, shape: Shape, *, path: str, first: bool) -> Shape:
    """Return the output shape of ``layer``; raise ``_Infeasible`` with the reason."""
    if isinstance(layer, Dense):
        return (*shape[:-1], layer.units)
    if isinstance(layer, (Conv1D, Conv2D)):
        rank = 1 if isinstance(layer, Conv1D) else 2
        _need_rank(layer, shape, rank + 1)
        kernel, stride = axes(layer.kernel_size, rank), axes(layer.stride, rank)
        sizes = _windows(layer, shape, kernel, stride, layer.padding, "kernel_size")
        return (*sizes, layer.filters)
    if isinstance(layer, Pool):
        _need_rank(layer, shape, layer.rank + 1)
        kernel, stride = axes(layer.pool_size, layer.rank), axes(layer.strides, layer.rank)
        sizes = _windows(layer, shape, kernel, stride, layer.padding, "pool_size")
        return (*sizes, shape[-1])
    if isinstance(layer, (GlobalAvgPool, GlobalMaxPool)):
        if len(shape) < 2:
            raise _Infeasible(
                f"{layer.kind} needs spatial axes before the channels, got rank {len(shape)}"
            )
        return (shape[-1],)
    if isinstance(layer, Flatten):
        return (math.prod(shape),)
    if isinstance(layer, (Dropout, BatchNorm, LayerNorm, Activation)):
        return shape
    if isinstance(layer, Residual):
        out = _walk(layer.layers, shape, prefix=f"{path}.layers", first=False)[-1]
        residual_projection(shape, out, path=path)
        return out
    if isinstance(layer, Recurrent):
        _need_rank(layer, shape, 2)
        width = layer.units * (2 if layer.bidirectional else 1)
        return (shape[0], width) if layer.return_sequences else (width,)
    if isinstance(layer, TransformerBlock):
        _need_rank(layer, shape, 2)
        if shape[-1] != layer.d_model:
            raise _Infeasible(
                f"the input width {shape[-1]} is not d_model={layer.d_model}; put a Dense("
                f"{layer.d_model}) stem or an Embedding with dim={layer.d_model} before it"
            )
        if layer.d_model % layer.n_heads:
            raise _Infeasible(f"n_heads={layer.n_heads} does not divide d_model={layer.d_model}")
        return shape
    if isinstance(layer, Embedding):
        if not first:
            raise _Infeasible(
                "an Embedding reads token ids, so it must be the network's first layer"
            )
        if len(shape) != 1:
            raise _Infeasible(f"an Embedding needs token ids of shape (length,), got {shape}")
        return (shape[0], layer.dim)
    if isinstance(layer, PositionEmbedding):
        _need_rank(layer, shape, 2)
        return shape
    raise TypeError(f"no shape rule for layer kind {layer.kind!r}")


def _walk(layers: tuple[Layer, ...], shape: Shape, *, prefix: str, first: bool) -> list[Shape]:
    shapes = []
    for index, layer in enumerate(layers):
        path = f"{prefix}[{index}]"
        try:
            shape = _rule(layer, shape, path=path, first=first and index == 0)
        except _Infeasible as err:
            raise InfeasibleNetworkError(path, layer.kind, shape, str(err)) from None
        shapes.append(shape)
    return shapes


def layer_output_shape(
    layer: Layer, input_shape: Shape, *, path: str = "layer", first: bool = False
) -> Shape:
    """Return the output shape of one layer.

    Args:
        layer: The layer.
        input_shape: What it receives, channels-last, without the batch axis.
        path: Its place, for messages.
        first: Whether it is the network's first layer (only there may an Embedding be).

    Raises:
        InfeasibleNetworkError: The layer cannot take ``input_shape``.
    """
    try:
        return _rule(layer, tuple(input_shape), path=path, first=first)
    except _Infeasible as err:
        raise InfeasibleNetworkError(path, layer.kind, tuple(input_shape), str(err)) from None


def head_output_shape(head: Head, input_shape: Shape) -> Shape:
    """Return the head's output shape: the last axis becomes ``units``."""
    return (*input_shape[:-1], head.units)


def infer_shapes(network: Network) -> tuple[Shape, ...]:
    """Return the output shape of each layer of ``network``, then of its head.

    Example:
        >>> from archtune.arch import builtin_network
        >>> infer_shapes(builtin_network("mlp-32-32"))
        ((32,), (32,), (10,))

    Raises:
        InfeasibleNetworkError: A layer cannot take what it receives; the message names the
            layer's path (``layers[4]``), kind, input shape and the reason.
    """
    shapes = _walk(network.layers, network.input_shape, prefix="layers", first=True)
    last = shapes[-1] if shapes else network.input_shape
    return (*shapes, head_output_shape(network.head, last))


def infer_output_shape(network: Network) -> Shape:
    """Return the shape of the network's output (its head's), without the batch axis."""
    return infer_shapes(network)[-1]
