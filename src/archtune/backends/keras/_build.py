"""Build a ``keras.Model`` from a :class:`~archtune.arch.Network`.

The model is functional: a ``keras.Input`` of the description's channels-last shape (int32
token ids when the first layer is an :class:`~archtune.arch.Embedding`), one Keras layer per
described layer, named after its place (``layers_3``; a residual block's body ``layers_3_0``,
``layers_3_1``, its ``layers_3_projection``, ``layers_3_add``, ...), and a ``Dense`` head named
``head`` that returns logits. Layers follow the PyTorch backend's reading of each field (a test
copies PyTorch weights into the Keras model and compares the outputs); the differences of
parameterisation are listed in ``docs/backends.md``.
"""

from __future__ import annotations

from typing import Any

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
)
from archtune.backends.keras import _layers
from archtune.backends.keras._keras import import_keras
from archtune.backends.keras._random import seeded

keras = import_keras()
layers = keras.layers

__all__ = ["HEAD_NAME", "NETWORK_ATTRIBUTE", "build_model"]

#: The name of the output layer (the head), whose bias ``bias_init="mean"`` sets.
HEAD_NAME = "head"

#: The attribute of a built model that holds its :class:`~archtune.arch.Network` (read by
#: ``KerasBackend.get_state``/``set_state`` to name the weights as PyTorch does).
NETWORK_ATTRIBUTE = "_archtune_network"

#: PyTorch's batch-norm momentum (0.1) in Keras's convention (the old statistics' weight).
_BATCH_NORM_MOMENTUM = 0.9


def _activation(name: str) -> str | None:
    return None if name == "none" else "silu" if name == "swish" else name


def _conv(layer: Conv1D | Conv2D, name: str) -> Any:
    rank = 1 if isinstance(layer, Conv1D) else 2
    kernel, stride = axes(layer.kernel_size, rank), axes(layer.stride, rank)
    kwargs: dict[str, Any] = {
        "strides": stride,
        "padding": layer.padding,
        "activation": _activation(layer.activation),
        "use_bias": layer.use_bias,
        "name": name,
    }
    if layer.separable:
        cls = layers.SeparableConv1D if rank == 1 else layers.SeparableConv2D
        return cls(layer.filters, kernel, depth_multiplier=1, **kwargs)
    cls = layers.Conv1D if rank == 1 else layers.Conv2D
    return cls(layer.filters, kernel, **kwargs)


def _pool(layer: Pool, name: str) -> Any:
    kernel, stride = axes(layer.pool_size, layer.rank), axes(layer.strides, layer.rank)
    if layer.mode == "avg" and layer.padding == "same":
        return _layers.SamePaddingAveragePooling(kernel, stride, name=name)
    classes = {
        ("max", 1): layers.MaxPooling1D,
        ("max", 2): layers.MaxPooling2D,
        ("avg", 1): layers.AveragePooling1D,
        ("avg", 2): layers.AveragePooling2D,
    }
    cls = classes[layer.mode, layer.rank]
    return cls(kernel, strides=stride, padding=layer.padding, name=name)


def _global_pool(layer: GlobalAvgPool | GlobalMaxPool, shape: Shape, name: str) -> Any:
    one_d = len(shape) == 2
    if isinstance(layer, GlobalAvgPool):
        cls = layers.GlobalAveragePooling1D if one_d else layers.GlobalAveragePooling2D
    else:
        cls = layers.GlobalMaxPooling1D if one_d else layers.GlobalMaxPooling2D
    return cls(name=name)


def _recurrent(layer: Recurrent, name: str) -> Any:
    rnn: Any
    sequences = layer.return_sequences
    if isinstance(layer, GRU):
        rnn = layers.GRU(layer.units, return_sequences=sequences, reset_after=True, name=name)
    else:
        cell = _layers.TorchLSTMCell(layer.units, name="cell")
        rnn = layers.RNN(cell, return_sequences=sequences, unroll=True, name=name)
    if layer.bidirectional:
        return layers.Bidirectional(rnn, merge_mode="concat", name=name)
    return rnn


