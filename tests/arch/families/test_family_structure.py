"""What each family's knobs do to the network, and which configurations are infeasible."""

from __future__ import annotations

from typing import Any

import pytest

from archtune.arch import (
    GRU,
    LSTM,
    AvgPool2D,
    Conv1D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    InfeasibleNetworkError,
    Layer,
    LayerNorm,
    MaxPool1D,
    MaxPool2D,
    Network,
    PositionEmbedding,
    Residual,
    TransformerBlock,
    count_params,
    infer_shapes,
)
from archtune.arch.families import get_family, tapered


def _build(name: str, config: dict[str, Any], shape: tuple[int, ...] | None = None) -> Network:
    family = get_family(name)
    return family.build(
        config,
        input_shape=shape or family.natural_input,
        n_outputs=10,
        head_activation="softmax",
    )


def _walk(layers: tuple[Layer, ...]) -> list[Layer]:
    out: list[Layer] = []
    for layer in layers:
        out.append(layer)
        if isinstance(layer, Residual):
            out += _walk(layer.layers)
    return out


def _of(network: Network, kind: type[Layer]) -> list[Any]:
    return [layer for layer in _walk(network.layers) if isinstance(layer, kind)]


def test_tapered_rounds_half_up_and_stays_positive() -> None:
    assert tapered(32, 0.5, 4) == [32, 16, 8, 4]
    assert tapered(10, 1.25, 3) == [10, 13, 16]  # 12.5 -> 13, 15.625 -> 16
    assert tapered(3, 0.5, 4) == [3, 2, 1, 1]  # 1.5 -> 2, 0.75 -> 1, 0.375 -> at least 1
    assert tapered(8, 2.0, 1) == [8]


def test_mlp_widths_follow_the_taper() -> None:
    net = _build("mlp", {"model.depth": 3, "model.width": 100, "model.taper": 0.5})
    assert [d.units for d in _of(net, Dense)] == [100, 50, 25]
    assert all(d.activation == "relu" for d in _of(net, Dense))


def test_mlp_flattens_images_and_builds_residual_blocks() -> None:
    net = _build(
        "mlp",
        {"model.connection": "residual", "model.norm": "layer", "model.dropout": 0.0},
        shape=(8, 8, 1),
    )
    assert isinstance(net.layers[0], Flatten)
    blocks = [layer for layer in net.layers if isinstance(layer, Residual)]
    assert len(blocks) == 2
    assert [type(layer) for layer in blocks[0].layers] == [Dense, LayerNorm]
    assert blocks[0].activation == "relu"
    assert not _of(net, Dense)[0].use_bias  # the norm's shift replaces the bias


@pytest.mark.parametrize("name", ["cnn2d", "cnn1d"])
def test_conv_families_pool_after_every_block(name: str) -> None:
    net = _build(name, {"model.depth": 2, "model.width": 8, "model.taper": 2.0})
    conv = Conv2D if name == "cnn2d" else Conv1D
    pool = MaxPool2D if name == "cnn2d" else MaxPool1D
    assert [c.filters for c in _of(net, conv)] == [8, 16]
    assert all(c.padding == "same" for c in _of(net, conv))
    assert len(_of(net, pool)) == 2
    assert isinstance(net.layers[-1], Flatten)


def test_cnn2d_connections() -> None:
    residual = _build("cnn2d", {"model.connection": "residual", "model.depth": 3})
    assert sum(isinstance(layer, Residual) for layer in residual.layers) == 3
    separable = _build("cnn2d", {"model.connection": "separable", "model.depth": 3})
    assert [c.separable for c in _of(separable, Conv2D)] == [False, True, True]
    plain = _build("cnn2d", {"model.depth": 3})
    assert not _of(plain, Residual)
    assert count_params(separable) < count_params(plain)


def test_cnn2d_readout_pooling_and_no_norm() -> None:
    net = _build(
        "cnn2d",
        {"model.readout": "gap", "model.pooling": "avg", "model.norm": "none"},
    )
    assert isinstance(net.layers[-1], GlobalAvgPool)
    assert len(_of(net, AvgPool2D)) == 2
    convs = _of(net, Conv2D)
    assert all(c.use_bias and c.activation == "relu" for c in convs)


