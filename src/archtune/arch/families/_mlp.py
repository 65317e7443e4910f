"""The ``mlp`` family: a multilayer perceptron for tabular data (other inputs are flattened)."""

from __future__ import annotations

from archtune.arch._layers import ACTIVATIONS, Flatten, Layer, Residual
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
    prefer,
    rate_rule,
    tapered,
)
from archtune.arch.families._blocks import (
    SEARCHED_ACTIVATIONS,
    activation_name,
    dense_unit,
    dropout,
)
from archtune.space import Choice, Float, Int

__all__ = ["MLP"]

_CONNECTIONS = ("plain", "residual")
_NORMS = ("none", "batch", "layer")


def _layers(config: ModelConfig, shape: Shape) -> list[Layer]:
    activation = activation_name(config.get_str("activation"))
    norm, rate = config.get_str("norm"), config.get_float("dropout")
    widths = tapered(config.get_int("width"), config.get_float("taper"), config.get_int("depth"))
    layers: list[Layer] = [Flatten()] if len(shape) > 1 else []
    for units in widths:
        if config.get_str("connection") == "residual":
            body = dense_unit(units, norm=norm, activation=None)
            layers.append(Residual(tuple(body), activation=activation))
        else:
            layers += dense_unit(units, norm=norm, activation=activation)
        layers += dropout(rate)
    return layers


MLP = Family(
    name="mlp",
    summary=(
        "dense layers of width * taper**i units, each with its norm, activation and dropout "
        "(optionally inside a residual block); inputs of rank > 1 are flattened first"
    ),
    data="tabular data",
    input_ranks=(1, 2, 3),
    natural_input=(64,),
    natural_dataset="digits (flattened)",
    knobs=(
        Knob("model.depth", Int(1, 4), 2, int_rule(1), "hidden layers", decrement(1)),
        Knob(
            "model.width",
            Int(16, 512, log=True),
            128,
            int_rule(1),
            "units of the first hidden layer",
            halve(16),
        ),
        Knob(
            "model.taper",
            Float(0.5, 2.0, step=0.25),
            0.5,
            number_rule(0.05, 20.0),
            "units multiply by this from one hidden layer to the next",
            cap(1.0),
        ),
        Knob(
            "model.connection",
            Choice(_CONNECTIONS),
            "plain",
            one_of(_CONNECTIONS),
            "plain, or residual (a skip connection around each hidden layer, with a linear "
            "projection when the width changes)",
            prefer("plain"),
        ),
        Knob(
            "model.norm",
            Choice(_NORMS),
            "none",
            one_of(_NORMS),
            "normalisation after each dense layer (which then has no bias)",
        ),
        Knob(
            "model.dropout",
            Float(0.0, 0.5, step=0.05),
            0.1,
            rate_rule(),
            "dropout rate after each hidden layer",
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
    shrink_order=("model.connection", "model.taper", "model.width", "model.depth"),
)
