"""Search spaces: validation, conditions, plain-data round trips, and Optuna sampling."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import optuna
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archtune import Choice, Fixed, Float, Int, InvalidSpaceError, Space

optuna.logging.set_verbosity(optuna.logging.WARNING)


# -- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "path", "reason"),
    [
        (
            {"type": "int", "low": 5, "high": 1},
            "space.p.low",
            "must be <= high, got low=5, high=1; swap them",
        ),
        (
            {"type": "float", "low": 0, "high": 1, "log": True},
            "space.p.low",
            "must be > 0 when log is true, got 0; raise low (e.g. to 1e-05) or remove log",
        ),
        (
            {"type": "int", "low": 0, "high": 8, "log": True},
            "space.p.low",
            "must be >= 1 when log is true, got 0; raise low or remove log",
        ),
        (
            {"type": "int", "low": 1, "high": 8, "step": 0},
            "space.p.step",
            "must be an integer >= 1, got 0",
        ),
        (
            {"type": "float", "low": 0, "high": 1, "step": -1},
            "space.p.step",
            "must be a number > 0, got -1",
        ),
        (
            {"type": "choice", "options": []},
            "space.p.options",
            "must list at least one option, got []",
        ),
        (
            {"type": "choice", "options": ["a", "a"]},
            "space.p.options",
            "must not repeat an option, got ['a', 'a']; remove the repeats",
        ),
        (
            {"type": "integer", "low": 1, "high": 2},
            "space.p.type",
            "must be one of int, float, choice, fixed, got 'integer'",
        ),
        (
            {"type": "int", "low": 1, "high": 2, "lo": 3},
            "space.p.lo",
            "is not a field of a int parameter; allowed: type, low, high, log, step, when",
        ),
        ({"type": "float", "low": 1}, "space.p.high", "is required for a float parameter"),
        (
            {"type": "int", "low": 1.5, "high": 2},
            "space.p.low",
            "must be an integer, got 1.5; use Float for a range of real numbers",
        ),
        (
            {"type": "int", "low": 0, "high": 10, "step": 3},
            "space.p.high",
            "must be low plus a multiple of step (3), got high=10; use 9 or 12",
        ),
    ],
)
def test_invalid_parameter_names_field_and_reason(
    spec: dict[str, Any], path: str, reason: str
) -> None:
    with pytest.raises(InvalidSpaceError) as info:
        Space.from_dict({"p": spec})
    assert info.value.path == path
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: Int(10, 2),
            "Int(low=10, high=2): low must be <= high, got low=10, high=2; swap them",
        ),
        (
            lambda: Float(0, 1, log=True),
            "Float(low=0, high=1, log=True): low must be > 0 when log is true, got 0; raise low "
            "(e.g. to 1e-05) or remove log",
        ),
        (
            lambda: Int(1, 9, log=True, step=2),
            "Int(low=1, high=9, log=True, step=2): step must be 1 when log is true, got 2; "
            "remove step or log",
        ),
        (
            lambda: Int(0, 10, step=3, when={"deep": True}),
            "Int(low=0, high=10, step=3, when={'deep': True}): high must be low plus a multiple "
            "of step (3), got high=10; use 9 or 12",
        ),
        (
            lambda: Choice("adam"),
            "Choice(options='adam'): options must be a list, got 'adam'; for one option write "
            "['adam']",
        ),
        (
            lambda: Float(0, 1, when="optimizer"),
            "Float(low=0, high=1, when='optimizer'): when must be a mapping of parameter to "
            "value(s), got 'optimizer'; write e.g. when={'optimizer': 'sgd'}",
        ),
        (
            lambda: Fixed([1, 2]),
            "Fixed(value=[1, 2]): value must be a string, number, boolean or null, got [1, 2]",
        ),
        (
            lambda: Space({"lr": 0.1}),
            "lr must be an Int, Float, Choice or Fixed, got 0.1; for a constant write Fixed(0.1)",
        ),
        (
            lambda: Space({"act": ["relu", "gelu"]}),
            "act must be an Int, Float, Choice or Fixed, got ['relu', 'gelu']; for a choice "
            "write Choice(['relu', 'gelu'])",
        ),
    ],
)
def test_a_constructor_error_names_the_call_its_values_and_the_fix(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(InvalidSpaceError) as info:
        make()
    assert str(info.value) == message


def test_a_space_from_named_entries_names_the_parameter_not_the_call() -> None:
    with pytest.raises(InvalidSpaceError) as info:
        Space.from_dict({"units": {"type": "int", "low": 10, "high": 2}})
    assert str(info.value) == "space.units.low must be <= high, got low=10, high=2; swap them"
    assert info.value.call == ""


def test_when_on_unknown_parameter_lists_the_known_ones() -> None:
    with pytest.raises(InvalidSpaceError) as info:
        Space.from_dict(
            {
                "optimizer": ["sgd", "adam"],
                "momentum": {"type": "float", "low": 0, "high": 1, "when": {"optimiser": "sgd"}},
            }
        )
    assert str(info.value) == (
        "space.momentum.when refers to unknown parameter 'optimiser'; known: optimizer"
    )


def test_when_value_must_be_one_the_parent_can_take() -> None:
    with pytest.raises(InvalidSpaceError, match=r"^m.when.opt must be values 'opt' can take"):
        Space({"opt": Choice(["sgd", "adam"]), "m": Float(0, 1, when={"opt": "rmsprop"})})


def test_cyclic_and_float_conditions_are_rejected() -> None:
    with pytest.raises(InvalidSpaceError, match="cycle"):
        Space({"a": Choice([1, 2], when={"b": 1}), "b": Choice([1, 2], when={"a": 1})})
    with pytest.raises(InvalidSpaceError, match="got a float parameter"):
        Space({"a": Float(0, 1), "b": Choice([1, 2], when={"a": 0.5})})


def test_order_puts_parents_first_and_conditions_chain() -> None:
    space = Space(
        {
            "nesterov": Choice([True, False], when={"momentum_on": True}),
            "momentum_on": Choice([True, False], when={"optimizer": "sgd"}),
            "optimizer": Choice(["sgd", "adam"]),
        }
    )
    assert list(space) == ["optimizer", "momentum_on", "nesterov"]
    assert not space.is_active("nesterov", {"optimizer": "adam"})
    assert space.is_active("nesterov", {"optimizer": "sgd", "momentum_on": True})


def test_shorthands_and_canonical_form() -> None:
    space = Space.from_dict({"act": ["relu", "gelu"], "epochs": 20})
    assert space.to_dict() == {
        "act": {"type": "choice", "options": ["relu", "gelu"]},
        "epochs": {"type": "fixed", "value": 20},
    }


def test_check_config_rejects_inactive_missing_and_out_of_range() -> None:
    space = Space({"opt": Choice(["sgd", "adam"]), "m": Float(0, 0.9, when={"opt": "sgd"})})
    space.check_config({"opt": "sgd", "m": 0.5})
    space.check_config({"opt": "adam"})
    with pytest.raises(InvalidSpaceError, match="inactive"):
        space.check_config({"opt": "adam", "m": 0.5})
    with pytest.raises(InvalidSpaceError, match="missing"):
        space.check_config({"opt": "sgd"})
    with pytest.raises(InvalidSpaceError, match="must lie in"):
        space.check_config({"opt": "sgd", "m": 0.95})


def test_grid_needs_a_step_for_floats() -> None:
    assert Space({"a": Int(1, 7, step=3), "b": Choice(["x"])}).grid() == {
        "a": [1, 4, 7],
        "b": ["x"],
    }
    assert Space({"f": Float(0.0, 1.0, step=0.25)}).grid()["f"] == [0.0, 0.25, 0.5, 0.75, 1.0]
    with pytest.raises(InvalidSpaceError, match=r"^f.step must be set for grid search"):
        Space({"f": Float(0.0, 1.0)}).grid()


# -- properties --------------------------------------------------------------------------------
_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
_scalars = st.one_of(
    st.integers(-5, 5), st.text(alphabet="abcxyz", min_size=1, max_size=4), st.booleans()
)


@st.composite
def params(draw: st.DrawFn) -> Any:
    kind = draw(
        st.sampled_from(["int", "int_log", "float", "float_log", "float_step", "choice", "fixed"])
    )
    if kind == "int":
        low, step = draw(st.integers(-100, 100)), draw(st.integers(1, 5))
        return Int(low, low + step * draw(st.integers(0, 40)), step=step)
    if kind == "int_log":
        low = draw(st.integers(1, 100))
        return Int(low, low + draw(st.integers(0, 5000)), log=True)
    if kind == "float":
        low = draw(st.floats(-1e3, 1e3))
        return Float(low, low + draw(st.floats(0, 1e3)))
    if kind == "float_log":
        low = draw(st.floats(1e-6, 1.0))
        return Float(low, low * draw(st.floats(1.0, 1e4)), log=True)
    if kind == "float_step":
        low = draw(st.integers(-10, 10)) / 4
        return Float(low, low + draw(st.integers(0, 20)) / 4, step=0.25)
    if kind == "choice":
        return Choice(draw(st.lists(_scalars, min_size=1, max_size=5, unique_by=repr)))
    return Fixed(draw(_scalars))


@st.composite
def spaces(draw: st.DrawFn) -> Space:
    names = draw(st.lists(_names, min_size=1, max_size=6, unique=True))
    built: dict[str, Any] = {}
    for name in names:
        param = draw(params())
        parents = [n for n, p in built.items() if isinstance(p, Choice | Fixed)]
        if parents and draw(st.booleans()):
            parent = draw(st.sampled_from(parents))
            allowed = draw(st.sampled_from(built[parent].grid()))
            param = type(param)(**{**param.__dict__, "when": {parent: allowed}})
        built[name] = param
    return Space(built)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(spaces())
def test_space_survives_yaml_and_json_round_trips(space: Space) -> None:
    assert Space.from_yaml(space.to_yaml()) == space
    assert Space.from_json(space.to_json()) == space
    assert Space.from_dict(yaml.safe_load(yaml.safe_dump(space.to_dict()))).to_dict() == (
        json.loads(space.to_json())
    )


@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(spaces(), st.sampled_from(["random", "tpe", "qmc"]))
def test_samples_lie_in_their_distributions_and_conditions_hold(
    space: Space, sampler: str
) -> None:
    from archtune.search import make_sampler

    study = optuna.create_study(sampler=make_sampler(sampler, seed=0, space=space, n_objectives=1))
    for i in range(12):
        trial = study.ask()
        config = space.sample(trial)
        space.check_config(config)  # every active parameter present and in range, no other
        for name, value in trial.params.items():
            assert trial.distributions[name]._contains(
                trial.distributions[name].to_internal_repr(value)
            )
        assert space.complete(trial.params) == config
        study.tell(trial, float(i))


def test_invalid_space_error_survives_pickling() -> None:
    """A space built in a worker process fails there; its error crosses the pipe whole."""
    import pickle

    with pytest.raises(InvalidSpaceError) as info:
        Int(10, 2)
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.path, copy.reason, copy.call, str(copy)) == (
        info.value.path,
        info.value.reason,
        info.value.call,
        str(info.value),
    )
    assert str(copy).startswith("Int(low=10, high=2): ")
