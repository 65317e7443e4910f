"""The layer kinds of a network description: frozen dataclasses, checked when built.

Shapes are channels-last and exclude the batch axis, as in Keras: ``(features,)`` for flat
inputs, ``(length, channels)`` for sequences and 1-D signals, ``(height, width, channels)`` for
images, ``(length,)`` of token ids before an :class:`Embedding`. Layers that act on features
(:class:`Dense`, the norms) act on the last axis.

Each layer checks its own fields in ``__post_init__`` and raises
:class:`~archtune.arch.InvalidNetworkError`; whether the layers fit together is shape inference's
job (:func:`archtune.arch.infer_shapes`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar, Literal, TypeAlias

from archtune.arch._errors import InvalidNetworkError

__all__ = [
    "ACTIVATIONS",
    "GRU",
    "LSTM",
    "PADDINGS",
    "Activation",
    "ActivationName",
    "AvgPool1D",
    "AvgPool2D",
    "BatchNorm",
    "Conv1D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "Layer",
    "LayerNorm",
    "MaxPool1D",
    "MaxPool2D",
    "Padding",
    "Pool",
    "PositionEmbedding",
    "Recurrent",
    "Residual",
    "TransformerBlock",
    "layer_from_dict",
    "layer_kinds",
]

ActivationName: TypeAlias = Literal["relu", "gelu", "tanh", "sigmoid", "swish", "none"]
Padding: TypeAlias = Literal["valid", "same"]

#: The activation functions a layer may apply; ``"swish"`` is ``x * sigmoid(x)`` (SiLU).
ACTIVATIONS: tuple[str, ...] = ("relu", "gelu", "tanh", "sigmoid", "swish", "none")
#: Keras's paddings: ``"valid"`` (none) and ``"same"`` (output length ``ceil(length / stride)``).
PADDINGS: tuple[str, ...] = ("valid", "same")


# --- field checks (one message shape: "<Owner>.<field> must be <what>, got <value>") ---------


def _fail(owner: str, name: str, what: str, value: object) -> InvalidNetworkError:
    return InvalidNetworkError(f"{owner}.{name}", f"must be {what}, got {value!r}")


def _check_int(owner: str, name: str, value: object, *, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(owner, name, f"an integer >= {minimum}", value)


def _check_int_or_pair(owner: str, name: str, value: object) -> None:
    if isinstance(value, tuple) and len(value) == 2:
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or item < 1:
                break
        else:
            return
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return
    raise _fail(owner, name, "an integer >= 1 or a pair of them", value)


def _check_choice(owner: str, name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise _fail(owner, name, f"one of {', '.join(map(repr, allowed))}", value)


def _check_bool(owner: str, name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise _fail(owner, name, "true or false", value)


def _check_rate(owner: str, name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0.0 <= float(value) < 1.0
    ):
        raise _fail(owner, name, "a number in [0, 1)", value)


# --- the layers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """Base of every layer kind; ``kind`` is the name used in dicts and messages."""

    kind: ClassVar[str] = "layer"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict: ``{"kind": ..., <every field>}``."""
        data: dict[str, Any] = {"kind": self.kind}
        for field in dataclasses.fields(self):
            data[field.name] = _to_json(getattr(self, field.name))
        return data


def _to_json(value: object) -> Any:
    if isinstance(value, Layer):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_to_json(item) for item in value]
    return value


@dataclass(frozen=True)
class Dense(Layer):
    """A fully connected layer on the last axis: ``units`` outputs per position."""

    kind: ClassVar[str] = "dense"
    units: int
    _: KW_ONLY
    activation: ActivationName = "none"
    use_bias: bool = True

    def __post_init__(self) -> None:
        _check_int("Dense", "units", self.units)
        _check_choice("Dense", "activation", self.activation, ACTIVATIONS)
        _check_bool("Dense", "use_bias", self.use_bias)


