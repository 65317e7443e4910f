"""The convolutional stack that the ``cnn1d`` and ``cnn2d`` families share.

``model.depth`` blocks, each a ``"same"``-padded convolution of ``width * taper**i`` filters
(plain, residual or separable), its norm and activation, then a pooling of size 2 and dropout;
then a readout (flatten or global average pooling) before the head. Pooling is ``"valid"``, so
more pooling stages than the input's length allows leave an axis below 1: shape inference
rejects such configurations as infeasible.
"""

from __future__ import annotations

from collections.abc import Mapping

from archtune.arch._layers import ACTIVATIONS, Flatten, GlobalAvgPool, Layer, Residual
from archtune.arch._shapes import Shape
from archtune.arch.families._base import (
    Builder,
    Knob,
    ModelConfig,
    cap,
    decrement,
    halve,
    int_rule,
    number_rule,
    one_of,
    prefer,
    rate_rule,
    tapered,
)
from archtune.arch.families._blocks import (
    SEARCHED_ACTIVATIONS,
    activation_name,
    conv_unit,
    dropout,
    pooling,
)
from archtune.space import Choice, Float, Int, Scalar

__all__ = ["CONNECTIONS", "NORMS", "POOLINGS", "READOUTS", "convnet_knobs", "convnet_layers"]

CONNECTIONS: tuple[str, ...] = ("plain", "residual", "separable")
NORMS: tuple[str, ...] = ("none", "batch", "layer")
POOLINGS: tuple[str, ...] = ("max", "avg", "none")
READOUTS: tuple[str, ...] = ("flatten", "gap")
TAPER = Float(0.5, 2.0, step=0.25)
DROPOUT = Float(0.0, 0.5, step=0.05)


def convnet_knobs(
    *,
    defaults: Mapping[str, Scalar],
    width_range: tuple[int, int],
    kernel_sizes: tuple[int, ...],
) -> tuple[Knob, ...]:
    """The knobs of a convolutional stack, with the family's defaults (short names)."""
    low, high = width_range
    return (
        Knob(
            "model.depth",
            Int(1, 4),
            defaults["depth"],
            int_rule(1),
            "convolutional blocks, each followed by pooling",
            decrement(1),
        ),
        Knob(
            "model.width",
            Int(low, high, log=True),
            defaults["width"],
            int_rule(1),
            "filters of the first block",
            halve(low),
        ),
        Knob(
            "model.taper",
            TAPER,
            defaults["taper"],
            number_rule(0.05, 20.0),
            "filters multiply by this from one block to the next",
            cap(1.0),
        ),
        Knob(
            "model.kernel_size",
            Choice(kernel_sizes),
            defaults["kernel_size"],
            int_rule(1),
            "convolution window ('same' padding)",
        ),
        Knob(
            "model.pooling",
            Choice(POOLINGS),
            defaults["pooling"],
            one_of(POOLINGS),
            "pooling of size 2 after each block ('valid'), or none",
        ),
        Knob(
            "model.connection",
            Choice(CONNECTIONS),
            defaults["connection"],
            one_of(CONNECTIONS),
            "plain convolutions; residual (a skip connection around each convolution, with a "
            "1x1 projection when the filters change); separable (depthwise-separable "
            "convolutions after the first block)",
        ),
        Knob(
            "model.norm",
            Choice(NORMS),
            defaults["norm"],
            one_of(NORMS),
            "normalisation after each convolution (convolutions then have no bias)",
        ),
        Knob(
            "model.dropout",
            DROPOUT,
            defaults["dropout"],
            rate_rule(),
            "dropout rate after each block",
        ),
        Knob(
            "model.activation",
            Choice(SEARCHED_ACTIVATIONS),
            defaults["activation"],
            one_of(tuple(a for a in ACTIVATIONS if a != "none")),
            "activation function",
        ),
        Knob(
            "model.readout",
            Choice(READOUTS),
            defaults["readout"],
            one_of(READOUTS),
            "flatten the last feature map, or average it over positions (gap) before the head",
            prefer("gap"),
        ),
    )


def convnet_layers(rank: int) -> Builder:
    """Return the builder of a ``rank``-D convolutional stack (1: sequences, 2: images)."""

    def build(config: ModelConfig, shape: Shape) -> list[Layer]:
        del shape  # shape inference checks the result
        activation = activation_name(config.get_str("activation"))
        norm, connection = config.get_str("norm"), config.get_str("connection")
        kernel, rate = config.get_int("kernel_size"), config.get_float("dropout")
        widths = tapered(
            config.get_int("width"), config.get_float("taper"), config.get_int("depth")
        )
        layers: list[Layer] = []
        for index, filters in enumerate(widths):
            if connection == "residual":
                body = conv_unit(rank, filters, kernel, norm=norm, activation=None)
                layers.append(Residual(tuple(body), activation=activation))
            else:
                separable = connection == "separable" and index > 0
                layers += conv_unit(
                    rank, filters, kernel, norm=norm, activation=activation, separable=separable
                )
            layers += pooling(rank, config.get_str("pooling"))
            layers += dropout(rate)
        layers.append(Flatten() if config.get_str("readout") == "flatten" else GlobalAvgPool())
        return layers

    return build
