"""``from_keras``: a Keras 3 ``Sequential`` or functional model to a network description.

Keras is channels-last like the description, so shapes and flatten order carry over; kernels
are transposed to PyTorch's layout (``(kh, kw, in, out)`` to ``(out, in, kh, kw)``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from archtune._errors import ConfigError
from archtune._imports import require
from archtune.arch import (
    GRU,
    LSTM,
    AvgPool1D,
    AvgPool2D,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    HeadActivation,
    InfeasibleNetworkError,
    LayerNorm,
    MaxPool1D,
    MaxPool2D,
    Residual,
    infer_output_shape,
    residual_projection,
)
from archtune.backends._slots import Array, LayerWeights, state_dict
from archtune.interop._emit import Emitter, as_array
from archtune.interop._errors import UnsupportedLayerError
from archtune.interop._graph import Fork, Graph, Op, Step, linearize, split_fork
from archtune.interop._imported import ImportedModel

__all__ = ["SUPPORTED_KERAS_LAYERS", "from_keras"]

SOURCE = "from_keras"
TORCH_EPS = 1e-5  # the epsilon of the PyTorch builder's batch and layer norms

#: The Keras layers :func:`from_keras` reads.
SUPPORTED_KERAS_LAYERS: tuple[str, ...] = (
    "InputLayer",
    "Dense",
    "Conv1D",
    "Conv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "DepthwiseConv1D/DepthwiseConv2D followed by a 1x1 convolution",
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Flatten",
    "Dropout",
    "BatchNormalization",
    "LayerNormalization",
    "Activation",
    "ReLU",
    "Softmax",
    "GRU",
    "LSTM",
    "Bidirectional",
    "Embedding",
    "Add (residual)",
    "Sequential (nested)",
)

_ACTIVATIONS = {
    "linear": "none",
    "relu": "relu",
    "gelu": "gelu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
    "silu": "swish",
    "swish": "swish",
    "softmax": "softmax",
}


@dataclass(frozen=True)
class _Item:
    """One node of the model's graph: a Keras layer (``None`` for the input)."""

    layer: Any
    where: str
    label: str


def from_keras(
    model: Any, *, name: str | None = None, head_activation: HeadActivation | None = None
) -> ImportedModel:
    """Import a Keras ``Sequential`` or functional model: its structure and its weights.

    The model must be built with a known input shape (``keras.Input((28, 28, 1))`` first).
    Activations are folded into the layer before them, the last ``Dense`` becomes the head
    (its softmax or sigmoid the head's activation), and a functional ``Add`` of a block's
    input and output becomes a :class:`~archtune.arch.Residual` (the shortcut the identity or a
    1x1 projection).

    Args:
        model: A ``keras.Sequential`` or functional ``keras.Model``.
        name: The network's name (default: the model's).
        head_activation: Overrides the head activation read from the model.

    Returns:
        The :class:`ImportedModel`; ``build_torch()`` computes what ``model`` computes.

    Raises:
        UnsupportedLayerError: A layer (or setting) has no equivalent in the description; the
            message names it, its position and the supported layers.
        ConfigError: ``model`` is not a built Keras model.
        MissingDependencyError: Keras is not installed.

    Example:
        >>> import keras
        >>> model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(10)])
        >>> from_keras(model).network.head
        Head(units=10, activation='none')
    """
    keras = require("keras", extra="keras", feature="from_keras")
    if not isinstance(model, keras.Model):
        raise ConfigError(
            f"{SOURCE}: model must be a keras.Model (Sequential or functional), got "
            f"{type(model).__name__}"
        )
    input_shape = _input_shape(model)
    graph, items = _graph(model, keras)
    steps = linearize(graph)
    reader = _Reader(keras, items)
    emitter = Emitter(SOURCE, input_shape)
    reader.run(steps, emitter)
    network, layers, head = emitter.finish(
        name=name if name is not None else str(model.name),
        head_activation=head_activation,
        notes=reader.notes,
    )
    expected = tuple(model.output_shape[1:])
    if infer_output_shape(network) != expected:  # pragma: no cover - a reader's bug
        raise UnsupportedLayerError(
            SOURCE, "the model's output", str(expected), "differs from the description's"
        )
    return ImportedModel(
        network, state_dict(network, layers, head), "keras", notes=tuple(reader.notes)
    )