def _check_conv(layer: Conv1D | Conv2D, owner: str) -> None:
    _check_int(owner, "filters", layer.filters)
    if isinstance(layer, Conv2D):
        _check_int_or_pair(owner, "kernel_size", layer.kernel_size)
        _check_int_or_pair(owner, "stride", layer.stride)
    else:
        _check_int(owner, "kernel_size", layer.kernel_size)
        _check_int(owner, "stride", layer.stride)
    _check_choice(owner, "padding", layer.padding, PADDINGS)
    _check_bool(owner, "separable", layer.separable)
    _check_choice(owner, "activation", layer.activation, ACTIVATIONS)
    _check_bool(owner, "use_bias", layer.use_bias)


@dataclass(frozen=True)
class Conv1D(Layer):
    """A 1-D convolution over ``(length, channels)``.

    With ``separable=True`` it is depthwise-separable: a depthwise convolution (one filter per
    input channel, no bias) followed by a pointwise (kernel 1) convolution to ``filters``.
    """

    kind: ClassVar[str] = "conv1d"
    filters: int
    kernel_size: int = 3
    _: KW_ONLY
    stride: int = 1
    padding: Padding = "valid"
    separable: bool = False
    activation: ActivationName = "none"
    use_bias: bool = True

    def __post_init__(self) -> None:
        _check_conv(self, "Conv1D")


@dataclass(frozen=True)
class Conv2D(Layer):
    """A 2-D convolution over ``(height, width, channels)``; sizes are an int or a pair.

    With ``separable=True`` it is depthwise-separable, as Keras's ``SeparableConv2D`` with a
    depth multiplier of 1.
    """

    kind: ClassVar[str] = "conv2d"
    filters: int
    kernel_size: int | tuple[int, int] = 3
    _: KW_ONLY
    stride: int | tuple[int, int] = 1
    padding: Padding = "valid"
    separable: bool = False
    activation: ActivationName = "none"
    use_bias: bool = True

    def __post_init__(self) -> None:
        _check_conv(self, "Conv2D")


@dataclass(frozen=True)
class Pool(Layer):
    """Base of the pooling layers; ``stride`` defaults to ``pool_size`` (Keras)."""

    mode: ClassVar[Literal["max", "avg"]] = "max"
    rank: ClassVar[int] = 1
    pool_size: int | tuple[int, int] = 2
    _: KW_ONLY
    stride: int | tuple[int, int] | None = None
    padding: Padding = "valid"

    def __post_init__(self) -> None:
        owner = type(self).__name__
        if self.rank == 1:
            _check_int(owner, "pool_size", self.pool_size)
            if self.stride is not None:
                _check_int(owner, "stride", self.stride)
        else:
            _check_int_or_pair(owner, "pool_size", self.pool_size)
            if self.stride is not None:
                _check_int_or_pair(owner, "stride", self.stride)
        _check_choice(owner, "padding", self.padding, PADDINGS)

    @property
    def strides(self) -> int | tuple[int, int]:
        """The stride in effect: ``stride``, or ``pool_size`` when it is ``None``."""
        return self.pool_size if self.stride is None else self.stride


@dataclass(frozen=True)
class MaxPool1D(Pool):
    """Max pooling over ``(length, channels)``; padded positions never win."""

    kind: ClassVar[str] = "max_pool1d"
    mode: ClassVar[Literal["max", "avg"]] = "max"
    rank: ClassVar[int] = 1


@dataclass(frozen=True)
class MaxPool2D(Pool):
    """Max pooling over ``(height, width, channels)``; padded positions never win."""

    kind: ClassVar[str] = "max_pool2d"
    mode: ClassVar[Literal["max", "avg"]] = "max"
    rank: ClassVar[int] = 2


@dataclass(frozen=True)
class AvgPool1D(Pool):
    """Average pooling over ``(length, channels)``; padded positions are not averaged."""

    kind: ClassVar[str] = "avg_pool1d"
    mode: ClassVar[Literal["max", "avg"]] = "avg"
    rank: ClassVar[int] = 1


@dataclass(frozen=True)
class AvgPool2D(Pool):
    """Average pooling over ``(height, width, channels)``; padded positions are not averaged."""

    kind: ClassVar[str] = "avg_pool2d"
    mode: ClassVar[Literal["max", "avg"]] = "avg"
    rank: ClassVar[int] = 2


@dataclass(frozen=True)
class GlobalAvgPool(Layer):
    """The mean over every axis but the channels: ``(..., C)`` to ``(C,)``."""

    kind: ClassVar[str] = "global_avg_pool"


