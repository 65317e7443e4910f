"""Build a ``torch.nn.Module`` from a :class:`~archtune.arch.Network`.

This module imports torch at the top; :mod:`archtune.backends.torch` imports it only after
checking that torch is installed.

The module keeps tensors channels-last between layers, as the description does: a convolution,
pooling or batch norm moves the channels to axis 1 (a view, so PyTorch runs it in its
``channels_last`` memory format) and back. ``layers[i]`` of the module is the description's
``layers[i]``; weights keep PyTorch's default initialisation.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional

from archtune.arch import (
    GRU,
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
    Network,
    Pool,
    PositionEmbedding,
    Recurrent,
    Residual,
    Shape,
    TransformerBlock,
    axes,
    infer_shapes,
    layer_output_shape,
    residual_projection,
    window,
)

__all__ = ["NetworkModule", "build_module"]

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "swish": nn.SiLU,
}


class NetworkModule(nn.Module):
    """The built network: channels-last input in, the head's logits out.

    Attributes:
        network: The description it was built from.
        layers: One module per layer of the description, in order.
        head: The output layer (a ``Linear``); its activation is not applied.
        head_activation: The head's activation, for predictions (``"softmax"``, ...).
    """

    def __init__(self, network: Network, layers: list[nn.Module], head: nn.Linear) -> None:
        super().__init__()
        self.network = network
        self.layers = nn.ModuleList(layers)
        self.head = head
        self.head_activation: str = network.head.activation

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Return the logits for a batch of shape ``(N, *network.input_shape)``."""
        expected = self.network.input_shape
        if tuple(inputs.shape[1:]) != expected:
            shape = ", ".join(map(str, expected))
            raise ValueError(
                f"NetworkModule.forward: inputs must have shape (batch, {shape}) "
                f"(channels-last), got {tuple(inputs.shape)}"
            )
        hidden = inputs
        for layer in self.layers:
            hidden = layer(hidden)
        output: torch.Tensor = self.head(hidden)
        return output


class _ChannelsFirst(nn.Module):
    """Runs ``inner`` on the tensor with its channels moved from the last axis to axis 1."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        output: torch.Tensor = self.inner(inputs.movedim(-1, 1))
        return output.movedim(1, -1)


class _PoolModule(nn.Module):
    """Max or average pooling (channels-first) with Keras's possibly uneven 'same' padding.

    Padded positions never win a max and are left out of an average, as in Keras.
    """

    def __init__(
        self, mode: str, kernel: tuple[int, ...], stride: tuple[int, ...], pads: list[int]
    ) -> None:
        super().__init__()
        self.mode = mode
        self.kernel = kernel
        self.stride = stride
        self.pads = pads
        self.padded = any(pads)

    def _pool(self, inputs: torch.Tensor) -> torch.Tensor:
        if len(self.kernel) == 1:
            if self.mode == "max":
                return functional.max_pool1d(inputs, self.kernel, self.stride)
            return functional.avg_pool1d(inputs, self.kernel, self.stride)
        if self.mode == "max":
            return functional.max_pool2d(inputs, self.kernel, self.stride)
        return functional.avg_pool2d(inputs, self.kernel, self.stride)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.padded:
            return self._pool(inputs)
        if self.mode == "max":
            return self._pool(functional.pad(inputs, self.pads, value=-math.inf))
        ones = inputs.new_ones((1, 1, *inputs.shape[2:]))
        counts = self._pool(functional.pad(ones, self.pads))
        return self._pool(functional.pad(inputs, self.pads)) / counts


class _GlobalPool(nn.Module):
    """The mean or maximum over every axis between the batch and the channels."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(1, inputs.dim() - 1))
        return inputs.mean(dim=dims) if self.mode == "avg" else inputs.amax(dim=dims)