def _residual(layer: Residual, x: Any, shape: Shape, name: str) -> Any:
    body, current = x, shape
    for index, child in enumerate(layer.layers):
        body = _apply(child, body, current, f"{name}_{index}")
        current = layer_output_shape(child, current)
    strides = residual_projection(shape, current)
    shortcut = x
    if strides is not None:
        if any(stride > 1 for stride in strides):
            shortcut = _layers.Subsample(strides, name=f"{name}_subsample")(shortcut)
        shortcut = layers.Dense(current[-1], name=f"{name}_projection")(shortcut)
    out = layers.Add(name=f"{name}_add")([body, shortcut])
    if layer.activation != "none":
        activation = _activation(layer.activation)
        out = layers.Activation(activation, name=f"{name}_activation")(out)
    return out


def _leaf(layer: Layer, shape: Shape, name: str) -> Any:
    """The Keras layer of a described layer that is not a residual block."""
    if isinstance(layer, Dense):
        activation = _activation(layer.activation)
        return layers.Dense(layer.units, activation=activation, use_bias=layer.use_bias, name=name)
    if isinstance(layer, (Conv1D, Conv2D)):
        return _conv(layer, name)
    if isinstance(layer, Pool):
        return _pool(layer, name)
    if isinstance(layer, (GlobalAvgPool, GlobalMaxPool)):
        return _global_pool(layer, shape, name)
    if isinstance(layer, Flatten):
        return layers.Flatten(name=name)
    if isinstance(layer, Dropout):
        return layers.Dropout(layer.rate, name=name)
    if isinstance(layer, BatchNorm):
        momentum, epsilon = _BATCH_NORM_MOMENTUM, _layers.NORM_EPSILON
        return layers.BatchNormalization(momentum=momentum, epsilon=epsilon, name=name)
    if isinstance(layer, LayerNorm):
        return layers.LayerNormalization(epsilon=_layers.NORM_EPSILON, name=name)
    if isinstance(layer, Activation):
        return layers.Activation(_activation(layer.activation) or "linear", name=name)
    if isinstance(layer, Recurrent):
        return _recurrent(layer, name)
    if isinstance(layer, TransformerBlock):
        return _layers.TransformerBlock(
            layer.d_model,
            layer.n_heads,
            layer.d_ff,
            dropout=layer.dropout,
            activation=layer.activation,
            norm_first=layer.norm_first,
            name=name,
        )
    if isinstance(layer, Embedding):
        return layers.Embedding(layer.vocab_size, layer.dim, name=name)
    if isinstance(layer, PositionEmbedding):
        return _layers.PositionEmbedding(name=name)
    raise TypeError(f"the Keras backend cannot build layer kind {layer.kind!r}")


def _apply(layer: Layer, x: Any, shape: Shape, name: str) -> Any:
    """Apply ``layer`` (whose input shape is ``shape``) to the symbolic tensor ``x``."""
    if isinstance(layer, Residual):
        return _residual(layer, x, shape, name)
    return _leaf(layer, shape, name)(x)


def build_model(network: Network, *, seed: int = 0) -> Any:
    """Build ``network`` as a functional ``keras.Model`` initialised from ``seed``.

    The model takes a channels-last batch ``(N, *network.input_shape)`` and returns the head's
    logits (the head's activation is not applied). Its trainable parameter count is
    :func:`archtune.arch.count_params` exactly. Keras's own initialisers draw the weights
    from ``seed``: the same seed gives the same weights (the caller's Python, NumPy and
    PyTorch random states are kept). The description is kept on the model (the
    ``_archtune_network`` attribute) for ``KerasBackend.get_state`` and ``set_state``.

    Example:
        >>> from archtune.arch import builtin_network
        >>> model = build_model(builtin_network("cnn-32-64-64"), seed=0)
        >>> model.output.shape
        (None, 10)

    Raises:
        InfeasibleNetworkError: The layers do not fit together.
    """
    infer_shapes(network)
    with seeded(seed):
        dtype = "int32" if network.takes_token_ids else "float32"
        inputs = keras.Input(shape=network.input_shape, dtype=dtype, name="inputs")
        x, shape = inputs, network.input_shape
        for index, layer in enumerate(network.layers):
            x = _apply(layer, x, shape, f"layers_{index}")
            shape = layer_output_shape(layer, shape, first=index == 0)
        outputs = layers.Dense(network.head.units, name=HEAD_NAME)(x)
        model = keras.Model(inputs, outputs, name=_model_name(network))
    setattr(model, NETWORK_ATTRIBUTE, network)
    return model


def _model_name(network: Network) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in network.name)
    return cleaned or "archtune"