@dataclass(frozen=True)
class GlobalMaxPool(Layer):
    """The maximum over every axis but the channels: ``(..., C)`` to ``(C,)``."""

    kind: ClassVar[str] = "global_max_pool"


@dataclass(frozen=True)
class Flatten(Layer):
    """Flattens to ``(prod(shape),)`` in channels-last (row-major) order, as Keras does."""

    kind: ClassVar[str] = "flatten"


@dataclass(frozen=True)
class Dropout(Layer):
    """Zeroes a fraction ``rate`` of the elements while training."""

    kind: ClassVar[str] = "dropout"
    rate: float = 0.5

    def __post_init__(self) -> None:
        _check_rate("Dropout", "rate", self.rate)


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Batch normalisation of the last (channel) axis, with a learned scale and shift."""

    kind: ClassVar[str] = "batch_norm"


@dataclass(frozen=True)
class LayerNorm(Layer):
    """Layer normalisation over the last axis, with a learned scale and shift."""

    kind: ClassVar[str] = "layer_norm"


@dataclass(frozen=True)
class Activation(Layer):
    """An elementwise activation function."""

    kind: ClassVar[str] = "activation"
    activation: ActivationName = "relu"

    def __post_init__(self) -> None:
        _check_choice("Activation", "activation", self.activation, ACTIVATIONS)


@dataclass(frozen=True)
class Residual(Layer):
    """``activation(body(x) + shortcut(x))`` around the sub-sequence ``layers``.

    The shortcut is the identity when the body keeps the shape. Otherwise it is a projection: a
    linear map of the channels (a 1x1 convolution) with a stride on each spatial axis chosen so
    that the shapes match; shape inference rejects a body whose output no such projection can
    reach (another rank, a longer axis, a length no stride gives).
    """

    kind: ClassVar[str] = "residual"
    layers: tuple[Layer, ...]
    _: KW_ONLY
    activation: ActivationName = "none"

    def __post_init__(self) -> None:
        if isinstance(self.layers, list):
            object.__setattr__(self, "layers", tuple(self.layers))
        if not isinstance(self.layers, tuple) or not self.layers:
            raise _fail("Residual", "layers", "a non-empty sequence of layers", self.layers)
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise _fail("Residual", f"layers[{index}]", "a layer", layer)
            if isinstance(layer, Embedding):
                raise _fail("Residual", f"layers[{index}]", "a layer other than Embedding", layer)
        _check_choice("Residual", "activation", self.activation, ACTIVATIONS)


@dataclass(frozen=True)
class Recurrent(Layer):
    """Base of the recurrent layers, over ``(length, channels)``."""

    gates: ClassVar[int] = 1
    units: int
    _: KW_ONLY
    bidirectional: bool = False
    return_sequences: bool = False

    def __post_init__(self) -> None:
        owner = type(self).__name__
        _check_int(owner, "units", self.units)
        _check_bool(owner, "bidirectional", self.bidirectional)
        _check_bool(owner, "return_sequences", self.return_sequences)


@dataclass(frozen=True)
class GRU(Recurrent):
    """A GRU (PyTorch's and Keras's ``reset_after=True`` form: two bias vectors).

    Returns ``(length, units * directions)`` when ``return_sequences`` is true, else the last
    state of each direction, concatenated: ``(units * directions,)``.
    """

    kind: ClassVar[str] = "gru"
    gates: ClassVar[int] = 3


@dataclass(frozen=True)
class LSTM(Recurrent):
    """An LSTM, with PyTorch's two bias vectors per gate (Keras has one).

    Returns ``(length, units * directions)`` when ``return_sequences`` is true, else the last
    hidden state of each direction, concatenated: ``(units * directions,)``.
    """

    kind: ClassVar[str] = "lstm"
    gates: ClassVar[int] = 4


@dataclass(frozen=True)
class TransformerBlock(Layer):
    """A Transformer encoder block on ``(length, d_model)``.

    Multi-head self-attention and a feed-forward network of width ``d_ff``, each with a residual
    connection and a layer norm (after it, or before it with ``norm_first``), as PyTorch's
    ``TransformerEncoderLayer``. The input width must be ``d_model``: put a :class:`Dense` stem
    or an :class:`Embedding` first.
    """

    kind: ClassVar[str] = "transformer_block"
    d_model: int
    _: KW_ONLY
    n_heads: int
    d_ff: int
    dropout: float = 0.0
    activation: Literal["relu", "gelu"] = "relu"
    norm_first: bool = False

    def __post_init__(self) -> None:
        _check_int("TransformerBlock", "d_model", self.d_model)
        _check_int("TransformerBlock", "n_heads", self.n_heads)
        _check_int("TransformerBlock", "d_ff", self.d_ff)
        _check_rate("TransformerBlock", "dropout", self.dropout)
        _check_choice("TransformerBlock", "activation", self.activation, ("relu", "gelu"))
        _check_bool("TransformerBlock", "norm_first", self.norm_first)


@dataclass(frozen=True)
class Embedding(Layer):
    """Token ids ``(length,)`` to vectors ``(length, dim)``; only as a network's first layer."""

    kind: ClassVar[str] = "embedding"
    vocab_size: int
    _: KW_ONLY
    dim: int

    def __post_init__(self) -> None:
        _check_int("Embedding", "vocab_size", self.vocab_size)
        _check_int("Embedding", "dim", self.dim)


