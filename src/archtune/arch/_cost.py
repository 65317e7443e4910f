"""The analytic cost model: parameters, FLOPs and activation memory, per layer and in total.

Conventions (``docs/network-description.md`` has the table):

* **Parameters** are the trainable parameters, exactly PyTorch's ``sum(p.numel())`` of the
  built module. Batch-norm running statistics are buffers, not parameters (Keras's
  ``count_params`` adds them: 2 per channel). Recurrent layers count PyTorch's two bias vectors
  per gate (a Keras LSTM has one).
* **FLOPs** are for one example's forward pass at inference and count a multiply-accumulate as
  2 FLOPs: dense and convolution layers, projections, recurrent gate matrices and attention
  products are ``2 * MACs``; biases are not counted. Elementwise work that the description
  names counts 1 FLOP per element: an activation function (``"none"`` is free), a residual or
  position-embedding addition, each element read by a pooling window (global pooling: the
  input's size). Normalisation counts 2 per element (scale and shift; the statistics are not
  counted). Inside a recurrent or Transformer layer only the matrix products count. Dropout,
  Flatten, an Embedding lookup and the head's activation (backends return logits) are free.
* **Activation memory** counts the elements of each layer's output (one tensor per layer, what
  a backward pass keeps); a residual block adds its body's tensors, its projection's output and
  its sum. Bytes are at float32 (4 bytes per element).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from archtune.arch._layers import (
    GRU,
    LSTM,
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
    Residual,
    TransformerBlock,
)
from archtune.arch._network import Network
from archtune.arch._shapes import (
    Shape,
    axes,
    head_output_shape,
    infer_shapes,
    layer_output_shape,
    residual_projection,
)

__all__ = ["BYTES_PER_ELEMENT", "LayerCost", "NetworkCost", "count_params", "estimate_cost"]

#: Activation memory is reported at float32.
BYTES_PER_ELEMENT = 4


@dataclass(frozen=True)
class LayerCost:
    """The cost of one layer (or the head) for one example.

    Attributes:
        path: The layer's place: ``(3,)`` is ``layers[3]``, ``(3, 1)`` the second layer inside
            the residual block ``layers[3]``; the head is ``(len(layers),)``.
        kind: The layer's kind (``"head"`` for the head).
        input_shape: What the layer receives.
        output_shape: What it returns.
        params: Trainable parameters (a block's include its body's).
        flops: Forward FLOPs (a block's include its body's).
        activation_elements: Elements of the tensors the layer writes.
        children: The cost of each layer of a residual block's body; empty otherwise.
    """

    path: tuple[int, ...]
    kind: str
    input_shape: Shape
    output_shape: Shape
    params: int
    flops: int
    activation_elements: int
    children: tuple[LayerCost, ...] = ()

    @property
    def activation_bytes(self) -> int:
        """Activation memory in bytes at float32."""
        return self.activation_elements * BYTES_PER_ELEMENT


@dataclass(frozen=True)
class NetworkCost:
    """The cost of a network: one :class:`LayerCost` per top-level layer, then the head's."""

    layers: tuple[LayerCost, ...]

    @property
    def params(self) -> int:
        """Total trainable parameters."""
        return sum(layer.params for layer in self.layers)

    @property
    def flops(self) -> int:
        """Total forward FLOPs for one example."""
        return sum(layer.flops for layer in self.layers)

    @property
    def activation_elements(self) -> int:
        """Total elements of the activations of one example's forward pass."""
        return sum(layer.activation_elements for layer in self.layers)

    @property
    def activation_bytes(self) -> int:
        """Total activation memory in bytes at float32, for one example."""
        return self.activation_elements * BYTES_PER_ELEMENT


def _activation_flops(activation: str, shape: Shape) -> int:
    return 0 if activation == "none" else math.prod(shape)


def _dense(n_in: int, units: int, *, bias: bool, positions: int) -> tuple[int, int]:
    return n_in * units + (units if bias else 0), 2 * n_in * units * positions


def _conv(layer: Conv1D | Conv2D, shape: Shape, out: Shape) -> tuple[int, int]:
    rank = len(shape) - 1
    window = math.prod(axes(layer.kernel_size, rank))
    c_in, c_out, positions = shape[-1], layer.filters, math.prod(out[:-1])
    bias = c_out if layer.use_bias else 0
    if layer.separable:
        params = window * c_in + c_in * c_out + bias
        macs = (window * c_in + c_in * c_out) * positions
    else:
        params = window * c_in * c_out + bias
        macs = window * c_in * c_out * positions
    return params, 2 * macs + _activation_flops(layer.activation, out)


