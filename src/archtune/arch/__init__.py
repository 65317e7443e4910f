"""The framework-neutral description of a network, its shapes and its cost.

A :class:`Network` is an input shape, a sequence of layers and an output :class:`Head`, all
frozen dataclasses that round-trip through JSON-able dicts (``to_dict`` / ``from_dict``).
Shapes are channels-last, without the batch axis, as in Keras. Backends
(:mod:`archtune.backends`) build framework models from it; this package imports no
deep-learning framework.

Example:
    >>> from archtune.arch import Conv2D, Dense, Flatten, Head, MaxPool2D, Network, summarize
    >>> net = Network(
    ...     (28, 28, 1),
    ...     layers=(Conv2D(8, 3, activation="relu"), MaxPool2D(2), Flatten(), Dense(32)),
    ...     head=Head(10),
    ... )
    >>> summarize(net).params
    43706
"""

from __future__ import annotations

from archtune.arch._builtin import builtin_network, list_builtin_networks
from archtune.arch._cost import (
    BYTES_PER_ELEMENT,
    LayerCost,
    NetworkCost,
    count_params,
    estimate_cost,
)
from archtune.arch._errors import InfeasibleNetworkError, InvalidNetworkError
from archtune.arch._layers import (
    ACTIVATIONS,
    GRU,
    LSTM,
    PADDINGS,
    Activation,
    ActivationName,
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
    Layer,
    LayerNorm,
    MaxPool1D,
    MaxPool2D,
    Padding,
    Pool,
    PositionEmbedding,
    Recurrent,
    Residual,
    TransformerBlock,
    layer_from_dict,
    layer_kinds,
)
from archtune.arch._network import HEAD_ACTIVATIONS, Head, HeadActivation, Network
from archtune.arch._shapes import (
    Shape,
    Window,
    axes,
    head_output_shape,
    infer_output_shape,
    infer_shapes,
    layer_output_shape,
    residual_projection,
    window,
)
from archtune.arch._summary import NetworkSummary, SummaryRow, describe_layer, summarize
from archtune.arch.families import FAMILIES, Family, FamilyChoice, choose_family, get_family

__all__ = [
    "ACTIVATIONS",
    "BYTES_PER_ELEMENT",
    "FAMILIES",
    "GRU",
    "HEAD_ACTIVATIONS",
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
    "Family",
    "FamilyChoice",
    "Flatten",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "Head",
    "HeadActivation",
    "InfeasibleNetworkError",
    "InvalidNetworkError",
    "Layer",
    "LayerCost",
    "LayerNorm",
    "MaxPool1D",
    "MaxPool2D",
    "Network",
    "NetworkCost",
    "NetworkSummary",
    "Padding",
    "Pool",
    "PositionEmbedding",
    "Recurrent",
    "Residual",
    "Shape",
    "SummaryRow",
    "TransformerBlock",
    "Window",
    "axes",
    "builtin_network",
    "choose_family",
    "count_params",
    "describe_layer",
    "estimate_cost",
    "get_family",
    "head_output_shape",
    "infer_output_shape",
    "infer_shapes",
    "layer_from_dict",
    "layer_kinds",
    "layer_output_shape",
    "list_builtin_networks",
    "residual_projection",
    "summarize",
    "window",
]