@dataclass(frozen=True)
class PositionEmbedding(Layer):
    """Adds a learned vector per position to ``(length, channels)``."""

    kind: ClassVar[str] = "position_embedding"


_LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls
    for cls in (
        Dense,
        Conv1D,
        Conv2D,
        MaxPool1D,
        MaxPool2D,
        AvgPool1D,
        AvgPool2D,
        GlobalAvgPool,
        GlobalMaxPool,
        Flatten,
        Dropout,
        BatchNorm,
        LayerNorm,
        Activation,
        Residual,
        GRU,
        LSTM,
        TransformerBlock,
        Embedding,
        PositionEmbedding,
    )
}


def layer_kinds() -> tuple[str, ...]:
    """Return the ``kind`` of every layer type, in the order of the docs."""
    return tuple(_LAYER_TYPES)


def _from_json(value: Any) -> Any:
    return tuple(_from_json(item) for item in value) if isinstance(value, list) else value


def layer_from_dict(data: Mapping[str, Any], *, path: str = "layer") -> Layer:
    """Build a layer from :meth:`Layer.to_dict`'s output.

    Args:
        data: ``{"kind": ..., <fields>}``; missing fields take their defaults, unknown keys are
            an error.
        path: Where ``data`` sits, for messages, e.g. ``"layers[3]"``.

    Raises:
        InvalidNetworkError: The kind is unknown, a key is unknown, a required field is missing
            or a field's value is malformed.
    """
    if not isinstance(data, Mapping):
        raise InvalidNetworkError(path, f"must be a mapping with a 'kind' key, got {data!r}")
    kind = data.get("kind")
    cls = _LAYER_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        allowed = ", ".join(map(repr, _LAYER_TYPES))
        raise InvalidNetworkError(f"{path}.kind", f"must be one of {allowed}, got {kind!r}")
    fields = {field.name: field for field in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields) - {"kind"})
    if unknown:
        allowed = ", ".join(map(repr, fields)) or "none"
        raise InvalidNetworkError(
            path, f"has unknown keys {unknown} for kind {kind!r} (allowed: {allowed})"
        )
    missing = [
        name
        for name, field in fields.items()
        if name not in data
        and field.default is dataclasses.MISSING
        and field.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise InvalidNetworkError(path, f"misses required keys {missing} for kind {kind!r}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        if name == "kind":
            continue
        if cls is Residual and name == "layers":
            if not isinstance(value, (list, tuple)):
                raise InvalidNetworkError(f"{path}.layers", f"must be a list, got {value!r}")
            kwargs[name] = tuple(
                layer_from_dict(item, path=f"{path}.layers[{index}]")
                for index, item in enumerate(value)
            )
        else:
            kwargs[name] = _from_json(value)
    try:
        return cls(**kwargs)
    except InvalidNetworkError as err:
        raise InvalidNetworkError(f"{path}: {err.path}", err.reason) from None
