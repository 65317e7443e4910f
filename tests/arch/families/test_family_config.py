"""Configurations: unknown keys and bad values are errors that name them; the registry."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from archtune._errors import ConfigError
from archtune.arch import InvalidNetworkError, Network, estimate_cost
from archtune.arch.families import FAMILIES, get_family
from archtune.space import Space


def _build(name: str, config: Any, **kwargs: Any) -> Network:
    family = get_family(name)
    options: dict[str, Any] = {
        "input_shape": family.natural_input,
        "n_outputs": 10,
        "head_activation": "softmax",
    }
    options.update(kwargs)
    return family.build(config, **options)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_an_unknown_model_key_names_itself_and_the_allowed_ones(name: str) -> None:
    with pytest.raises(InvalidNetworkError) as info:
        _build(name, {"model.depth": 1, "model.widht": 8})
    message = str(info.value)
    assert info.value.path == "model.widht"
    assert f"is not a parameter of the {name!r} family" in message
    for key in get_family(name).default_space():
        assert key in message


def test_a_bad_value_names_the_key_and_what_it_must_be() -> None:
    with pytest.raises(InvalidNetworkError, match=r"model\.depth must be an integer >= 1, got 0"):
        _build("mlp", {"model.depth": 0})
    with pytest.raises(InvalidNetworkError, match=r"model\.pooling must be one of 'max', 'avg'"):
        _build("cnn2d", {"model.pooling": "median"})
    with pytest.raises(InvalidNetworkError, match=r"model\.dropout must be a number in \[0, 1\)"):
        _build("cnn1d", {"model.dropout": 1.0})
    with pytest.raises(InvalidNetworkError, match=r"model\.bidirectional must be one of"):
        _build("rnn", {"model.bidirectional": 1})  # 1 is not True
    with pytest.raises(InvalidNetworkError, match=r"model\.depth must be an integer"):
        _build("transformer", {"model.depth": True})


def test_values_outside_the_default_space_still_build() -> None:
    # The space is where the search looks; the builder takes any sensible value.
    net = _build("mlp", {"model.depth": 6, "model.width": 1000, "model.taper": 0.25})
    assert estimate_cost(net).params > 0


def test_a_config_that_is_not_a_mapping_is_an_error() -> None:
    with pytest.raises(InvalidNetworkError, match="must be a mapping"):
        _build("mlp", [("model.depth", 2)])


def test_bad_head_and_shape_are_errors() -> None:
    with pytest.raises(InvalidNetworkError, match="head_activation must be one of"):
        _build("mlp", {}, head_activation="relu")
    with pytest.raises(InvalidNetworkError, match=r"Head\.units"):
        _build("mlp", {}, n_outputs=0)
    with pytest.raises(InvalidNetworkError, match="input_shape"):
        _build("mlp", {}, input_shape=(0,))


def test_get_family_lists_the_names() -> None:
    with pytest.raises(ConfigError) as info:
        get_family("vgg")
    message = str(info.value)
    assert "'vgg'" in message
    for name in FAMILIES:
        assert repr(name) in message
    with pytest.raises(TypeError):
        FAMILIES["vgg"] = FAMILIES["mlp"]  # type: ignore[index]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_smaller_steps_get_cheaper_stay_in_the_space_and_end(name: str) -> None:
    family = get_family(name)
    space = Space.from_dict(family.default_space())
    config: dict[str, Any] | None = family.default_config()
    costs = []
    for _ in range(50):
        if config is None:
            break
        space.check_config(config)
        net = _build(name, config)
        costs.append(estimate_cost(net).params)
        config = family.smaller(config)
    assert config is None, "smaller() must reach a floor"
    assert len(costs) >= 3
    assert costs == sorted(costs, reverse=True)
    assert costs[-1] < costs[0]


def test_families_import_no_deep_learning_framework() -> None:
    code = (
        "import sys\n"
        "from archtune.arch.families import FAMILIES, choose_family\n"
        "choose_family((28, 28, 1), task='classification', max_params=10_000)\n"
        "print([m for m in ('torch', 'tensorflow', 'keras', 'jax') if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