def _leaf(layer: Layer, shape: Shape, out: Shape) -> tuple[int, int]:
    """Return ``(params, flops)`` of a layer that is not a block."""
    elements = math.prod(out)
    if isinstance(layer, Dense):
        params, flops = _dense(
            shape[-1], layer.units, bias=layer.use_bias, positions=math.prod(shape[:-1])
        )
        return params, flops + _activation_flops(layer.activation, out)
    if isinstance(layer, (Conv1D, Conv2D)):
        return _conv(layer, shape, out)
    if isinstance(layer, Pool):
        return 0, math.prod(axes(layer.pool_size, layer.rank)) * elements
    if isinstance(layer, (GlobalAvgPool, GlobalMaxPool)):
        return 0, math.prod(shape)
    if isinstance(layer, (Flatten, Dropout)):
        return 0, 0
    if isinstance(layer, (BatchNorm, LayerNorm)):
        return 2 * shape[-1], 2 * elements
    if isinstance(layer, Activation):
        return 0, _activation_flops(layer.activation, out)
    if isinstance(layer, (GRU, LSTM)):
        directions = 2 if layer.bidirectional else 1
        h, c, length = layer.units, shape[-1], shape[0]
        params = directions * layer.gates * (h * c + h * h + 2 * h)
        return params, directions * length * 2 * layer.gates * (h * c + h * h)
    if isinstance(layer, TransformerBlock):
        d, f, length = layer.d_model, layer.d_ff, shape[0]
        attention = 4 * d * d + 4 * d
        feed_forward = 2 * d * f + f + d
        norms = 4 * d
        macs = length * (4 * d * d + 2 * d * f) + 2 * length * length * d
        return attention + feed_forward + norms, 2 * macs
    if isinstance(layer, Embedding):
        return layer.vocab_size * layer.dim, 0
    if isinstance(layer, PositionEmbedding):
        return elements, elements
    raise TypeError(f"no cost rule for layer kind {layer.kind!r}")


def _layer_cost(layer: Layer, shape: Shape, out: Shape, path: tuple[int, ...]) -> LayerCost:
    if not isinstance(layer, Residual):
        params, flops = _leaf(layer, shape, out)
        return LayerCost(path, layer.kind, shape, out, params, flops, math.prod(out))
    children = []
    current = shape
    for index, child in enumerate(layer.layers):
        child_out = layer_output_shape(child, current)
        children.append(_layer_cost(child, current, child_out, (*path, index)))
        current = child_out
    elements = math.prod(out)
    params = sum(child.params for child in children)
    flops = sum(child.flops for child in children) + elements
    flops += _activation_flops(layer.activation, out)
    memory = sum(child.activation_elements for child in children) + elements
    if residual_projection(shape, out) is not None:
        p_params, p_flops = _dense(shape[-1], out[-1], bias=True, positions=math.prod(out[:-1]))
        params, flops, memory = params + p_params, flops + p_flops, memory + elements
    return LayerCost(path, layer.kind, shape, out, params, flops, memory, tuple(children))


def estimate_cost(network: Network) -> NetworkCost:
    """Return the analytic cost of ``network``, per layer and in total.

    Example:
        >>> from archtune.arch import builtin_network
        >>> cost = estimate_cost(builtin_network("cnn-32-64-64"))
        >>> cost.params
        93322

    Raises:
        InfeasibleNetworkError: The layers do not fit together (see :func:`infer_shapes`).
    """
    shapes = infer_shapes(network)
    rows = []
    current = network.input_shape
    for index, (layer, out) in enumerate(zip(network.layers, shapes, strict=False)):
        rows.append(_layer_cost(layer, current, out, (index,)))
        current = out
    head_out = head_output_shape(network.head, current)
    params, flops = _dense(
        current[-1], network.head.units, bias=True, positions=math.prod(current[:-1])
    )
    rows.append(
        LayerCost(
            (len(network.layers),), "head", current, head_out, params, flops, math.prod(head_out)
        )
    )
    return NetworkCost(tuple(rows))


def count_params(network: Network) -> int:
    """Return the number of trainable parameters, as PyTorch's ``sum(p.numel())`` counts them."""
    return estimate_cost(network).params
