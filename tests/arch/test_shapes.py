"""Shape inference: outputs of feasible networks and clear errors for infeasible ones."""

from __future__ import annotations

import pickle

import pytest

from archtune._errors import ArchtuneError
from archtune.arch import (
    GRU,
    LSTM,
    Activation,
    AvgPool1D,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Embedding,
    Flatten,
    GlobalAvgPool,
    Head,
    InfeasibleNetworkError,
    Layer,
    MaxPool2D,
    Network,
    PositionEmbedding,
    Residual,
    TransformerBlock,
    Window,
    builtin_network,
    infer_output_shape,
    infer_shapes,
    layer_output_shape,
    residual_projection,
    window,
)


def _net(input_shape: tuple[int, ...], *layers: Layer) -> Network:
    return Network(input_shape, layers=layers, head=Head(3))


def test_reference_cnn_shapes() -> None:
    assert infer_shapes(builtin_network("cnn-32-64-64")) == (
        (26, 26, 32),
        (13, 13, 32),
        (11, 11, 64),
        (5, 5, 64),
        (3, 3, 64),
        (576,),
        (64,),
        (10,),
    )


@pytest.mark.parametrize(
    ("length", "kernel", "stride", "padding", "expected"),
    [
        (28, 3, 1, "valid", Window(26, 0, 0)),
        (5, 2, 2, "valid", Window(2, 0, 0)),
        (7, 3, 2, "same", Window(4, 1, 1)),
        (6, 2, 1, "same", Window(6, 0, 1)),
        (6, 4, 2, "same", Window(3, 1, 1)),
        (5, 1, 3, "same", Window(2, 0, 0)),
        (2, 3, 1, "valid", Window(0, 0, 0)),
    ],
)
def test_window_follows_keras(
    length: int, kernel: int, stride: int, padding: str, expected: Window
) -> None:
    assert window(length, kernel=kernel, stride=stride, padding=padding) == expected


@pytest.mark.parametrize(
    ("layer", "input_shape", "expected"),
    [
        (Dense(5), (4, 3), (4, 5)),
        (Conv2D(8, (3, 1), stride=(1, 2), padding="valid"), (5, 5, 2), (3, 3, 8)),
        (Conv2D(8, 3, stride=2, padding="same", separable=True), (7, 8, 2), (4, 4, 8)),
        (Conv1D(4, 5, padding="same"), (9, 2), (9, 4)),
        (MaxPool2D(2), (5, 7, 3), (2, 3, 3)),
        (MaxPool2D(3, stride=1, padding="same"), (5, 7, 3), (5, 7, 3)),
        (AvgPool1D(2, padding="same"), (5, 3), (3, 3)),
        (GlobalAvgPool(), (4, 4, 6), (6,)),
        (Flatten(), (2, 3, 4), (24,)),
        (BatchNorm(), (2, 3), (2, 3)),
        (GRU(4), (7, 3), (4,)),
        (LSTM(4, bidirectional=True, return_sequences=True), (7, 3), (7, 8)),
        (TransformerBlock(8, n_heads=4, d_ff=16), (5, 8), (5, 8)),
        (PositionEmbedding(), (5, 8), (5, 8)),
        (Residual((Conv2D(6, 3, stride=2, padding="same"),)), (8, 7, 3), (4, 4, 6)),
        (Residual((Dense(4), Activation("relu"))), (3,), (4,)),
    ],
)
def test_layer_output_shape(
    layer: Layer, input_shape: tuple[int, ...], expected: tuple[int, ...]
) -> None:
    assert layer_output_shape(layer, input_shape) == expected


def test_embedding_reads_token_ids() -> None:
    network = _net((6,), Embedding(50, dim=4), TransformerBlock(4, n_heads=2, d_ff=8))
    assert infer_shapes(network) == ((6, 4), (6, 4), (6, 3))
    assert infer_output_shape(network) == (6, 3)


