"""The analytic cost model: parameters, FLOPs and activation memory."""

from __future__ import annotations

import pytest

from archtune.arch import (
    GRU,
    LSTM,
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalMaxPool,
    Head,
    InfeasibleNetworkError,
    Layer,
    LayerNorm,
    MaxPool2D,
    Network,
    PositionEmbedding,
    Residual,
    TransformerBlock,
    builtin_network,
    count_params,
    estimate_cost,
)

REFERENCE_PARAMS = {
    "cnn-32-64-64": 93_322,
    "cnn-16-32-32": 23_626,
    "mlp-64-64": 5_514,
    "mlp-32-32": 1_738,
}


@pytest.mark.parametrize(("name", "expected"), REFERENCE_PARAMS.items())
def test_reference_parameter_counts(name: str, expected: int) -> None:
    assert count_params(builtin_network(name)) == expected


def test_cnn_costs_per_layer() -> None:
    cost = estimate_cost(builtin_network("cnn-32-64-64"))
    assert [row.params for row in cost.layers] == [320, 0, 18_496, 0, 36_928, 0, 36_928, 650]
    first = cost.layers[0]
    # 26*26 positions x 32 filters x 9 MACs x 2, plus one ReLU per output element.
    assert first.flops == 2 * 26 * 26 * 32 * 9 + 26 * 26 * 32
    assert first.activation_elements == 26 * 26 * 32
    assert first.activation_bytes == 4 * 26 * 26 * 32
    # A 2x2 max-pool reads 4 elements per output element.
    assert cost.layers[1].flops == 4 * 13 * 13 * 32
    assert cost.layers[5].flops == 0  # Flatten
    assert cost.layers[-1].kind == "head"
    assert cost.layers[-1].flops == 2 * 64 * 10  # logits: the softmax is not counted
    assert cost.flops == sum(row.flops for row in cost.layers)


def test_mlp_totals() -> None:
    cost = estimate_cost(builtin_network("mlp-64-64"))
    assert cost.params == 5_514
    assert cost.flops == (2 * 10 * 64 + 64) + (2 * 64 * 64 + 64) + 2 * 64 * 10
    assert cost.activation_elements == 64 + 64 + 10
    assert cost.activation_bytes == 4 * 138


def _single(layer: Layer, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    cost = estimate_cost(Network(input_shape, layers=(layer,), head=Head(1))).layers[0]
    return cost.params, cost.flops, cost.activation_elements


@pytest.mark.parametrize(
    ("layer", "input_shape", "expected"),
    [
        # params, FLOPs, activation elements
        (Dense(4, use_bias=False), (5, 3), (12, 2 * 5 * 3 * 4, 20)),
        (Conv1D(4, 3, activation="relu"), (10, 2), (28, 2 * 8 * 4 * 6 + 32, 32)),
        # depthwise 3*3*2 + pointwise 2*5 + bias 5; FLOPs on a 4x4 output.
        (Conv2D(5, 3, separable=True), (6, 6, 2), (33, 2 * 16 * (18 + 10), 80)),
        (Conv2D(5, 3, separable=True, use_bias=False), (6, 6, 2), (28, 2 * 16 * 28, 80)),
        (AvgPool2D(3, stride=1, padding="same"), (4, 4, 2), (0, 9 * 32, 32)),
        (GlobalMaxPool(), (4, 4, 2), (0, 32, 2)),
        (BatchNorm(), (4, 4, 6), (12, 2 * 96, 96)),
        (LayerNorm(), (7, 5), (10, 70, 35)),
        (Dropout(0.5), (7,), (0, 0, 7)),
        (Flatten(), (2, 3), (0, 0, 6)),
        (Activation("none"), (7,), (0, 0, 7)),
        (Activation("gelu"), (7,), (0, 7, 7)),
        # PyTorch's GRU: 3 gates x (input + recurrent weights + 2 biases).
        (GRU(4), (6, 3), (3 * (12 + 16 + 8), 6 * 2 * 3 * (12 + 16), 4)),
        (
            LSTM(4, bidirectional=True, return_sequences=True),
            (6, 3),
            (2 * 4 * (12 + 16 + 8), 2 * 6 * 2 * 4 * (12 + 16), 48),
        ),
        # attention 4d^2 + 4d, feed-forward 2*d*f + f + d, two norms 4d.
        (
            TransformerBlock(8, n_heads=2, d_ff=16),
            (5, 8),
            (
                4 * 64 + 32 + 2 * 8 * 16 + 16 + 8 + 32,
                2 * (5 * (4 * 64 + 2 * 8 * 16) + 2 * 25 * 8),
                40,
            ),
        ),
        (Embedding(100, dim=8), (5,), (800, 0, 40)),
        (PositionEmbedding(), (5, 8), (40, 40, 40)),
    ],
)
def test_layer_costs(
    layer: Layer, input_shape: tuple[int, ...], expected: tuple[int, int, int]
) -> None:
    assert _single(layer, input_shape) == expected


def test_residual_cost_includes_body_projection_and_sum() -> None:
    body = (Conv2D(4, 3, stride=2, padding="same"),)
    residual = Residual(body, activation="relu")
    params, flops, elements = _single(residual, (6, 6, 3))
    conv_params, conv_flops, conv_elements = _single(body[0], (6, 6, 3))
    out = 3 * 3 * 4
    # Projection: a strided 1x1 convolution 3 -> 4 channels with a bias.
    assert params == conv_params + 3 * 4 + 4
    assert flops == conv_flops + 2 * 9 * 3 * 4 + out + out  # projection, sum, ReLU
    assert elements == conv_elements + out + out  # projection output and sum


def test_identity_residual_has_no_projection() -> None:
    residual = Residual((Dense(3), Activation("relu")))
    params, flops, _ = _single(residual, (3,))
    assert params == 12
    assert flops == 2 * 9 + 3 + 3


def test_residual_cost_has_children() -> None:
    network = Network(
        (8, 8, 2),
        layers=(Residual((Conv2D(2, 3, padding="same"), MaxPool2D(2))),),
        head=Head(2),
    )
    block = estimate_cost(network).layers[0]
    assert [child.path for child in block.children] == [(0, 0), (0, 1)]
    assert block.params == sum(child.params for child in block.children) + 2 * 2 + 2


def test_infeasible_networks_have_no_cost() -> None:
    network = Network((2, 2, 1), layers=(Conv2D(4, 3),), head=Head(2))
    with pytest.raises(InfeasibleNetworkError):
        estimate_cost(network)
