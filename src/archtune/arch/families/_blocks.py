"""Small layer recipes the families share: conv-norm-activation units, norms, pooling."""

from __future__ import annotations

from typing import cast

from archtune.arch._layers import (
    Activation,
    ActivationName,
    AvgPool1D,
    AvgPool2D,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Layer,
    LayerNorm,
    MaxPool1D,
    MaxPool2D,
    Pool,
)

__all__ = [
    "SEARCHED_ACTIVATIONS",
    "activation_name",
    "conv_unit",
    "dense_unit",
    "dropout",
    "norm_layers",
    "pooling",
]

#: The activations the families offer in their default spaces.
SEARCHED_ACTIVATIONS: tuple[str, ...] = ("relu", "gelu", "swish", "tanh")


def activation_name(value: str) -> ActivationName:
    """Narrow a checked activation name to the layer's type."""
    return cast(ActivationName, value)


def norm_layers(norm: str) -> list[Layer]:
    """``[]`` for ``"none"``, else one batch or layer norm of the last axis."""
    if norm == "batch":
        return [BatchNorm()]
    if norm == "layer":
        return [LayerNorm()]
    return []


def dropout(rate: float) -> list[Layer]:
    """``[]`` for a rate of 0, else one dropout layer."""
    return [Dropout(rate)] if rate > 0 else []


def _then_activation(layer: Layer, *, norm: str, activation: ActivationName | None) -> list[Layer]:
    """``layer``, its norm, then the activation (``None``: none, e.g. before a residual sum)."""
    tail: list[Layer] = [] if activation is None else [Activation(activation)]
    return [layer, *norm_layers(norm), *tail]


def dense_unit(units: int, *, norm: str, activation: ActivationName | None) -> list[Layer]:
    """Dense, norm, activation; without a norm the activation is the dense layer's own."""
    if norm == "none":
        return [Dense(units, activation=activation or "none")]
    return _then_activation(Dense(units, use_bias=False), norm=norm, activation=activation)


def conv_unit(
    rank: int,
    filters: int,
    kernel_size: int,
    *,
    norm: str,
    activation: ActivationName | None,
    stride: int = 1,
    separable: bool = False,
) -> list[Layer]:
    """A ``"same"``-padded convolution, its norm, then the activation.

    Without a norm the activation is the convolution's own and the convolution has a bias;
    with one the bias is left out (the norm's shift does its job).
    """
    conv: Layer
    bias = norm == "none"
    fused: ActivationName = (activation or "none") if bias else "none"
    if rank == 1:
        conv = Conv1D(
            filters,
            kernel_size,
            stride=stride,
            padding="same",
            separable=separable,
            activation=fused,
            use_bias=bias,
        )
    else:
        conv = Conv2D(
            filters,
            kernel_size,
            stride=stride,
            padding="same",
            separable=separable,
            activation=fused,
            use_bias=bias,
        )
    if bias:
        return [conv]
    return _then_activation(conv, norm=norm, activation=activation)


def pooling(rank: int, mode: str) -> list[Layer]:
    """A ``"valid"`` pooling of size 2 (``"max"`` or ``"avg"``), or ``[]`` for another mode."""
    kinds: dict[str, type[Pool]] = (
        {"max": MaxPool1D, "avg": AvgPool1D} if rank == 1 else {"max": MaxPool2D, "avg": AvgPool2D}
    )
    cls = kinds.get(mode)
    return [] if cls is None else [cls(2)]
