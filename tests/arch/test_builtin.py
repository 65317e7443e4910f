"""The built-in reference networks and their registry."""

from __future__ import annotations

import pytest

from archtune._errors import ConfigError
from archtune.arch import (
    Conv2D,
    Dense,
    Flatten,
    Head,
    MaxPool2D,
    builtin_network,
    list_builtin_networks,
)


def test_list_builtin_networks() -> None:
    assert list_builtin_networks() == ["cnn-32-64-64", "cnn-16-32-32", "mlp-64-64", "mlp-32-32"]


def test_cnn_structure_matches_the_issue() -> None:
    network = builtin_network("cnn-16-32-32")
    assert network.name == "cnn-16-32-32"
    assert network.input_shape == (28, 28, 1)
    assert network.layers == (
        Conv2D(16, 3, activation="relu"),
        MaxPool2D(2),
        Conv2D(32, 3, activation="relu"),
        MaxPool2D(2),
        Conv2D(32, 3, activation="relu"),
        Flatten(),
        Dense(32, activation="relu"),
    )
    assert network.head == Head(10, activation="softmax")


def test_mlp_structure() -> None:
    network = builtin_network("mlp-64-64")
    assert network.input_shape == (10,)
    assert network.layers == (Dense(64, activation="relu"), Dense(64, activation="relu"))
    assert network.head == Head(10)


def test_each_call_returns_an_equal_network() -> None:
    assert builtin_network("mlp-32-32") == builtin_network("mlp-32-32")


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        builtin_network("cnn-32-64")
    message = str(info.value)
    assert "got 'cnn-32-64'" in message
    for name in list_builtin_networks():
        assert repr(name) in message
