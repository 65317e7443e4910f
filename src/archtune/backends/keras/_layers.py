"""The Keras layers that Keras lacks, registered for ``.keras`` files (package ``archtune``).

- :class:`PositionEmbedding`: a learned vector per position, added.
- :class:`Subsample`: takes every ``stride``-th position on each spatial axis (the strided
  input of a residual block's projection).
- :class:`SamePaddingAveragePooling`: average pooling with ``"same"`` padding that leaves the
  padded positions out of every average, on every Keras backend (Keras on PyTorch counts the
  zeros of uneven padding).
- :class:`TransformerBlock`: PyTorch's ``TransformerEncoderLayer`` (post- or pre-norm).
- :class:`TorchLSTMCell`: Keras's ``LSTMCell`` with a second bias vector, PyTorch's
  ``bias_hh``, so that an LSTM has PyTorch's parameter count (see ``docs/backends.md``).
"""

from __future__ import annotations

from typing import Any

from archtune.arch import window
from archtune.backends.keras._keras import import_keras

keras = import_keras()
ops = keras.ops
register = keras.saving.register_keras_serializable(package="archtune")
Layer: Any = keras.layers.Layer
LSTMCell: Any = keras.layers.LSTMCell

__all__ = [
    "NORM_EPSILON",
    "PositionEmbedding",
    "SamePaddingAveragePooling",
    "Subsample",
    "TorchLSTMCell",
    "TransformerBlock",
]

#: PyTorch's epsilon of batch and layer norm (Keras's default is 1e-3).
NORM_EPSILON = 1e-5