@pytest.mark.parametrize(
    ("network", "path", "kind", "input_shape", "fragments"),
    [
        (
            _net((28, 28, 1), *[Conv2D(4, 3, padding="same"), MaxPool2D(2)] * 5),
            "layers[9]",
            "max_pool2d",
            (1, 1, 4),
            ["pool_size 2 is larger than the input (1, 1)", "below 1", "padding='same'"],
        ),
        (
            _net((5, 5, 3), Conv2D(4, 7)),
            "layers[0]",
            "conv2d",
            (5, 5, 3),
            ["kernel_size 7 is larger than the input (5, 5) with padding 'valid'"],
        ),
        (
            _net((4, 2), Conv1D(4, 5)),
            "layers[0]",
            "conv1d",
            (4, 2),
            ["kernel_size 5 is larger than the input 4"],
        ),
        (
            _net((6, 6, 3), Residual((Conv2D(4, 3),))),
            "layers[0]",
            "residual",
            (6, 6, 3),
            ["no stride maps axis 0 of length 6 to the body's 4", "(4, 4, 4)"],
        ),
        (
            _net((8, 8, 3), Residual((Flatten(),))),
            "layers[0]",
            "residual",
            (8, 8, 3),
            ["another rank"],
        ),
        (
            _net((6, 3), Residual((Conv1D(3, 3, padding="same"), Conv1D(3, 9)))),
            "layers[0].layers[1]",
            "conv1d",
            (6, 3),
            ["kernel_size 9"],
        ),
        (
            _net((5, 8), TransformerBlock(8, n_heads=3, d_ff=16)),
            "layers[0]",
            "transformer_block",
            (5, 8),
            ["n_heads=3 does not divide d_model=8"],
        ),
        (
            _net((5, 6), TransformerBlock(8, n_heads=2, d_ff=16)),
            "layers[0]",
            "transformer_block",
            (5, 6),
            ["input width 6 is not d_model=8", "Dense(8)"],
        ),
        (
            _net((5,), Dense(3), Embedding(10, dim=4)),
            "layers[1]",
            "embedding",
            (3,),
            ["must be the network's first layer"],
        ),
        (
            _net((5, 2), Embedding(10, dim=4)),
            "layers[0]",
            "embedding",
            (5, 2),
            ["token ids of shape (length,)"],
        ),
        (
            _net((10,), Conv2D(4, 3)),
            "layers[0]",
            "conv2d",
            (10,),
            ["rank 3 (height, width, channels), got rank 1"],
        ),
        (_net((10,), GRU(4)), "layers[0]", "gru", (10,), ["rank 2 (length, channels)"]),
        (_net((10,), GlobalAvgPool()), "layers[0]", "global_avg_pool", (10,), ["spatial"]),
        (_net((10,), PositionEmbedding()), "layers[0]", "position_embedding", (10,), ["rank 2"]),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_infeasible_networks_name_layer_kind_shape_and_reason(
    network: Network,
    path: str,
    kind: str,
    input_shape: tuple[int, ...],
    fragments: list[str],
) -> None:
    with pytest.raises(InfeasibleNetworkError) as info:
        infer_shapes(network)
    error = info.value
    assert (error.path, error.kind, error.input_shape) == (path, kind, input_shape)
    message = str(error)
    assert message.startswith(f"{path} ({kind}) with input shape {input_shape}: ")
    for fragment in fragments:
        assert fragment in message
    assert isinstance(error, ArchtuneError)
    assert isinstance(error, ValueError)


def test_infeasible_error_survives_pickling() -> None:
    with pytest.raises(InfeasibleNetworkError) as info:
        infer_shapes(_net((2, 2, 1), Conv2D(4, 3)))
    copy = pickle.loads(pickle.dumps(info.value))
    assert str(copy) == str(info.value)
    assert (copy.path, copy.kind, copy.input_shape, copy.reason) == (
        "layers[0]",
        "conv2d",
        (2, 2, 1),
        info.value.reason,
    )


@pytest.mark.parametrize(
    ("input_shape", "output_shape", "expected"),
    [
        ((4, 4, 3), (4, 4, 3), None),
        ((4, 4, 3), (4, 4, 8), (1, 1)),
        ((7, 8, 3), (4, 4, 8), (2, 2)),
        ((9, 4, 3), (3, 4, 3), (3, 1)),
        ((6,), (3,), ()),
        ((10, 2), (4, 2), (3,)),
    ],
)
def test_residual_projection_strides(
    input_shape: tuple[int, ...],
    output_shape: tuple[int, ...],
    expected: tuple[int, ...] | None,
) -> None:
    assert residual_projection(input_shape, output_shape) == expected


@pytest.mark.parametrize(
    ("input_shape", "output_shape"),
    [((4, 4, 3), (5, 4, 3)), ((26, 3), (12, 3)), ((4, 3), (12,))],
)
def test_residual_projection_rejects_unreachable_shapes(
    input_shape: tuple[int, ...], output_shape: tuple[int, ...]
) -> None:
    with pytest.raises(InfeasibleNetworkError, match="residual"):
        residual_projection(input_shape, output_shape)
