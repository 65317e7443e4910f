"""Every family's default configuration: in its space, buildable, and counted exactly."""

from __future__ import annotations

import pytest

from archtune.arch import Network, estimate_cost, infer_output_shape
from archtune.arch.families import FAMILIES, PREFIX, Family, get_family
from archtune.recipe import default_recipe_space
from archtune.space import Space

torch = pytest.importorskip("torch")
from archtune.backends.torch import build_module  # noqa: E402

#: Parameters of each default configuration on its natural input with 10 outputs (also in
#: docs/families.md); a change here is a change of the defaults and must be deliberate.
DEFAULT_PARAMS = {
    "mlp": 17_226,
    "cnn2d": 50_282,
    "cnn1d": 12_202,
    "resnet": 77_658,
    "rnn": 13_514,
    "transformer": 68_682,
}
NATURAL_INPUTS = {
    "mlp": (64,),
    "cnn2d": (28, 28, 1),
    "resnet": (28, 28, 1),
    "cnn1d": (40, 1),
    "rnn": (40, 1),
    "transformer": (40, 1),
}


@pytest.fixture(autouse=True)
def _one_thread_and_seeded() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)


def _build_default(family: Family) -> Network:
    return family.build(
        family.default_config(),
        input_shape=family.natural_input,
        n_outputs=10,
        head_activation="softmax",
    )


def test_the_six_families_are_registered() -> None:
    assert list(FAMILIES) == ["mlp", "cnn2d", "cnn1d", "resnet", "rnn", "transformer"]
    for name, family in FAMILIES.items():
        assert family.name == name
        assert get_family(name) is family
        assert family.natural_input == NATURAL_INPUTS[name]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_default_config_lies_in_the_default_space(name: str) -> None:
    family = get_family(name)
    config = family.default_config()
    space = Space.from_dict(family.default_space())
    space.check_config(config)  # raises when the config is not a point of the space
    assert set(config) == set(space)
    assert all(key.startswith(PREFIX) for key in family.default_space())


@pytest.mark.parametrize("name", list(FAMILIES))
def test_default_space_names_never_clash_with_the_recipe(name: str) -> None:
    space = get_family(name).default_space()
    recipe = default_recipe_space()
    assert not set(space) & set(recipe)
    assert Space.from_dict({**recipe, **space})  # one space holds both


@pytest.mark.parametrize("name", list(FAMILIES))
def test_default_space_is_a_fresh_dict(name: str) -> None:
    family = get_family(name)
    space = family.default_space()
    first = next(iter(space))
    space[first]["type"] = "broken"
    space.clear()
    assert family.default_space()[first]["type"] != "broken"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_default_network_matches_torch(name: str) -> None:
    family = get_family(name)
    network = _build_default(family)
    cost = estimate_cost(network)
    assert cost.params == DEFAULT_PARAMS[name]
    module = build_module(network)
    assert sum(p.numel() for p in module.parameters()) == cost.params
    module.eval()
    logits = module(torch.randn(3, *family.natural_input))
    assert tuple(logits.shape) == (3, 10) == (3, *infer_output_shape(network))
    assert torch.isfinite(logits).all()
    assert network.name == name
    assert network.head.units == 10
    assert network.head.activation == "softmax"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_build_is_a_pure_function_of_the_config(name: str) -> None:
    family = get_family(name)
    first, second = _build_default(family), _build_default(family)
    assert first == second
    assert Network.from_dict(first.to_dict()) == first
    # Missing keys take the defaults; keys outside model.* (the recipe's) are ignored.
    partial = family.build(
        {"lr": 0.1, "batch_size": 32},
        input_shape=family.natural_input,
        n_outputs=10,
        head_activation="softmax",
    )
    assert partial == first