class _BatchNorm(nn.Module):
    """Batch norm of the last axis of a channels-last tensor of any rank."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() == 2:
            output: torch.Tensor = self.norm(inputs)
            return output
        moved = inputs.movedim(-1, 1)
        flat = moved.reshape(moved.shape[0], moved.shape[1], -1)
        normed: torch.Tensor = self.norm(flat)
        return normed.reshape(moved.shape).movedim(1, -1)


class _Residual(nn.Module):
    """``activation(body(x) + projection(x[strided]))``; the projection may be the identity."""

    def __init__(
        self,
        body: nn.Sequential,
        projection: nn.Module,
        strides: tuple[int, ...],
        activation: nn.Module,
    ) -> None:
        super().__init__()
        self.body = body
        self.projection = projection
        self.strides = strides
        self.activation = activation

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        shortcut = inputs
        if any(stride > 1 for stride in self.strides):
            index = (slice(None), *(slice(None, None, s) for s in self.strides), slice(None))
            shortcut = shortcut[index]
        output: torch.Tensor = self.activation(self.body(inputs) + self.projection(shortcut))
        return output


class _RecurrentModule(nn.Module):
    """A batch-first GRU or LSTM returning the sequence or each direction's last state."""

    def __init__(self, rnn: nn.GRU | nn.LSTM, *, return_sequences: bool) -> None:
        super().__init__()
        self.rnn = rnn
        self.return_sequences = return_sequences

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        sequence, state = self.rnn(inputs)
        if self.return_sequences:
            output: torch.Tensor = sequence
            return output
        hidden: torch.Tensor = state[0] if isinstance(state, tuple) else state
        return hidden.transpose(0, 1).reshape(inputs.shape[0], -1)


class _PositionEmbedding(nn.Module):
    """Adds a learned vector per position (an ``Embedding`` table, PyTorch's default init)."""

    def __init__(self, length: int, channels: int) -> None:
        super().__init__()
        self.table = nn.Embedding(length, channels)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs + self.table.weight


def _activation(name: str) -> nn.Module:
    return nn.Identity() if name == "none" else _ACTIVATIONS[name]()


def _with_activation(module: nn.Module, activation: str) -> nn.Module:
    return module if activation == "none" else nn.Sequential(module, _activation(activation))


def _pads(
    shape: Shape, kernel: tuple[int, ...], stride: tuple[int, ...], padding: str
) -> list[int]:
    """Return ``functional.pad``'s list: (before, after) per spatial axis, the last axis first."""
    pads: list[int] = []
    for length, k, s in reversed(list(zip(shape[:-1], kernel, stride, strict=True))):
        geometry = window(length, kernel=k, stride=s, padding=padding)
        pads += [geometry.pad_before, geometry.pad_after]
    return pads


def _conv_module(
    rank: int,
    sizes: tuple[int, int],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    *,
    groups: int,
    bias: bool,
) -> nn.Module:
    c_in, c_out = sizes
    if rank == 1:
        return nn.Conv1d(c_in, c_out, kernel[0], stride[0], padding[0], groups=groups, bias=bias)
    return nn.Conv2d(
        c_in,
        c_out,
        (kernel[0], kernel[1]),
        (stride[0], stride[1]),
        (padding[0], padding[1]),
        groups=groups,
        bias=bias,
    )


def _conv(layer: Conv1D | Conv2D, shape: Shape) -> nn.Module:
    rank = 1 if isinstance(layer, Conv1D) else 2
    kernel, stride = axes(layer.kernel_size, rank), axes(layer.stride, rank)
    pads = _pads(shape, kernel, stride, layer.padding)
    even = all(pads[i] == pads[i + 1] for i in range(0, len(pads), 2))
    padding = tuple(reversed(pads[::2])) if even else (0,) * rank
    c_in, c_out, bias = shape[-1], layer.filters, layer.use_bias
    parts: list[nn.Module] = []
    if not even and rank == 1:
        parts.append(nn.ConstantPad1d((pads[0], pads[1]), 0.0))
    elif not even:
        parts.append(nn.ZeroPad2d((pads[0], pads[1], pads[2], pads[3])))
    if layer.separable:
        ones = (1,) * rank
        parts += [
            _conv_module(rank, (c_in, c_in), kernel, stride, padding, groups=c_in, bias=False),
            _conv_module(rank, (c_in, c_out), ones, ones, (0,) * rank, groups=1, bias=bias),
        ]
    else:
        parts.append(
            _conv_module(rank, (c_in, c_out), kernel, stride, padding, groups=1, bias=bias)
        )
    inner = parts[0] if len(parts) == 1 else nn.Sequential(*parts)
    return _with_activation(_ChannelsFirst(inner), layer.activation)


