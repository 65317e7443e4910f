"""The default recipe search space: well-formed data whose every sample is a valid Recipe."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from archtune.recipe import Recipe, default_recipe_space

_KEYS = {
    "int": {"type", "low", "high", "log", "step", "when"},
    "float": {"type", "low", "high", "log", "step", "when"},
    "choice": {"type", "options", "when"},
    "fixed": {"type", "value", "when"},
}


def _check_format(space: dict[str, dict[str, Any]]) -> None:
    for name, spec in space.items():
        kind = spec["type"]
        assert kind in _KEYS, (name, kind)
        assert set(spec) <= _KEYS[kind], (name, set(spec) - _KEYS[kind])
        if kind in ("int", "float"):
            assert spec["low"] < spec["high"], name
            if spec.get("log"):
                assert spec["low"] > 0, name
            if kind == "int":
                assert isinstance(spec["low"], int)
                assert isinstance(spec["high"], int)
        if kind == "choice":
            assert len(spec["options"]) >= 2, name
        for param, values in spec.get("when", {}).items():
            assert param in space, (name, param)
            allowed = space[param]["options"]
            values = values if isinstance(values, list) else [values]
            assert set(values) <= set(allowed), (name, param, values)


def _sample(space: dict[str, dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, spec in space.items():  # conditions refer to choices listed earlier
        when = spec.get("when", {})
        if any(config.get(p) not in (v if isinstance(v, list) else [v]) for p, v in when.items()):
            continue
        kind = spec["type"]
        if kind == "choice":
            config[name] = rng.choice(spec["options"])
        elif kind == "fixed":
            config[name] = spec["value"]
        elif kind == "int":
            config[name] = rng.randint(spec["low"], spec["high"])
        elif spec.get("log"):
            config[name] = math.exp(rng.uniform(math.log(spec["low"]), math.log(spec["high"])))
        else:
            config[name] = rng.uniform(spec["low"], spec["high"])
    return config


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("epochs", [1, 4, 20, 100])
def test_space_is_well_formed_and_names_recipe_fields(task: str, epochs: int) -> None:
    space = default_recipe_space(task=task, epochs=epochs)
    _check_format(space)
    assert set(space) <= set(Recipe.FIELDS)
    assert ("label_smoothing" in space) == (task == "classification")
    assert space["epochs"] == {"type": "fixed", "value": epochs}


def test_space_matches_the_documented_shape() -> None:
    space = default_recipe_space()
    assert space["lr"] == {"type": "float", "low": 1e-4, "high": 1e-1, "log": True}
    assert space["momentum"]["when"] == {"optimizer": ["momentum", "nesterov"]}
    assert "gd" not in space["optimizer"]["options"]
    assert "constant" not in space["weight_init"]["options"]
    assert space["warmup_epochs"]["high"] == 3


def test_each_call_returns_a_fresh_dict() -> None:
    a = default_recipe_space()
    a["lr"]["low"] = 1.0
    assert default_recipe_space()["lr"]["low"] == 1e-4


@pytest.mark.parametrize("epochs", [1, 5, 30])
def test_every_sampled_configuration_is_a_valid_recipe(epochs: int) -> None:
    space = default_recipe_space(epochs=epochs)
    rng = random.Random(0)
    seen = set()
    for _ in range(300):
        config = _sample(space, rng)
        recipe = Recipe.from_config(config)
        seen.add((recipe.optimizer, recipe.schedule))
        assert recipe.epochs == epochs
        for key, value in config.items():
            assert getattr(recipe, key) == value
    assert len(seen) == 36  # every optimizer with every schedule


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="task must be"):
        default_recipe_space(task="ranking")
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        default_recipe_space(epochs=0)