def _input_shape(model: Any) -> tuple[int, ...]:
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ConfigError(
            f"{SOURCE}: model must be built with a known input shape, got a model without "
            "inputs; start it with keras.Input((28, 28, 1)) or call model.build(...)"
        )
    if len(inputs) != 1:
        raise ConfigError(f"{SOURCE}: model must have one input, got {len(inputs)}")
    shape = tuple(inputs[0].shape[1:])
    if any(not isinstance(d, int) for d in shape):
        raise ConfigError(
            f"{SOURCE}: the input shape must be fully known, got {shape}; give every axis a "
            "size in keras.Input(...)"
        )
    return shape


def _graph(model: Any, keras: Any) -> tuple[Graph, list[_Item]]:
    """The model's layers as a :class:`Graph` (nested ``Sequential`` models expanded)."""
    items: list[_Item] = [_Item(None, "input", "the input")]
    inputs: list[tuple[int, ...]] = [()]
    joins: set[int] = set()

    def append(layer: Any, where: str, source: int) -> int:
        if isinstance(layer, keras.layers.InputLayer):
            return source
        if isinstance(layer, keras.Sequential):
            for index, inner in enumerate(layer.layers):
                source = append(inner, f"{where}.layers[{index}]", source)
            return source
        label = f"{layer.name!r} ({type(layer).__name__})"
        if isinstance(layer, keras.Model):
            raise UnsupportedLayerError(
                SOURCE,
                where,
                label,
                "is a nested functional or subclassed model; only nested "
                "Sequential models are expanded",
            )
        items.append(_Item(layer, where, label))
        inputs.append((source,))
        return len(items) - 1

    if isinstance(model, keras.Sequential):
        last = 0
        for index, layer in enumerate(model.layers):
            last = append(layer, f"layers[{index}]", last)
        return Graph(SOURCE, inputs, frozenset(), last, [i.label for i in items]), items

    by_depth = getattr(model, "_nodes_by_depth", None)
    if by_depth is None:
        raise ConfigError(
            f"{SOURCE}: model must be Sequential or functional, got a subclassed "
            f"{type(model).__name__} (its graph is not known); rewrite it as keras.Sequential "
            "or with the functional API"
        )
    tensors: dict[int, int] = {id(model.inputs[0]): 0}
    for depth in sorted(by_depth, reverse=True):
        for node in by_depth[depth]:
            if node.is_input:
                continue
            layer = node.operation
            label = f"{getattr(layer, 'name', '?')!r} ({type(layer).__name__})"
            where = f"layer {getattr(layer, 'name', '?')!r}"
            sources = []
            for tensor in node.input_tensors:
                if id(tensor) not in tensors:
                    raise UnsupportedLayerError(SOURCE, where, label, "reads a second input")
                sources.append(tensors[id(tensor)])
            if len(node.outputs) != 1:
                raise UnsupportedLayerError(
                    SOURCE, where, label, f"returns {len(node.outputs)} tensors"
                )
            if type(layer).__name__ == "Add" and len(sources) > 1:
                items.append(_Item(layer, where, label))
                inputs.append(tuple(sources))
                joins.add(len(items) - 1)
                out = len(items) - 1
            elif len(sources) != 1:
                raise UnsupportedLayerError(
                    SOURCE, where, label, f"reads {len(sources)} tensors; only Add may"
                )
            else:
                out = append(layer, where, sources[0])
            tensors[id(node.outputs[0])] = out
    if len(model.outputs) != 1:
        raise ConfigError(f"{SOURCE}: model must have one output, got {len(model.outputs)}")
    output = tensors[id(model.outputs[0])]
    return Graph(SOURCE, inputs, frozenset(joins), output, [i.label for i in items]), items


def _size(value: Any) -> int | tuple[int, int]:
    sizes = tuple(int(v) for v in (value if isinstance(value, (tuple, list)) else (value,)))
    if len(set(sizes)) == 1:
        return sizes[0]
    return (sizes[0], sizes[1])


def _ones(value: Any) -> bool:
    return all(int(v) == 1 for v in (value if isinstance(value, (tuple, list)) else (value,)))