@register
class PositionEmbedding(Layer):  # type: ignore[misc]
    """Adds a learned ``(length, channels)`` table to its input."""

    def __init__(self, initializer: Any = "glorot_uniform", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.embeddings = self.add_weight(
            shape=tuple(input_shape[1:]), initializer=self.initializer, name="embeddings"
        )

    def call(self, inputs: Any) -> Any:
        return inputs + ops.convert_to_tensor(self.embeddings)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config["initializer"] = keras.initializers.serialize(self.initializer)
        return config


@register
class Subsample(Layer):  # type: ignore[misc]
    """Keeps every ``strides[i]``-th position of spatial axis ``i`` (channels-last)."""

    def __init__(self, strides: tuple[int, ...] | list[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.strides = tuple(int(s) for s in strides)

    def call(self, inputs: Any) -> Any:
        index = (slice(None), *(slice(None, None, s) for s in self.strides), slice(None))
        return inputs[index]

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        spatial = input_shape[1:-1]
        sizes = [
            None if n is None else -(-n // s) for n, s in zip(spatial, self.strides, strict=True)
        ]
        return (input_shape[0], *sizes, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config["strides"] = list(self.strides)
        return config


@register
class SamePaddingAveragePooling(Layer):  # type: ignore[misc]
    """Average pooling with ``"same"`` padding; padded positions are not averaged.

    The input is padded as the description's :func:`~archtune.arch.window` says (half before,
    the odd one after) and the window sums are divided by the number of real positions.
    """

    def __init__(
        self,
        pool_size: tuple[int, ...] | list[int],
        strides: tuple[int, ...] | list[int],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.pool_size = tuple(int(p) for p in pool_size)
        self.strides = tuple(int(s) for s in strides)

    def _pads(self, spatial: tuple[int, ...]) -> list[list[int]]:
        pads = [[0, 0]]
        for length, kernel, stride in zip(spatial, self.pool_size, self.strides, strict=True):
            geometry = window(length, kernel=kernel, stride=stride, padding="same")
            pads.append([geometry.pad_before, geometry.pad_after])
        return [*pads, [0, 0]]

    def _pool(self, x: Any) -> Any:
        return ops.average_pool(x, self.pool_size, self.strides, padding="valid")

    def call(self, inputs: Any) -> Any:
        spatial = tuple(int(n) for n in inputs.shape[1:-1])
        pads = self._pads(spatial)
        ones = ops.ones((1, *spatial, 1), dtype=inputs.dtype)
        return self._pool(ops.pad(inputs, pads)) / self._pool(ops.pad(ones, pads))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        sizes = [
            None if n is None else -(-n // s)
            for n, s in zip(input_shape[1:-1], self.strides, strict=True)
        ]
        return (input_shape[0], *sizes, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(pool_size=list(self.pool_size), strides=list(self.strides))
        return config


@register
class TransformerBlock(Layer):  # type: ignore[misc]
    """A Transformer encoder block, as PyTorch's ``TransformerEncoderLayer``.

    Self-attention (``n_heads`` heads of width ``d_model / n_heads``, with biases) and a
    feed-forward network (``d_model -> d_ff -> d_model``), each with dropout, a residual
    connection and a layer norm: after the sum (``norm_first=False``) or before the sublayer.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        *,
        dropout: float = 0.0,
        activation: str = "relu",
        norm_first: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.d_model, self.n_heads, self.d_ff = d_model, n_heads, d_ff
        self.dropout, self.activation, self.norm_first = dropout, activation, norm_first
        self.attention = keras.layers.MultiHeadAttention(
            n_heads, d_model // n_heads, dropout=dropout, name="attention"
        )
        self.linear1 = keras.layers.Dense(d_ff, activation=activation, name="linear1")
        self.linear2 = keras.layers.Dense(d_model, name="linear2")
        self.norm1 = keras.layers.LayerNormalization(epsilon=NORM_EPSILON, name="norm1")
        self.norm2 = keras.layers.LayerNormalization(epsilon=NORM_EPSILON, name="norm2")
        self.dropout1 = keras.layers.Dropout(dropout, name="dropout1")
        self.dropout2 = keras.layers.Dropout(dropout, name="dropout2")
        self.dropout_ff = keras.layers.Dropout(dropout, name="dropout_ff")

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.attention.build(input_shape, input_shape)
        self.linear1.build(input_shape)
        self.linear2.build((*input_shape[:-1], self.d_ff))
        self.norm1.build(input_shape)
        self.norm2.build(input_shape)

    def _attend(self, x: Any, training: bool | None) -> Any:
        return self.dropout1(self.attention(x, x, training=training), training=training)

    def _feed_forward(self, x: Any, training: bool | None) -> Any:
        hidden = self.dropout_ff(self.linear1(x), training=training)
        return self.dropout2(self.linear2(hidden), training=training)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        x = inputs
        if self.norm_first:
            x = x + self._attend(self.norm1(x), training)
            return x + self._feed_forward(self.norm2(x), training)
        x = self.norm1(x + self._attend(x, training))
        return self.norm2(x + self._feed_forward(x, training))

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(
            d_model=self.d_model,
            n_heads=self.n_heads,
            d_ff=self.d_ff,
            dropout=self.dropout,
            activation=self.activation,
            norm_first=self.norm_first,
        )
        return config


@register
class TorchLSTMCell(LSTMCell):  # type: ignore[misc]
    """Keras's ``LSTMCell`` with PyTorch's second bias vector (``recurrent_bias``, zeros).

    The gates are ``x @ kernel + h @ recurrent_kernel + bias + recurrent_bias``: the same
    function as Keras's LSTM (the two biases add up), with PyTorch's ``8 * units`` biases.
    Keras's initialisation is kept (``unit_forget_bias``: the forget gate's bias starts at 1).
    """

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        super().build(input_shape)
        self.recurrent_bias = self.add_weight(
            shape=(self.units * 4,), name="recurrent_bias", initializer="zeros"
        )

    def call(self, inputs: Any, states: Any, training: bool = False) -> Any:
        h_prev, c_prev = states[0], states[1]
        z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        z = z + self.recurrent_bias
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        c = self.recurrent_activation(z_f) * c_prev + self.recurrent_activation(
            z_i
        ) * self.activation(z_c)
        h = self.recurrent_activation(z_o) * self.activation(c)
        return h, [h, c]
