"""The ``transformer`` family: a small Transformer encoder for sequences."""

from __future__ import annotations

from typing import Literal, cast

from archtune.arch._layers import (
    Conv1D,
    Dense,
    GlobalAvgPool,
    GlobalMaxPool,
    Layer,
    LayerNorm,
    PositionEmbedding,
    TransformerBlock,
)
from archtune.arch._shapes import Shape
from archtune.arch.families._base import (
    Family,
    Knob,
    ModelConfig,
    decrement,
    int_rule,
    one_of,
    rate_rule,
    smaller_option,
)
from archtune.arch.families._blocks import dropout
from archtune.space import Choice, Float, Int

__all__ = ["TRANSFORMER"]

_D_MODELS = (16, 32, 64, 128)
_HEADS = (1, 2, 4, 8)
_FF_RATIOS = (1, 2, 4)
_PATCHES = (1, 2, 4)
_ACTIVATIONS = ("relu", "gelu")
_NORMS = ("pre", "post")
_POSITIONS = ("learned", "none")
_READOUTS = ("mean", "max")


def _layers(config: ModelConfig, shape: Shape) -> list[Layer]:
    del shape  # shape inference checks the result
    d_model, patch = config.get_int("d_model"), config.get_int("patch")
    rate = config.get_float("dropout")
    stem: Layer = (
        Dense(d_model) if patch == 1 else Conv1D(d_model, patch, stride=patch, padding="valid")
    )
    layers: list[Layer] = [stem]
    if config.get_str("position") == "learned":
        layers.append(PositionEmbedding())
    layers += dropout(rate)
    pre_norm = config.get_str("norm") == "pre"
    activation = cast(Literal["relu", "gelu"], config.get_str("activation"))
    for _ in range(config.get_int("depth")):
        layers.append(
            TransformerBlock(
                d_model,
                n_heads=config.get_int("heads"),
                d_ff=d_model * config.get_int("ff_ratio"),
                dropout=rate,
                activation=activation,
                norm_first=pre_norm,
            )
        )
    if pre_norm:
        layers.append(LayerNorm())
    layers.append(GlobalAvgPool() if config.get_str("readout") == "mean" else GlobalMaxPool())
    return layers


TRANSFORMER = Family(
    name="transformer",
    summary=(
        "a stem to d_model channels (a dense map per position, or a patching convolution), "
        "learned position embeddings, Transformer encoder blocks (a final layer norm when "
        "pre-norm), then mean or max pooling over positions and the head"
    ),
    data="sequences",
    input_ranks=(2,),
    natural_input=(40, 1),
    natural_dataset="mnist1d",
    knobs=(
        Knob("model.depth", Int(1, 4), 2, int_rule(1), "encoder blocks", decrement(1)),
        Knob(
            "model.d_model",
            Choice(_D_MODELS),
            64,
            int_rule(1),
            "width of every block",
            smaller_option(_D_MODELS),
        ),
        Knob(
            "model.heads",
            Choice(_HEADS),
            4,
            int_rule(1),
            "attention heads; must divide d_model",
        ),
        Knob(
            "model.ff_ratio",
            Choice(_FF_RATIOS),
            2,
            int_rule(1),
            "the feed-forward width is d_model times this",
            smaller_option(_FF_RATIOS),
        ),
        Knob(
            "model.patch",
            Choice(_PATCHES),
            4,
            int_rule(1),
            "positions per token: 1 is a dense stem; p > 1 a convolution of kernel and stride p "
            "('valid'), which shortens the sequence p times",
        ),
        Knob(
            "model.dropout",
            Float(0.0, 0.3, step=0.05),
            0.1,
            rate_rule(),
            "dropout after the stem and inside every block",
        ),
        Knob(
            "model.activation",
            Choice(_ACTIVATIONS),
            "gelu",
            one_of(_ACTIVATIONS),
            "feed-forward activation",
        ),
        Knob(
            "model.norm",
            Choice(_NORMS),
            "pre",
            one_of(_NORMS),
            "layer norm before (pre) or after (post) each sub-layer",
        ),
        Knob(
            "model.position",
            Choice(_POSITIONS),
            "learned",
            one_of(_POSITIONS),
            "a learned embedding per position, added after the stem, or none",
        ),
        Knob(
            "model.readout",
            Choice(_READOUTS),
            "mean",
            one_of(_READOUTS),
            "mean or maximum over positions before the head",
        ),
    ),
    layers=_layers,
    shrink_order=("model.ff_ratio", "model.d_model", "model.depth"),
)