def test_too_many_pooling_stages_are_infeasible_at_build() -> None:
    # 8x8: 4 -> 2 -> 1, then a fourth 2x2 pooling has nothing left to pool.
    with pytest.raises(InfeasibleNetworkError) as info:
        _build("cnn2d", {"model.depth": 4}, shape=(8, 8, 1))
    assert info.value.kind == "max_pool2d"
    assert "pool_size 2 is larger than the input" in info.value.reason
    # Three stages fit the same input.
    infer_shapes(_build("cnn2d", {"model.depth": 3}, shape=(8, 8, 1)))
    with pytest.raises(InfeasibleNetworkError):
        _build("cnn1d", {"model.depth": 4}, shape=(8, 1))
    with pytest.raises(InfeasibleNetworkError):
        _build("resnet", {"model.depth": 4, "model.pooling": "max"}, shape=(4, 4, 1))


@pytest.mark.parametrize(
    ("name", "shape"), [("cnn2d", (40, 1)), ("cnn1d", (28, 28, 1)), ("rnn", (64,))]
)
def test_a_family_rejects_an_input_of_another_rank(name: str, shape: tuple[int, ...]) -> None:
    with pytest.raises(InfeasibleNetworkError, match=f"the '{name}' family takes") as info:
        _build(name, {}, shape=shape)
    assert info.value.path == "input"
    assert info.value.input_shape == shape


def test_resnet_stages_and_downsampling() -> None:
    net = _build("resnet", {"model.depth": 3, "model.blocks": 2})
    blocks = [layer for layer in net.layers if isinstance(layer, Residual)]
    assert len(blocks) == 6
    strides = [c.stride for c in _of(net, Conv2D)]
    assert strides.count(2) == 2  # the first block of the second and third stage
    assert infer_shapes(net)[-3] == (7, 7, 64)  # before the global pooling
    pooled = _build("resnet", {"model.pooling": "avg"})
    assert len(_of(pooled, AvgPool2D)) == 2
    assert all(c.stride == 1 for c in _of(pooled, Conv2D))


def test_resnet_bottleneck_and_separable_blocks() -> None:
    bottleneck = _build("resnet", {"model.connection": "bottleneck", "model.width": 32})
    block = next(layer for layer in bottleneck.layers if isinstance(layer, Residual))
    convs = [layer for layer in block.layers if isinstance(layer, Conv2D)]
    assert [(c.filters, c.kernel_size) for c in convs] == [(8, 1), (8, 3), (32, 1)]
    separable = _build("resnet", {"model.connection": "separable"})
    assert all(c.separable for c in _of(separable, Conv2D)[1:])  # not the stem
    assert not _of(separable, Conv2D)[0].separable


def test_rnn_stacks_cells_and_reads_out() -> None:
    net = _build(
        "rnn",
        {"model.cell": "lstm", "model.depth": 2, "model.bidirectional": True, "model.taper": 0.5},
    )
    cells = _of(net, LSTM)
    assert [(c.units, c.bidirectional, c.return_sequences) for c in cells] == [
        (64, True, True),
        (32, True, False),
    ]
    assert infer_shapes(net)[-2] == (64,)
    mean = _build("rnn", {"model.readout": "mean"})
    assert _of(mean, GRU)[0].return_sequences
    assert isinstance(mean.layers[-1], GlobalAvgPool)
    assert isinstance(_build("rnn", {"model.readout": "max"}).layers[-1], GlobalMaxPool)


def test_transformer_structure() -> None:
    net = _build("transformer", {})
    assert isinstance(net.layers[0], Conv1D)  # patches of 4 positions
    assert infer_shapes(net)[0] == (10, 64)
    assert isinstance(net.layers[1], PositionEmbedding)
    blocks = _of(net, TransformerBlock)
    assert [(b.d_model, b.n_heads, b.d_ff, b.norm_first) for b in blocks] == [
        (64, 4, 128, True)
    ] * 2
    assert isinstance(net.layers[-2], LayerNorm)  # pre-norm ends with a norm
    dense = _build(
        "transformer", {"model.patch": 1, "model.position": "none", "model.d_model": 32}
    )
    assert isinstance(dense.layers[0], Dense)
    assert infer_shapes(dense)[0] == (40, 32)
    assert not _of(dense, PositionEmbedding)


def test_transformer_infeasible_heads_and_patches() -> None:
    with pytest.raises(InfeasibleNetworkError, match="does not divide"):
        _build("transformer", {"model.d_model": 24, "model.heads": 16})
    with pytest.raises(InfeasibleNetworkError, match="larger than the input"):
        _build("transformer", {"model.patch": 4}, shape=(3, 2))
