"""Layer and network descriptions: field checks at the door and the dict round trip."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings

from archtune._errors import ArchtuneError, ConfigError
from archtune.arch import (
    GRU,
    LSTM,
    Activation,
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
    Head,
    InvalidNetworkError,
    Layer,
    LayerNorm,
    MaxPool1D,
    MaxPool2D,
    Network,
    PositionEmbedding,
    Residual,
    TransformerBlock,
    builtin_network,
    layer_from_dict,
    layer_kinds,
    list_builtin_networks,
)
from archtune.testing._strategies import networks

ONE_OF_EACH: tuple[Layer, ...] = (
    Dense(4, activation="gelu", use_bias=False),
    Conv1D(3, 2, stride=2, padding="same", separable=True, activation="swish"),
    Conv2D(3, (1, 3), stride=(2, 1), padding="same", activation="tanh"),
    MaxPool1D(2),
    MaxPool2D((2, 3), stride=1, padding="same"),
    AvgPool1D(3, stride=2),
    AvgPool2D(2),
    GlobalAvgPool(),
    GlobalMaxPool(),
    Flatten(),
    Dropout(0.25),
    BatchNorm(),
    LayerNorm(),
    Activation("sigmoid"),
    Residual((Dense(2), Residual((Activation("relu"),))), activation="relu"),
    GRU(3, bidirectional=True, return_sequences=True),
    LSTM(2),
    TransformerBlock(8, n_heads=2, d_ff=16, dropout=0.1, activation="gelu", norm_first=True),
    Embedding(100, dim=8),
    PositionEmbedding(),
)


def test_one_of_each_covers_every_kind() -> None:
    assert sorted({layer.kind for layer in ONE_OF_EACH}) == sorted(layer_kinds())


@pytest.mark.parametrize("layer", ONE_OF_EACH, ids=lambda layer: layer.kind)
def test_layer_round_trips_through_json(layer: Layer) -> None:
    data = json.loads(json.dumps(layer.to_dict()))
    assert data["kind"] == layer.kind
    rebuilt = layer_from_dict(data)
    assert rebuilt == layer
    assert type(rebuilt) is type(layer)


@pytest.mark.parametrize("name", list_builtin_networks())
def test_builtin_network_round_trips_through_json(name: str) -> None:
    network = builtin_network(name)
    assert Network.from_dict(json.loads(json.dumps(network.to_dict()))) == network


def test_network_to_dict_is_plain_data() -> None:
    network = Network((4, 3), layers=(Conv1D(2, 3, padding="same"),), head=Head(2), name="n")
    assert network.to_dict() == {
        "name": "n",
        "input_shape": [4, 3],
        "layers": [
            {
                "kind": "conv1d",
                "filters": 2,
                "kernel_size": 3,
                "stride": 1,
                "padding": "same",
                "separable": False,
                "activation": "none",
                "use_bias": True,
            }
        ],
        "head": {"units": 2, "activation": "softmax"},
    }


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(networks())
def test_random_networks_round_trip_through_json(network: Network) -> None:
    text = json.dumps(network.to_dict())
    assert Network.from_dict(json.loads(text)) == network


def test_missing_fields_take_their_defaults() -> None:
    assert layer_from_dict({"kind": "conv2d", "filters": 8}) == Conv2D(8)


def test_list_layers_and_shape_become_tuples() -> None:
    network = Network([3], layers=[Dense(2)], head=Head(1))  # type: ignore[arg-type]
    assert network.input_shape == (3,)
    assert network.layers == (Dense(2),)
    assert hash(network) == hash(Network((3,), layers=(Dense(2),), head=Head(1)))


@pytest.mark.parametrize(
    ("make", "path", "fragment"),
    [
        (lambda: Dense(0), "Dense.units", "must be an integer >= 1, got 0"),
        (lambda: Dense(True), "Dense.units", "got True"),
        (lambda: Dense(4, activation="softmax"), "Dense.activation", "'relu'"),
        (lambda: Conv2D(8, (3, 0)), "Conv2D.kernel_size", "a pair of them"),
        (lambda: Conv2D(8, (3, 3, 3)), "Conv2D.kernel_size", "(3, 3, 3)"),
        (lambda: Conv1D(8, (3, 3)), "Conv1D.kernel_size", "an integer >= 1"),
        (lambda: Conv1D(8, padding="full"), "Conv1D.padding", "'valid', 'same'"),
        (lambda: MaxPool2D(2, stride=0), "MaxPool2D.stride", "got 0"),
        (lambda: AvgPool1D((2, 2)), "AvgPool1D.pool_size", "an integer >= 1"),
        (lambda: Dropout(1.0), "Dropout.rate", "a number in [0, 1)"),
        (lambda: Residual(()), "Residual.layers", "non-empty"),
        (lambda: Residual((Embedding(3, dim=2),)), "Residual.layers[0]", "other than Embedding"),
        (lambda: GRU(4, bidirectional=1), "GRU.bidirectional", "true or false"),
        (lambda: TransformerBlock(8, n_heads=0, d_ff=8), "TransformerBlock.n_heads", ">= 1"),
        (
            lambda: TransformerBlock(8, n_heads=2, d_ff=8, activation="tanh"),
            "activation",
            "'gelu'",
        ),
        (lambda: Embedding(10, dim=-1), "Embedding.dim", "got -1"),
        (lambda: Head(0), "Head.units", "got 0"),
        (lambda: Head(3, activation="relu"), "Head.activation", "'softmax'"),
        (lambda: Network((), layers=(), head=Head(1)), "Network.input_shape", "non-empty"),
        (lambda: Network((3, 0), layers=(), head=Head(1)), "Network.input_shape", "(3, 0)"),
        (lambda: Network((3,), layers=("dense",), head=Head(1)), "Network.layers[0]", "'dense'"),
    ],
)
def test_malformed_fields_are_rejected_at_the_door(make: Any, path: str, fragment: str) -> None:
    with pytest.raises(InvalidNetworkError) as info:
        make()
    assert path in info.value.path
    assert fragment in str(info.value)
    assert isinstance(info.value, ConfigError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("data", "path", "fragment"),
    [
        ({"kind": "dense"}, "layers[0]", "misses required keys ['units']"),
        ({"kind": "dense", "units": 3, "unit": 4}, "layers[0]", "unknown keys ['unit']"),
        ({"kind": "densse", "units": 3}, "layers[0].kind", "'dense'"),
        ({"units": 3}, "layers[0].kind", "got None"),
        ({"kind": "dense", "units": 0}, "layers[0]: Dense.units", "got 0"),
        (
            {"kind": "residual", "layers": [{"kind": "dense", "units": 1}, {"kind": "x"}]},
            "layers[0].layers[1].kind",
            "got 'x'",
        ),
        ("dense", "layers[0]", "must be a mapping"),
    ],
)
def test_from_dict_names_the_path_of_a_bad_layer(data: Any, path: str, fragment: str) -> None:
    network = {"input_shape": [3], "layers": [data], "head": {"units": 2}}
    with pytest.raises(InvalidNetworkError) as info:
        Network.from_dict(network)
    assert info.value.path.startswith(f"network.{path}")
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"input_shape": [3], "layers": [], "head": {"units": 2}, "extra": 1}, "['extra']"),
        ({"input_shape": [3], "layers": []}, "['head']"),
        ({"input_shape": [3], "layers": {}, "head": {"units": 2}}, "must be a list"),
        ({"input_shape": [3], "layers": [], "head": {"unit": 2}}, "must have 'units'"),
        (
            {"input_shape": [3], "layers": [], "head": {"units": 2, "activation": "x"}},
            "network.head: Head.activation must be one of",
        ),
        ({"input_shape": 3, "layers": [], "head": {"units": 2}}, "got 3"),
    ],
)
def test_network_from_dict_rejects_bad_documents(data: Any, fragment: str) -> None:
    with pytest.raises(InvalidNetworkError) as info:
        Network.from_dict(data)
    assert fragment in str(info.value)


def test_invalid_network_error_survives_pickling() -> None:
    with pytest.raises(InvalidNetworkError) as info:
        Dense(0)
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.path, copy.reason, str(copy)) == (
        info.value.path,
        info.value.reason,
        str(info.value),
    )
    assert isinstance(copy, ArchtuneError)


def test_takes_token_ids() -> None:
    tokens = Network((5,), layers=(Embedding(10, dim=4),), head=Head(2))
    assert tokens.takes_token_ids
    assert not builtin_network("mlp-32-32").takes_token_ids
