"""The ``rnn`` family: stacked GRU or LSTM layers for sequences."""

from __future__ import annotations

from archtune.arch._layers import GRU, LSTM, GlobalAvgPool, GlobalMaxPool, Layer
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
from archtune.arch.families._blocks import dropout, norm_layers
from archtune.space import Choice, Float, Int

__all__ = ["RNN"]

_CELLS = ("gru", "lstm")
_NORMS = ("none", "layer")
_READOUTS = ("last", "mean", "max")


def _layers(config: ModelConfig, shape: Shape) -> list[Layer]:
    del shape  # shape inference checks the result
    cell = GRU if config.get_str("cell") == "gru" else LSTM
    readout, bidirectional = config.get_str("readout"), config.get_bool("bidirectional")
    widths = tapered(config.get_int("width"), config.get_float("taper"), config.get_int("depth"))
    layers: list[Layer] = []
    for index, units in enumerate(widths):
        sequences = index < len(widths) - 1 or readout != "last"
        layers.append(cell(units, bidirectional=bidirectional, return_sequences=sequences))
        layers += norm_layers(config.get_str("norm"))
        layers += dropout(config.get_float("dropout"))
    if readout == "mean":
        layers.append(GlobalAvgPool())
    elif readout == "max":
        layers.append(GlobalMaxPool())
    return layers


RNN = Family(
    name="rnn",
    summary=(
        "stacked GRU or LSTM layers of width * taper**i units (optionally bidirectional), each "
        "optionally followed by a layer norm and dropout; the last state, or the mean or "
        "maximum over positions, feeds the head"
    ),
    data="sequences",
    input_ranks=(2,),
    natural_input=(40, 1),
    natural_dataset="mnist1d",
    knobs=(
        Knob("model.cell", Choice(_CELLS), "gru", one_of(_CELLS), "recurrent cell", prefer("gru")),
        Knob("model.depth", Int(1, 3), 1, int_rule(1), "recurrent layers", decrement(1)),
        Knob(
            "model.width",
            Int(16, 256, log=True),
            64,
            int_rule(1),
            "units of the first recurrent layer (per direction)",
            halve(16),
        ),
        Knob(
            "model.taper",
            Float(0.5, 2.0, step=0.25),
            1.0,
            number_rule(0.05, 20.0),
            "units multiply by this from one layer to the next",
            cap(1.0),
        ),
        Knob(
            "model.bidirectional",
            Choice((False, True)),
            False,
            one_of((False, True)),
            "read the sequence both ways (twice the parameters)",
            prefer(False),
        ),
        Knob(
            "model.norm",
            Choice(_NORMS),
            "none",
            one_of(_NORMS),
            "layer norm after each recurrent layer",
        ),
        Knob(
            "model.dropout",
            Float(0.0, 0.5, step=0.05),
            0.0,
            rate_rule(),
            "dropout rate after each recurrent layer",
        ),
        Knob(
            "model.readout",
            Choice(_READOUTS),
            "last",
            one_of(_READOUTS),
            "what feeds the head: the last state of each direction, or the mean or maximum of "
            "the last layer's outputs over positions",
        ),
    ),
    layers=_layers,
    shrink_order=(
        "model.bidirectional",
        "model.cell",
        "model.taper",
        "model.width",
        "model.depth",
    ),
)
