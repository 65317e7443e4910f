"""``choose_family``: the family from the data's shape, a budget met, and a reason given."""

from __future__ import annotations

import pytest

from archtune._errors import ConfigError
from archtune.arch import estimate_cost
from archtune.arch.families import FamilyChoice, choose_family
from archtune.space import Space


def _check_consistent(choice: FamilyChoice, shape: tuple[int, ...], n_outputs: int) -> None:
    """The chosen config lies in the family's space and costs what the choice says."""
    Space.from_dict(choice.family.default_space()).check_config(choice.config)
    network = choice.family.build(
        choice.config, input_shape=shape, n_outputs=n_outputs, head_activation="softmax"
    )
    cost = estimate_cost(network)
    assert (cost.params, cost.flops) == (choice.params, choice.flops)


def test_small_images_get_cnn2d_with_its_default() -> None:
    choice = choose_family((28, 28, 1), task="classification")
    assert choice.family.name == "cnn2d"
    assert choice.config == choice.family.default_config()
    assert choice.params == 50_282
    assert "image" in choice.reason
    assert "resnet" in choice.reason  # says why not the other image family
    assert "50,282 parameters" in choice.reason
    _check_consistent(choice, (28, 28, 1), 10)


def test_larger_images_get_resnet_when_it_fits() -> None:
    choice = choose_family((64, 64, 3), task="classification", n_outputs=100)
    assert choice.family.name == "resnet"
    assert "at least 32 pixels" in choice.reason
    _check_consistent(choice, (64, 64, 3), 100)


def test_larger_images_under_a_budget_get_a_shrunk_network() -> None:
    choice = choose_family((64, 64, 3), task="classification", max_params=20_000)
    assert choice.params <= 20_000
    assert choice.family.name in ("resnet", "cnn2d")
    assert "resnet's default configuration has 77,946 parameters, over max_params=20,000" in (
        choice.reason
    )
    assert "shrunk from its default configuration" in choice.reason
    assert "within max_params=20,000" in choice.reason
    _check_consistent(choice, (64, 64, 3), 10)


def test_a_budget_can_pick_the_next_family() -> None:
    # On 32x32x3, resnet's default has 77,946 parameters and cnn2d's 60,458.
    choice = choose_family((32, 32, 3), task="classification", max_params=70_000)
    assert choice.family.name == "cnn2d"
    assert choice.config == choice.family.default_config()
    assert "resnet's default configuration has 77,946 parameters, over" in choice.reason
    assert "Chose cnn2d: its default configuration has 60,458 parameters" in choice.reason
    _check_consistent(choice, (32, 32, 3), 10)


def test_a_flops_budget_shrinks_the_preferred_family() -> None:
    choice = choose_family((32, 32, 3), task="classification", max_flops=5_000_000)
    assert choice.family.name == "resnet"
    assert choice.flops <= 5_000_000
    assert "cnn2d's default configuration has 11,485,184 FLOPs, over" in choice.reason
    assert "within max_flops=5,000,000" in choice.reason
    _check_consistent(choice, (32, 32, 3), 10)


def test_sequences_get_cnn1d_and_the_reason_names_the_alternatives() -> None:
    choice = choose_family((40, 1), task="classification")
    assert choice.family.name == "cnn1d"
    assert choice.config == choice.family.default_config()
    for word in ("sequence", "rnn", "transformer"):
        assert word in choice.reason
    _check_consistent(choice, (40, 1), 10)


def test_sequences_under_a_tight_budget_are_shrunk() -> None:
    choice = choose_family((40, 1), task="classification", max_params=2_000)
    assert choice.family.name == "cnn1d"
    assert choice.params <= 2_000
    assert "model.width 32 -> 8" in choice.reason
    _check_consistent(choice, (40, 1), 10)


def test_tabular_gets_mlp_and_regression_has_one_output() -> None:
    choice = choose_family((13,), task="regression")
    assert choice.family.name == "mlp"
    assert "tabular" in choice.reason
    # 13 -> 128 -> 64 -> 1
    assert choice.params == 13 * 128 + 128 + 128 * 64 + 64 + 64 + 1
    small = choose_family((13,), task="classification", n_outputs=3, max_params=1_000)
    assert small.family.name == "mlp"
    assert small.params <= 1_000 < choice.params
    _check_consistent(small, (13,), 3)


def test_a_default_that_does_not_fit_the_input_is_replaced() -> None:
    # 3x3 images: cnn2d's two pooling stages leave nothing to pool.
    choice = choose_family((3, 3, 1), task="classification")
    assert "does not fit this input" in choice.reason
    _check_consistent(choice, (3, 3, 1), 10)


def test_an_impossible_budget_is_an_error_naming_the_smallest_network() -> None:
    with pytest.raises(ConfigError, match="no family fits input") as info:
        choose_family((64,), task="classification", max_params=100)
    assert "the smallest configuration tried, mlp" in str(info.value)
    assert "raise the budget" in str(info.value)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (((1, 2, 3, 4),), {"task": "classification"}, "input_shape must be"),
        (((0, 3),), {"task": "classification"}, "input_shape must be"),
        (("abc",), {"task": "classification"}, "input_shape must be"),
        (((8,),), {"task": "clustering"}, "task must be one of"),
        (((8,),), {"task": "regression", "max_params": 0}, "max_params must be"),
        (((8,),), {"task": "regression", "max_flops": "1e6"}, "max_flops must be"),
        (((8,),), {"task": "regression", "n_outputs": 0}, "n_outputs must be"),
    ],
)
def test_bad_arguments_are_errors(
    args: tuple[object, ...], kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        choose_family(*args, **kwargs)  # type: ignore[arg-type]
