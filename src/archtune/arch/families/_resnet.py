"""The ``resnet`` family: a residual 2-D CNN (stem, stages of residual blocks, global pooling)."""

from __future__ import annotations

from archtune.arch._layers import ACTIVATIONS, ActivationName, GlobalAvgPool, Layer, Residual
from archtune.arch._shapes import Shape
from archtune.arch.families._base import (
    Family,
    Knob,
    ModelConfig,
    cap,
    decrement,
    halve,
    int_rule,
    number_rule,
    one_of,
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
from archtune.space import Choice, Float, Int

__all__ = ["RESNET"]

_CONNECTIONS = ("residual", "bottleneck", "separable")
_DOWNSAMPLING = ("stride", "max", "avg")
_NORMS = ("batch", "layer", "none")


def _block(
    connection: str,
    filters: int,
    kernel: int,
    *,
    stride: int,
    norm: str,
    activation: ActivationName,
) -> Residual:
    """One residual block; the sum is followed by ``activation``."""
    if connection == "bottleneck":
        mid = tapered(filters, 0.25, 2)[1]
        body = [
            *conv_unit(2, mid, 1, norm=norm, activation=activation),
            *conv_unit(2, mid, kernel, stride=stride, norm=norm, activation=activation),
            *conv_unit(2, filters, 1, norm=norm, activation=None),
        ]
    else:
        separable = connection == "separable"
        body = [
            *conv_unit(
                2,
                filters,
                kernel,
                stride=stride,
                norm=norm,
                activation=activation,
                separable=separable,
            ),
            *conv_unit(2, filters, kernel, norm=norm, activation=None, separable=separable),
        ]
    return Residual(tuple(body), activation=activation)


def _layers(config: ModelConfig, shape: Shape) -> list[Layer]:
    del shape  # shape inference checks the result
    activation = activation_name(config.get_str("activation"))
    norm, kernel = config.get_str("norm"), config.get_int("kernel_size")
    downsampling, connection = config.get_str("pooling"), config.get_str("connection")
    widths = tapered(config.get_int("width"), config.get_float("taper"), config.get_int("depth"))
    layers: list[Layer] = conv_unit(2, widths[0], kernel, norm=norm, activation=activation)
    for stage, filters in enumerate(widths):
        for index in range(config.get_int("blocks")):
            stride = 1
            if stage > 0 and index == 0:
                if downsampling == "stride":
                    stride = 2
                else:
                    layers += pooling(2, downsampling)
            layers.append(
                _block(
                    connection, filters, kernel, stride=stride, norm=norm, activation=activation
                )
            )
    return [*layers, GlobalAvgPool(), *dropout(config.get_float("dropout"))]


RESNET = Family(
    name="resnet",
    summary=(
        "a convolutional stem, then stages of residual blocks (two convolutions, or a 1x1-kxk-1x1 "
        "bottleneck) whose first block halves the resolution from the second stage on, then "
        "global average pooling, dropout and the head"
    ),
    data="images",
    input_ranks=(3,),
    natural_input=(28, 28, 1),
    natural_dataset="mnist-sample",
    knobs=(
        Knob(
            "model.depth",
            Int(1, 4),
            3,
            int_rule(1),
            "stages; each after the first halves the resolution",
            decrement(1),
        ),
        Knob("model.blocks", Int(1, 3), 1, int_rule(1), "residual blocks per stage", decrement(1)),
        Knob(
            "model.width",
            Int(8, 64, log=True),
            16,
            int_rule(1),
            "filters of the stem and the first stage",
            halve(8),
        ),
        Knob(
            "model.taper",
            Float(0.5, 2.0, step=0.25),
            2.0,
            number_rule(0.05, 20.0),
            "filters multiply by this from one stage to the next",
            cap(1.0),
        ),
        Knob(
            "model.kernel_size",
            Choice((3, 5)),
            3,
            int_rule(1),
            "convolution window ('same' padding)",
        ),
        Knob(
            "model.pooling",
            Choice(_DOWNSAMPLING),
            "stride",
            one_of(_DOWNSAMPLING),
            "how a stage halves the resolution: a stride-2 first convolution, or a 2x2 max or "
            "average pooling ('valid') before it",
        ),
        Knob(
            "model.connection",
            Choice(_CONNECTIONS),
            "residual",
            one_of(_CONNECTIONS),
            "the block: residual (two kxk convolutions), bottleneck (1x1 to a quarter of the "
            "filters, kxk, 1x1 back) or separable (two depthwise-separable kxk convolutions); "
            "the shortcut is a 1x1 projection when the shape changes",
        ),
        Knob(
            "model.norm",
            Choice(_NORMS),
            "batch",
            one_of(_NORMS),
            "normalisation after each convolution (convolutions then have no bias)",
        ),
        Knob(
            "model.dropout",
            Float(0.0, 0.5, step=0.05),
            0.0,
            rate_rule(),
            "dropout rate before the head",
        ),
        Knob(
            "model.activation",
            Choice(SEARCHED_ACTIVATIONS),
            "relu",
            one_of(tuple(a for a in ACTIVATIONS if a != "none")),
            "activation function",
        ),
    ),
    layers=_layers,
    shrink_order=("model.taper", "model.width", "model.blocks", "model.depth"),
)