def _pool(layer: Pool, shape: Shape) -> nn.Module:
    kernel, stride = axes(layer.pool_size, layer.rank), axes(layer.strides, layer.rank)
    pads = _pads(shape, kernel, stride, layer.padding)
    return _ChannelsFirst(_PoolModule(layer.mode, kernel, stride, pads))


def _residual(layer: Residual, shape: Shape) -> nn.Module:
    body: list[nn.Module] = []
    current = shape
    for child in layer.layers:
        body.append(_build_layer(child, current))
        current = layer_output_shape(child, current)
    strides = residual_projection(shape, current)
    projection = nn.Identity() if strides is None else nn.Linear(shape[-1], current[-1])
    activation = _activation(layer.activation)
    return _Residual(nn.Sequential(*body), projection, strides or (), activation)


def _build_layer(layer: Layer, shape: Shape) -> nn.Module:
    """Return the module of ``layer`` given its (feasible) input shape."""
    if isinstance(layer, Dense):
        linear = nn.Linear(shape[-1], layer.units, bias=layer.use_bias)
        return _with_activation(linear, layer.activation)
    if isinstance(layer, (Conv1D, Conv2D)):
        return _conv(layer, shape)
    if isinstance(layer, Pool):
        return _pool(layer, shape)
    if isinstance(layer, (GlobalAvgPool, GlobalMaxPool)):
        return _GlobalPool("avg" if isinstance(layer, GlobalAvgPool) else "max")
    if isinstance(layer, Flatten):
        return nn.Flatten()
    if isinstance(layer, Dropout):
        return nn.Dropout(layer.rate)
    if isinstance(layer, BatchNorm):
        return _BatchNorm(shape[-1])
    if isinstance(layer, LayerNorm):
        return nn.LayerNorm(shape[-1])
    if isinstance(layer, Activation):
        return _activation(layer.activation)
    if isinstance(layer, Residual):
        return _residual(layer, shape)
    if isinstance(layer, Recurrent):
        rnn_type = nn.GRU if isinstance(layer, GRU) else nn.LSTM
        rnn = rnn_type(shape[-1], layer.units, batch_first=True, bidirectional=layer.bidirectional)
        return _RecurrentModule(rnn, return_sequences=layer.return_sequences)
    if isinstance(layer, TransformerBlock):
        return nn.TransformerEncoderLayer(
            layer.d_model,
            layer.n_heads,
            dim_feedforward=layer.d_ff,
            dropout=layer.dropout,
            activation=layer.activation,
            batch_first=True,
            norm_first=layer.norm_first,
        )
    if isinstance(layer, Embedding):
        return nn.Embedding(layer.vocab_size, layer.dim)
    if isinstance(layer, PositionEmbedding):
        return _PositionEmbedding(shape[0], shape[1])
    raise TypeError(f"the PyTorch backend cannot build layer kind {layer.kind!r}")


def build_module(network: Network) -> NetworkModule:
    """Build ``network`` as a PyTorch module (see :func:`archtune.backends.torch.build_module`)."""
    shapes = infer_shapes(network)
    modules: list[nn.Module] = []
    current = network.input_shape
    for layer, out in zip(network.layers, shapes, strict=False):
        modules.append(_build_layer(layer, current))
        current = out
    return NetworkModule(network, modules, nn.Linear(current[-1], network.head.units))
