"""The Recipe dataclass: defaults, validation, aliases, JSON round trip, from_config."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archtune._errors import ConfigError
from archtune.recipe import (
    BIAS_INITS,
    OPTIMIZERS,
    SCHEDULES,
    WEIGHT_INITS,
    InvalidRecipeError,
    Recipe,
)


def test_defaults_are_valid_and_json_able() -> None:
    r = Recipe()
    data = json.loads(json.dumps(r.to_dict()))
    assert Recipe.from_dict(data) == r
    assert set(data) == set(Recipe.FIELDS)


@pytest.mark.parametrize(
    ("field", "alias", "canonical"),
    [
        ("weight_init", "xavier_uniform", "glorot_uniform"),
        ("weight_init", "Kaiming-Normal", "he_normal"),
        ("weight_init", "random_normal", "normal"),
        ("bias_init", "zero", "zeros"),
        ("schedule", "onecycle", "one_cycle"),
        ("schedule", "reduce_on_plateau", "plateau"),
        ("schedule", "step_decay", "step"),
        ("optimizer", "ADAMW", "adamw"),
    ],
)
def test_aliases_are_stored_canonically(field: str, alias: str, canonical: str) -> None:
    assert getattr(Recipe(**{field: alias}), field) == canonical


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": 0}, r"recipe\.lr must be a number with 0 < x, got 0"),
        ({"lr": float("nan")}, r"recipe\.lr must be"),
        ({"lr": "1e-3"}, r"a string: write numbers without quotes; in YAML write 1\.0e-3"),
        ({"optimizer": "lbfgs"}, r"recipe\.optimizer must be one of \['gd', 'sgd'"),
        ({"optimizer": "adam", "momentum": 0.9}, "does not apply to optimizer='adam'.*beta1"),
        ({"optimizer": "gd", "momentum": 0.9}, "does not apply to optimizer='gd'"),
        (
            {"optimizer": "nesterov", "momentum": 0.0},
            r"recipe\.momentum must be a number with 0 <",
        ),
        ({"optimizer": "sgd", "momentum": 1.0}, r"recipe\.momentum must be .* x < 1"),
        ({"batch_size": 0}, r"recipe\.batch_size must be an integer >= 1, got 0"),
        ({"epochs": True}, r"recipe\.epochs must be an integer >= 1, got True"),
        ({"epochs": 2.0}, r"recipe\.epochs must be an integer"),
        ({"warmup_epochs": 3, "epochs": 2}, r"warmup_epochs must be <= recipe\.epochs \(2\)"),
        ({"min_lr": 0.1, "lr": 0.01}, r"min_lr must be <= recipe\.lr"),
        ({"pretrained_path": "w.pt"}, "set weight_init='pretrained' or remove pretrained_path"),
        ({"label_smoothing": 1.0}, r"label_smoothing must be .* x < 1"),
        ({"grad_clip_norm": 0.0}, r"grad_clip_norm must be a number with 0 < x"),
        ({"plateau_factor": 1.0}, r"plateau_factor must be"),
        ({"pct_start": 0.0}, r"pct_start must be"),
        ({"weight_init": "zeros"}, r"weight_init must be one of"),
    ],
)
def test_invalid_values_give_field_and_allowed_values(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidRecipeError, match=match) as info:
        Recipe(**kwargs)
    assert isinstance(info.value, ConfigError)
    assert isinstance(info.value, ValueError)


def test_from_dict_rejects_unknown_keys_with_a_suggestion() -> None:
    with pytest.raises(InvalidRecipeError, match="Did you mean 'batch_size'") as info:
        Recipe.from_dict({"batchsize": 32})
    assert info.value.field == "batchsize"
    with pytest.raises(InvalidRecipeError, match="must be a mapping"):
        Recipe.from_dict([("lr", 0.1)])  # type: ignore[arg-type]


def test_numbers_are_cast_to_their_field_types() -> None:
    r = Recipe(lr=1, init_std=1, warmup_epochs=2)
    assert isinstance(r.lr, float)
    assert isinstance(r.warmup_epochs, float)


def test_effective_momentum_defaults_per_optimizer() -> None:
    assert Recipe(optimizer="momentum").effective_momentum == 0.9
    assert Recipe(optimizer="nesterov").effective_momentum == 0.9
    assert Recipe(optimizer="sgd").effective_momentum == 0.0
    assert Recipe(optimizer="sgd", momentum=0.5).effective_momentum == 0.5
    assert Recipe(optimizer="rmsprop").effective_momentum == 0.0
    assert Recipe(optimizer="gd").full_batch
    assert not Recipe(optimizer="sgd").full_batch


def test_active_params_lists_what_matters() -> None:
    r = Recipe(optimizer="nesterov", lr=0.05, schedule="cosine", min_lr=0.001, batch_size=64)
    active = r.active_params()
    assert active == {
        "weight_init": "default",
        "bias_init": "default",
        "optimizer": "nesterov",
        "lr": 0.05,
        "momentum": 0.9,
        "schedule": "cosine",
        "min_lr": 0.001,
        "batch_size": 64,
        "epochs": 10,
    }
    gd = Recipe(optimizer="gd", weight_init="normal", init_std=0.1).active_params()
    assert "batch_size" not in gd
    assert gd["init_std"] == 0.1


def test_replace_validates_again() -> None:
    r = Recipe(optimizer="sgd", momentum=0.5)
    assert r.replace(lr=0.2).lr == 0.2
    with pytest.raises(InvalidRecipeError, match="does not apply"):
        r.replace(optimizer="adam")


def test_from_config_uses_recipe_keys_and_ignores_architecture_keys() -> None:
    config = {"optimizer": "momentum", "lr": 0.02, "momentum": 0.8, "n_layers": 3, "width": 64}
    r = Recipe.from_config(config)
    assert (r.optimizer, r.lr, r.momentum) == ("momentum", 0.02, 0.8)
    assert r.epochs == Recipe().epochs


def test_from_config_with_prefix_and_base() -> None:
    base = Recipe(optimizer="sgd", momentum=0.3, epochs=4, weight_init="pretrained",
                  pretrained_path="base.pt")  # fmt: skip
    r = Recipe.from_config(
        {"recipe.optimizer": "adam", "recipe.weight_init": "he_normal", "lr": 9.0}, base=base,
        prefix="recipe.",
    )  # fmt: skip
    assert r.optimizer == "adam"
    assert r.momentum is None  # the base's sgd momentum does not carry over to adam
    assert r.pretrained_path is None
    assert r.epochs == 4
    assert r.lr == Recipe().lr  # "lr" lacks the prefix


def test_from_config_still_validates_values() -> None:
    with pytest.raises(InvalidRecipeError, match=r"recipe\.lr"):
        Recipe.from_config({"lr": -1.0})


_recipes = st.builds(
    Recipe,
    weight_init=st.sampled_from([w for w in WEIGHT_INITS if w != "pretrained"]),
    bias_init=st.sampled_from(BIAS_INITS),
    optimizer=st.sampled_from(OPTIMIZERS),
    lr=st.floats(1e-6, 10.0),
    schedule=st.sampled_from([s for s in SCHEDULES if s != "piecewise"]),  # needs points
    batch_size=st.integers(1, 4096),
    epochs=st.integers(3, 200),
    warmup_epochs=st.floats(0.0, 3.0),
    label_smoothing=st.floats(0.0, 0.5),
    grad_clip_norm=st.none() | st.floats(1e-3, 100.0),
)


@settings(max_examples=100, deadline=None)
@given(recipe=_recipes)
def test_any_valid_recipe_survives_a_json_round_trip(recipe: Recipe) -> None:
    again = Recipe.from_dict(json.loads(json.dumps(recipe.to_dict())))
    assert again == recipe
    assert Recipe.from_config(recipe.to_dict()) == recipe


def test_an_invalid_recipe_error_survives_pickling() -> None:
    """It crosses process boundaries (Ray re-raises a trainable's error in the driver)."""
    import pickle

    from archtune.recipe import InvalidRecipeError

    error = pickle.loads(pickle.dumps(InvalidRecipeError("momentum", "recipe.momentum is 1.1")))
    assert (error.field, str(error)) == ("momentum", "recipe.momentum is 1.1")