class _Reader:
    """Reads the steps' Keras layers into an :class:`Emitter`."""

    def __init__(self, keras: Any, items: list[_Item]) -> None:
        self.keras = keras
        self.items = items
        self.notes: list[str] = []
        layers = keras.layers
        self.handlers: dict[type, Callable[[Any, _Item, Emitter], None]] = {
            layers.Dense: self._dense,
            layers.Conv1D: self._conv,
            layers.Conv2D: self._conv,
            layers.SeparableConv1D: self._separable,
            layers.SeparableConv2D: self._separable,
            layers.MaxPooling1D: self._pool,
            layers.MaxPooling2D: self._pool,
            layers.AveragePooling1D: self._pool,
            layers.AveragePooling2D: self._pool,
            layers.GlobalAveragePooling1D: self._global_pool,
            layers.GlobalAveragePooling2D: self._global_pool,
            layers.GlobalMaxPooling1D: self._global_pool,
            layers.GlobalMaxPooling2D: self._global_pool,
            layers.Flatten: self._flatten,
            layers.Dropout: self._dropout,
            layers.BatchNormalization: self._batch_norm,
            layers.LayerNormalization: self._layer_norm,
            layers.Activation: self._activation,
            layers.ReLU: self._relu,
            layers.Softmax: self._softmax,
            layers.GRU: self._recurrent,
            layers.LSTM: self._recurrent,
            layers.Bidirectional: self._bidirectional,
            layers.Embedding: self._embedding,
        }

    # -- helpers -------------------------------------------------------------------------
    def np(self, variable: Any) -> Array:
        value = getattr(variable, "value", variable)
        detach = getattr(value, "detach", None)
        if callable(detach):  # the torch backend: skip NumPy's __array__ on a Parameter
            return as_array(detach().cpu().numpy())
        return as_array(self.keras.ops.convert_to_numpy(value))

    def fail(self, item: _Item, reason: str, *, listing: bool = False) -> UnsupportedLayerError:
        supported = SUPPORTED_KERAS_LAYERS if listing else ()
        return UnsupportedLayerError(SOURCE, item.where, item.label, reason, supported)

    def require(self, item: _Item, ok: bool, what: str, value: Any) -> None:
        if not ok:
            raise self.fail(item, f"{what}, got {value!r}")

    def activation_name(self, function: Any, item: _Item) -> str:
        try:
            name = self.keras.activations.serialize(function)
        except Exception:  # a user's function: not serialisable by name
            name = None
        if not isinstance(name, str) or name not in _ACTIVATIONS:
            supported = ", ".join(sorted(_ACTIVATIONS))
            raise self.fail(item, f"has activation {name or function!r}; supported: {supported}")
        return _ACTIVATIONS[name]

    def channels_last(self, layer: Any, item: _Item) -> None:
        fmt = getattr(layer, "data_format", "channels_last")
        self.require(item, fmt == "channels_last", "data_format must be 'channels_last'", fmt)

    # -- the walk ------------------------------------------------------------------------
    def run(self, steps: tuple[Step, ...], emitter: Emitter) -> None:
        index = 0
        while index < len(steps):
            step = steps[index]
            if isinstance(step, Fork):
                self._fork(step, emitter)
                index += 1
                continue
            item = self.items[step.node]
            layer = item.layer
            if type(layer).__name__.startswith("DepthwiseConv"):
                following = steps[index + 1] if index + 1 < len(steps) else None
                self._depthwise(item, following, emitter)
                index += 2
                continue
            handler = self.handlers.get(type(layer))
            if handler is None:
                raise self.fail(item, "is not supported", listing=True)
            handler(layer, item, emitter)
            index += 1

    def _fork(self, fork: Fork, emitter: Emitter) -> None:
        join = self.items[fork.join]
        split = split_fork(fork, self._is_projection)
        if split is None:
            raise self.fail(
                join,
                "adds two branches with layers; one must be the identity or a 1x1 projection "
                "(Conv with kernel 1 or Dense, no activation)",
            )
        body, shortcut = split
        inner = Emitter(SOURCE, emitter.shape, first=False)
        self.run(body, inner)
        if inner.softmax is not None:
            raise self.fail(join, "adds a branch that ends in a softmax")
        weights = LayerWeights(body=inner.weights)
        try:
            strides = residual_projection(emitter.shape, inner.shape, path=join.where)
        except InfeasibleNetworkError as exc:
            raise self.fail(join, exc.reason) from None
        if strides is None and shortcut:
            raise self.fail(
                join,
                "has a projection shortcut where the shapes already match; the description's "
                "shortcut is then the identity",
            )
        if strides is not None:
            if not shortcut:  # pragma: no cover - Keras refuses to add mismatched shapes
                raise self.fail(join, "adds tensors of different shapes")
            step = shortcut[0]
            if not isinstance(step, Op):  # pragma: no cover - _is_projection checked it
                raise self.fail(join, "has a shortcut that is not one layer")
            weights.arrays |= self._projection(self.items[step.node], strides, inner.shape)
        emitter.add(Residual(tuple(inner.layers)), weights, where=join.where, label=join.label)

    def _is_projection(self, branch: tuple[Step, ...]) -> bool:
        if len(branch) != 1 or not isinstance(branch[0], Op):
            return False
        layer = self.items[branch[0].node].layer
        if type(layer) is self.keras.layers.Dense:
            return bool(self.keras.activations.serialize(layer.activation) == "linear")
        if type(layer) in (self.keras.layers.Conv1D, self.keras.layers.Conv2D):
            return (
                _ones(layer.kernel_size)
                and _ones(layer.dilation_rate)
                and layer.groups == 1
                and self.keras.activations.serialize(layer.activation) == "linear"
                and getattr(layer, "data_format", "channels_last") == "channels_last"
            )
        return False

    def _projection(
        self, item: _Item, strides: tuple[int, ...], out_shape: tuple[int, ...]
    ) -> dict[str, Array]:
        layer = item.layer
        kernel = self.np(layer.kernel)
        matrix = kernel.reshape(kernel.shape[-2], kernel.shape[-1]).T
        if type(layer) is not self.keras.layers.Dense:
            given = tuple(int(s) for s in layer.strides)
            for axis, (want, got) in enumerate(zip(strides, given, strict=True)):
                if want != got and out_shape[axis] != 1:
                    raise self.fail(
                        item, f"strides must be {strides} to match the block's body, got {given}"
                    )
        if layer.use_bias:
            bias = self.np(layer.bias)
        else:
            bias = np.zeros(matrix.shape[0], dtype=np.float32)
            self.notes.append(f"{item.where}: the shortcut projection gets a zero bias")
        return {"projection_weight": matrix, "projection_bias": bias}

    # -- layers --------------------------------------------------------------------------
    def _dense(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        arrays = {"weight": self.np(layer.kernel).T.copy()}
        if layer.use_bias:
            arrays["bias"] = self.np(layer.bias)
        emitter.add(
            Dense(int(layer.units), use_bias=bool(layer.use_bias)),
            LayerWeights(arrays),
            where=item.where,
            label=item.label,
        )
        emitter.activation(
            self.activation_name(layer.activation, item), where=item.where, label=item.label
        )

    def _check_conv(self, layer: Any, item: _Item) -> None:
        self.channels_last(layer, item)
        self.require(
            item, _ones(layer.dilation_rate), "dilation_rate must be 1", layer.dilation_rate
        )
        self.require(
            item,
            layer.padding in ("valid", "same"),
            "padding must be 'valid' or 'same'",
            layer.padding,
        )

    def _conv(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        self._check_conv(layer, item)
        self.require(item, layer.groups == 1, "groups must be 1", layer.groups)
        rank = layer.rank
        kernel = self.np(layer.kernel)
        arrays = {"weight": np.ascontiguousarray(_to_torch_kernel(kernel, rank))}
        if layer.use_bias:
            arrays["bias"] = self.np(layer.bias)
        cls = Conv1D if rank == 1 else Conv2D
        desc = cls(
            int(layer.filters),
            _size(layer.kernel_size),  # type: ignore[arg-type]
            stride=_size(layer.strides),  # type: ignore[arg-type]
            padding=layer.padding,
            use_bias=bool(layer.use_bias),
        )
        emitter.add(desc, LayerWeights(arrays), where=item.where, label=item.label)
        emitter.activation(
            self.activation_name(layer.activation, item), where=item.where, label=item.label
        )

    def _separable(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        self._check_conv(layer, item)
        self.require(
            item,
            layer.depth_multiplier == 1,
            "depth_multiplier must be 1",
            layer.depth_multiplier,
        )
        rank = layer.rank
        arrays = {
            "depthwise": _to_torch_depthwise(self.np(layer.depthwise_kernel), rank),
            "pointwise": np.ascontiguousarray(
                _to_torch_kernel(self.np(layer.pointwise_kernel), rank)
            ),
        }
        if layer.use_bias:
            arrays["bias"] = self.np(layer.bias)
        cls = Conv1D if rank == 1 else Conv2D
        desc = cls(
            int(layer.filters),
            _size(layer.kernel_size),  # type: ignore[arg-type]
            stride=_size(layer.strides),  # type: ignore[arg-type]
            padding=layer.padding,
            separable=True,
            use_bias=bool(layer.use_bias),
        )
        emitter.add(desc, LayerWeights(arrays), where=item.where, label=item.label)
        emitter.activation(
            self.activation_name(layer.activation, item), where=item.where, label=item.label
        )

    def _depthwise(self, item: _Item, following: Step | None, emitter: Emitter) -> None:
        layer = item.layer
        self._check_conv(layer, item)
        self.require(
            item,
            layer.depth_multiplier == 1,
            "depth_multiplier must be 1",
            layer.depth_multiplier,
        )
        self.require(
            item,
            self.activation_name(layer.activation, item) == "none",
            "activation must be linear (it sits inside a depthwise-separable pair)",
            self.keras.activations.serialize(layer.activation),
        )
        pointwise = self.items[following.node] if isinstance(following, Op) else None
        rank = layer.rank
        expected = self.keras.layers.Conv1D if rank == 1 else self.keras.layers.Conv2D
        if (
            pointwise is None
            or type(pointwise.layer) is not expected
            or not _ones(pointwise.layer.kernel_size)
            or not _ones(pointwise.layer.strides)
            or not _ones(pointwise.layer.dilation_rate)
            or pointwise.layer.groups != 1
        ):
            raise self.fail(
                item,
                "must be followed by a 1x1 convolution (stride 1), the depthwise-separable "
                "pair the description's separable convolution is; or use SeparableConv",
            )
        self.channels_last(pointwise.layer, pointwise)
        pw = _to_torch_kernel(self.np(pointwise.layer.kernel), rank)
        use_bias = bool(layer.use_bias or pointwise.layer.use_bias)
        arrays = {"depthwise": _to_torch_depthwise(self.np(layer.kernel), rank)}
        arrays["pointwise"] = np.ascontiguousarray(pw)
        if use_bias:
            bias = np.zeros(pw.shape[0], dtype=np.float32)
            if pointwise.layer.use_bias:
                bias = bias + self.np(pointwise.layer.bias)
            if layer.use_bias:  # fold the depthwise bias through the pointwise map
                bias = bias + pw.reshape(pw.shape[0], pw.shape[1]) @ self.np(layer.bias)
            arrays["bias"] = bias.astype(np.float32)
        cls = Conv1D if rank == 1 else Conv2D
        desc = cls(
            int(pointwise.layer.filters),
            _size(layer.kernel_size),  # type: ignore[arg-type]
            stride=_size(layer.strides),  # type: ignore[arg-type]
            padding=layer.padding,
            separable=True,
            use_bias=use_bias,
        )
        emitter.add(desc, LayerWeights(arrays), where=item.where, label=item.label)
        emitter.activation(
            self.activation_name(pointwise.layer.activation, pointwise),
            where=pointwise.where,
            label=pointwise.label,
        )

    def _pool(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        self.channels_last(layer, item)
        name = type(layer).__name__
        rank = 1 if name.endswith("1D") else 2
        cls = {
            (True, 1): MaxPool1D,
            (True, 2): MaxPool2D,
            (False, 1): AvgPool1D,
            (False, 2): AvgPool2D,
        }[(name.startswith("Max"), rank)]
        pool = _size(layer.pool_size)
        stride = _size(layer.strides) if layer.strides is not None else pool
        desc = cls(
            pool,
            stride=None if stride == pool else stride,
            padding=layer.padding,
        )
        emitter.add(desc, None, where=item.where, label=item.label)

    def _global_pool(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        self.channels_last(layer, item)
        self.require(item, not layer.keepdims, "keepdims must be False", layer.keepdims)
        cls = GlobalMaxPool if type(layer).__name__.startswith("GlobalMax") else GlobalAvgPool
        emitter.add(cls(), None, where=item.where, label=item.label)

    def _flatten(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        self.channels_last(layer, item)
        if len(emitter.shape) > 1:
            emitter.add(Flatten(), None, where=item.where, label=item.label)

    def _dropout(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        self.require(
            item, layer.noise_shape is None, "noise_shape must be None", layer.noise_shape
        )
        emitter.add(Dropout(float(layer.rate)), None, where=item.where, label=item.label)

    def _last_axis(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        axis = layer.axis
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        rank = len(emitter.shape)
        ok = len(axes) == 1 and axes[0] in (-1, rank)
        self.require(item, ok, "axis must be -1 (the channels)", axis)

    def _batch_norm(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        self._last_axis(layer, item, emitter)
        channels = emitter.shape[-1]
        gamma = self.np(layer.gamma) if layer.scale else np.ones(channels, dtype=np.float32)
        beta = self.np(layer.beta) if layer.center else np.zeros(channels, dtype=np.float32)
        if not (layer.scale and layer.center):
            self.notes.append(
                f"{item.where}: BatchNormalization without scale or center becomes a batch "
                "norm that learns both, starting at 1 and 0"
            )
        variance = self.np(layer.moving_variance) + float(layer.epsilon) - TORCH_EPS
        arrays = {
            "weight": gamma,
            "bias": beta,
            "running_mean": self.np(layer.moving_mean),
            "running_var": np.maximum(variance, 0.0).astype(np.float32),
        }
        emitter.add(BatchNorm(), LayerWeights(arrays), where=item.where, label=item.label)

    def _layer_norm(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        self._last_axis(layer, item, emitter)
        self.require(
            item, not getattr(layer, "rms_scaling", False), "rms_scaling must be False", True
        )
        channels = emitter.shape[-1]
        gamma = self.np(layer.gamma) if layer.scale else np.ones(channels, dtype=np.float32)
        beta = self.np(layer.beta) if layer.center else np.zeros(channels, dtype=np.float32)
        if abs(float(layer.epsilon) - TORCH_EPS) > 1e-12:
            self.notes.append(
                f"{item.where}: LayerNormalization epsilon {layer.epsilon:g} becomes PyTorch's "
                f"{TORCH_EPS:g}; outputs differ slightly (pass epsilon=1e-5 for an exact match)"
            )
        emitter.add(
            LayerNorm(),
            LayerWeights({"weight": gamma, "bias": beta}),
            where=item.where,
            label=item.label,
        )

    def _activation(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        name = self.activation_name(layer.activation, item)
        emitter.activation(name, where=item.where, label=item.label)

    def _relu(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        plain = (
            layer.max_value is None
            and float(layer.negative_slope) == 0.0
            and float(layer.threshold) == 0.0
        )
        self.require(
            item,
            plain,
            "must be a plain ReLU (no max_value, slope or threshold)",
            {
                "max_value": layer.max_value,
                "negative_slope": layer.negative_slope,
                "threshold": layer.threshold,
            },
        )
        emitter.activation("relu", where=item.where, label=item.label)

    def _softmax(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        self.require(item, layer.axis in (-1, len(emitter.shape)), "axis must be -1", layer.axis)
        emitter.activation("softmax", where=item.where, label=item.label)

    def _rnn_arrays(self, layer: Any, item: _Item, suffix: str) -> dict[str, Array]:
        cell = layer.cell
        is_gru = type(layer) is self.keras.layers.GRU
        self.require(item, not layer.return_state, "return_state must be False", True)
        self.require(item, not layer.stateful, "stateful must be False", True)
        if not suffix:
            self.require(item, not layer.go_backwards, "go_backwards must be False", True)
        act = self.keras.activations.serialize(cell.activation)
        rec = self.keras.activations.serialize(cell.recurrent_activation)
        self.require(item, act == "tanh", "activation must be 'tanh'", act)
        self.require(item, rec == "sigmoid", "recurrent_activation must be 'sigmoid'", rec)
        if is_gru:
            self.require(item, cell.reset_after, "reset_after must be True (PyTorch's GRU)", False)
        units = int(cell.units)
        gates = 3 if is_gru else 4
        w_ih = self.np(cell.kernel).T
        w_hh = self.np(cell.recurrent_kernel).T
        if cell.use_bias:
            bias = self.np(cell.bias).reshape(-1, gates * units)
            b_ih = bias[0]
            b_hh = bias[1] if is_gru else np.zeros_like(b_ih)
        else:
            b_ih = np.zeros(gates * units, dtype=np.float32)
            b_hh = np.zeros_like(b_ih)
            self.notes.append(f"{item.where}: a recurrent layer without biases gets zero biases")
        if float(getattr(cell, "dropout", 0.0)) or float(getattr(cell, "recurrent_dropout", 0.0)):
            self.notes.append(f"{item.where}: the recurrent layer's dropout is not kept")
        if is_gru:  # Keras orders the gates z, r, h; PyTorch r, z, n
            w_ih, w_hh, b_ih, b_hh = (_gru_gates(a, units) for a in (w_ih, w_hh, b_ih, b_hh))
        return {
            f"weight_ih_l0{suffix}": np.ascontiguousarray(w_ih),
            f"weight_hh_l0{suffix}": np.ascontiguousarray(w_hh),
            f"bias_ih_l0{suffix}": np.ascontiguousarray(b_ih),
            f"bias_hh_l0{suffix}": np.ascontiguousarray(b_hh),
        }

    def _recurrent(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        arrays = self._rnn_arrays(layer, item, "")
        cls = GRU if type(layer) is self.keras.layers.GRU else LSTM
        desc = cls(int(layer.units), return_sequences=bool(layer.return_sequences))
        emitter.add(desc, LayerWeights(arrays), where=item.where, label=item.label)

    def _bidirectional(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        self.require(
            item, layer.merge_mode == "concat", "merge_mode must be 'concat'", layer.merge_mode
        )
        forward, backward = layer.forward_layer, layer.backward_layer
        kinds = (self.keras.layers.GRU, self.keras.layers.LSTM)
        self.require(
            item,
            type(forward) in kinds
            and type(backward) is type(forward)
            and int(forward.units) == int(backward.units),
            "must wrap a GRU or LSTM (the same on both directions)",
            type(forward).__name__,
        )
        arrays = self._rnn_arrays(forward, item, "") | self._rnn_arrays(backward, item, "_reverse")
        cls = GRU if type(forward) is self.keras.layers.GRU else LSTM
        desc = cls(
            int(forward.units),
            bidirectional=True,
            return_sequences=bool(forward.return_sequences),
        )
        emitter.add(desc, LayerWeights(arrays), where=item.where, label=item.label)

    def _embedding(self, layer: Any, item: _Item, emitter: Emitter) -> None:
        self.require(item, not layer.mask_zero, "mask_zero must be False", True)
        desc = Embedding(int(layer.input_dim), dim=int(layer.output_dim))
        weights = LayerWeights({"weight": self.np(layer.embeddings)})
        emitter.add(desc, weights, where=item.where, label=item.label)


def _to_torch_kernel(kernel: Array, rank: int) -> Array:
    """Keras ``(*kernel, in, out)`` to PyTorch ``(out, in, *kernel)``."""
    return kernel.transpose(3, 2, 0, 1) if rank == 2 else kernel.transpose(2, 1, 0)


def _to_torch_depthwise(kernel: Array, rank: int) -> Array:
    """Keras ``(*kernel, in, 1)`` to PyTorch's grouped ``(in, 1, *kernel)``."""
    order = (2, 3, 0, 1) if rank == 2 else (1, 2, 0)
    return np.ascontiguousarray(kernel.transpose(order))


def _gru_gates(array: Array, units: int) -> Array:
    """Reorder the gate blocks on axis 0 from Keras's (z, r, h) to PyTorch's (r, z, n)."""
    z, r, h = array[:units], array[units : 2 * units], array[2 * units :]
    return np.concatenate([r, z, h], axis=0)
