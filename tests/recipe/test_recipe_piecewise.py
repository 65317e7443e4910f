"""The ``piecewise`` schedule: its points, their checks, their values epoch by epoch, configs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from archtune._errors import ConfigError
from archtune.recipe import (
    PIECEWISE_VALUES,
    InvalidRecipeError,
    LRSchedule,
    Recipe,
    SchedulePoint,
    default_recipe_space,
)

POINTS = [
    {"epoch": 0, "lr": 0.1, "momentum": 0.9},
    {"epoch": 5, "lr": 0.03},
    {"epoch": 12, "lr": 0.01, "weight_decay": 1e-4, "label_smoothing": 0.05},
]


def piecewise(points: Any = POINTS, **fields: Any) -> Recipe:
    return Recipe(
        **{"optimizer": "sgd", "epochs": 20, "schedule": "piecewise", "piecewise": points} | fields
    )


# --- the recipe field ------------------------------------------------------------------------


def test_points_are_stored_as_schedule_points_and_written_back_as_given() -> None:
    r = piecewise()
    assert r.piecewise == (
        SchedulePoint(0, lr=0.1, momentum=0.9),
        SchedulePoint(5, lr=0.03),
        SchedulePoint(12, lr=0.01, weight_decay=1e-4, label_smoothing=0.05),
    )
    assert r.to_dict()["piecewise"] == POINTS
    assert Recipe().to_dict()["piecewise"] is None
    assert hash(r) == hash(piecewise())  # still a frozen, hashable value
    assert isinstance(piecewise([{"epoch": 0, "lr": 1}]).piecewise[0].lr, float)  # type: ignore[index]


def test_a_recipe_with_points_survives_json_and_yaml_and_from_config() -> None:
    r = piecewise()
    assert Recipe.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    assert Recipe.from_dict(yaml.safe_load(yaml.safe_dump(r.to_dict()))) == r
    assert Recipe.from_config(r.to_dict()) == r
    assert r.replace(lr=0.5).piecewise == r.piecewise  # points given as SchedulePoint again


def test_another_schedule_from_a_config_drops_the_bases_points() -> None:
    base = piecewise()
    assert Recipe.from_config({"schedule": "cosine"}, base=base).piecewise is None
    assert Recipe.from_config({"lr": 0.2}, base=base).piecewise == base.piecewise
    assert Recipe.from_config({"schedule": "piecewise"}, base=base).piecewise == base.piecewise


def test_active_params_show_the_points_instead_of_the_unused_rate() -> None:
    active = piecewise().active_params()
    assert active["piecewise"] == POINTS
    assert active["schedule"] == "piecewise"
    assert "lr" not in active


def test_piecewise_changes_names_what_later_points_change() -> None:
    assert piecewise().piecewise_changes() == [
        (1, "lr"),
        (2, "lr"),
        (2, "weight_decay"),
        (2, "label_smoothing"),
    ]
    same = [{"epoch": 0, "lr": 0.1, "momentum": 0.9}, {"epoch": 3, "lr": 0.1, "momentum": 0.9}]
    assert piecewise(same).piecewise_changes() == []
    assert Recipe().piecewise_changes() == []


_BAD = [
    ({"piecewise": None}, r"recipe\.piecewise must be a non-empty list of points with "
     r"schedule='piecewise', e\.g\. \[\{epoch: 0, lr: 0\.1\}, \{epoch: 5, lr: 0\.01\}\], "
     r"got None"),
    ({"piecewise": []}, r"recipe\.piecewise must be a non-empty list of points, .*got \[\]"),
    ({"piecewise": {"epoch": 0, "lr": 0.1}}, r"recipe\.piecewise must be a non-empty list"),
    ({"piecewise": "0: 0.1"}, r"recipe\.piecewise must be a non-empty list"),
    ({"piecewise": [0.1]}, r"recipe\.piecewise\[0\] must be a mapping of an epoch and values"),
    ({"piecewise": [{"epoch": 0, "lr": 0.1, "momentun": 0.9}]},
     r"recipe\.piecewise\[0\]\.momentun is not a value of a piecewise point; allowed: epoch, lr, "
     r"momentum, weight_decay, label_smoothing\. Did you mean 'momentum'\?"),
    ({"piecewise": [{"lr": 0.1}]}, r"recipe\.piecewise\[0\]\.epoch must be an integer >= 0, "
     r"got None"),
    ({"piecewise": [{"epoch": 0.0, "lr": 0.1}]}, r"piecewise\[0\]\.epoch must be an integer"),
    ({"piecewise": [{"epoch": True, "lr": 0.1}]}, r"piecewise\[0\]\.epoch must be an integer"),
    ({"piecewise": [{"epoch": 1, "lr": 0.1}]}, r"recipe\.piecewise\[0\]\.epoch must be 0 \(the "
     r"first point sets the values from the start\), got 1"),
    ({"piecewise": [{"epoch": 0, "momentum": 0.9}]}, r"recipe\.piecewise\[0\] must set lr \(the "
     r"rate from epoch 0\)"),
    ({"piecewise": [*POINTS[:2], {"epoch": 3, "lr": 0.01}]},
     r"recipe\.piecewise\[2\]\.epoch must be greater than the previous point's \(5\), got 3"),
    ({"piecewise": [*POINTS[:2], {"epoch": 5, "lr": 0.01}]},
     r"recipe\.piecewise\[2\]\.epoch must be greater than the previous point's \(5\), got 5"),
    ({"epochs": 12}, r"recipe\.piecewise\[2\]\.epoch must be < recipe\.epochs \(12\), got 12; "
     r"remove the point or train longer"),
    ({"piecewise": [{"epoch": 0, "lr": 0}]}, r"recipe\.piecewise\[0\]\.lr must be a number "
     r"with 0 < x, got 0"),
    ({"piecewise": [{"epoch": 0, "lr": "1e-3"}]}, r"piecewise\[0\]\.lr must be .* in YAML write"),
    ({"piecewise": [{"epoch": 0, "lr": 0.1}, {"epoch": 1, "momentum": 1.0}]},
     r"recipe\.piecewise\[1\]\.momentum must be a number with 0 <= x < 1, got 1\.0"),
    ({"piecewise": [{"epoch": 0, "lr": 0.1, "weight_decay": -1e-4}]},
     r"recipe\.piecewise\[0\]\.weight_decay must be a number with 0 <= x, got -0\.0001"),
    ({"piecewise": [{"epoch": 0, "lr": 0.1, "label_smoothing": 1}]},
     r"recipe\.piecewise\[0\]\.label_smoothing must be a number with 0 <= x < 1, got 1"),
    ({"optimizer": "adam"}, r"recipe\.piecewise\[0\]\.momentum does not apply to "
     r"optimizer='adam', got 0\.9; remove it \(Adam's momentum is beta1\) or use one of "
     r"\['sgd', 'momentum', 'nesterov', 'rmsprop'\]"),
    ({"optimizer": "gd"}, r"piecewise\[0\]\.momentum does not apply to optimizer='gd'.*gd has"),
    ({"optimizer": "nesterov", "piecewise": [{"epoch": 0, "lr": 0.1, "momentum": 0}]},
     r"recipe\.piecewise\[0\]\.momentum must be a number with 0 < x < 1, got 0"),
    ({"schedule": "cosine"}, r"recipe\.piecewise is set but recipe\.schedule is 'cosine'; set "
     r"schedule='piecewise' or remove piecewise"),
    ({"warmup_epochs": 1}, r"recipe\.warmup_epochs must be 0 with schedule='piecewise' \(its "
     r"points set every epoch's rate: write a warm-up as points\), got 1"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "match"), _BAD)
def test_bad_points_give_one_message_with_the_path_and_the_fix(
    fields: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidRecipeError, match=match) as info:
        piecewise(**fields)
    assert isinstance(info.value, ConfigError)
    assert "\n" not in str(info.value)


def test_the_default_search_space_never_samples_piecewise() -> None:
    for task in ("classification", "regression"):
        space = default_recipe_space(task=task)
        assert "piecewise" not in space["schedule"]["options"]
        assert "piecewise" not in space


# --- values epoch by epoch -------------------------------------------------------------------


def test_each_epoch_has_the_values_of_the_last_point_before_it() -> None:
    s = LRSchedule(piecewise(), steps_per_epoch=4)
    start = {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.0, "label_smoothing": 0.0}
    assert s.values_at_epoch(0) == start
    assert s.values_at_epoch(4) == start
    assert s.values_at_epoch(5) == start | {"lr": 0.03}  # momentum carries over
    assert s.values_at_epoch(11) == start | {"lr": 0.03}
    late = {"lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4, "label_smoothing": 0.05}
    assert s.values_at_epoch(12) == late
    assert s.values_at_epoch(19) == late
    assert s.values_at_epoch(500) == late  # past the end: the last values
    with pytest.raises(ValueError, match="epoch must be >= 0"):
        s.values_at_epoch(-1)


def test_the_rate_is_constant_within_an_epoch_and_changes_at_its_first_step() -> None:
    s = LRSchedule(piecewise(), steps_per_epoch=4)
    assert s.epoch_lrs(4) == [0.1] * 4
    assert s.epoch_lrs(5) == [0.03] * 4
    assert s.lr_at(5 * 4 - 1) == 0.1
    assert s.lr_at(5 * 4) == 0.03
    assert s.lr_at(12 * 4) == 0.01
    assert s.lr_at(10**6) == 0.01  # steps past the end keep the last rate
    assert not s.is_constant


def test_values_no_point_sets_are_the_recipes_own() -> None:
    points = [{"epoch": 0, "lr": 0.1}, {"epoch": 2, "lr": 0.05, "momentum": 0.5}]
    r = piecewise(points, optimizer="momentum", weight_decay=1e-3, label_smoothing=0.1)
    s = LRSchedule(r, steps_per_epoch=1)
    assert s.values_at_epoch(0) == {
        "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3, "label_smoothing": 0.1
    }  # fmt: skip
    assert s.values_at_epoch(2)["momentum"] == 0.5
    r = piecewise(points, optimizer="sgd", momentum=0.3)
    assert LRSchedule(r, steps_per_epoch=1).values_at_epoch(1)["momentum"] == 0.3


def test_optimizers_without_momentum_have_no_momentum_value() -> None:
    points = [{"epoch": 0, "lr": 0.01}, {"epoch": 1, "lr": 0.001, "weight_decay": 0.01}]
    for optimizer in ("adam", "adamw", "gd"):
        s = LRSchedule(piecewise(points, optimizer=optimizer), steps_per_epoch=3)
        assert set(s.values_at_epoch(1)) == {"lr", "weight_decay", "label_smoothing"}


def test_other_schedules_give_their_fixed_values_and_each_epochs_first_rate() -> None:
    r = Recipe(optimizer="nesterov", lr=0.1, schedule="step", step_size=2, weight_decay=0.01)
    s = LRSchedule(r, steps_per_epoch=3)
    assert s.values_at_epoch(0) == {
        "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01, "label_smoothing": 0.0
    }  # fmt: skip
    assert s.values_at_epoch(2)["lr"] == 0.05
    assert set(LRSchedule(Recipe(), steps_per_epoch=1).values_at_epoch(0)) == {
        "lr", "weight_decay", "label_smoothing"
    }  # fmt: skip


_point = st.fixed_dictionaries(
    {},
    optional={
        "lr": st.floats(1e-6, 1.0),
        "momentum": st.floats(0.0, 0.99),
        "weight_decay": st.floats(0.0, 0.1),
        "label_smoothing": st.floats(0.0, 0.5),
    },
)


@st.composite
def _points(draw: st.DrawFn) -> list[dict[str, Any]]:
    epochs = sorted(draw(st.sets(st.integers(1, 49), max_size=6)))
    first = draw(_point) | {"epoch": 0, "lr": draw(st.floats(1e-6, 1.0))}
    return [first] + [draw(_point) | {"epoch": e} for e in epochs]


@settings(max_examples=100, deadline=None)
@given(points=_points(), spe=st.integers(1, 5))
def test_any_valid_schedule_round_trips_and_each_epoch_follows_its_last_point(
    points: list[dict[str, Any]], spe: int
) -> None:
    r = piecewise(points, optimizer="rmsprop", epochs=50)
    assert Recipe.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    assert r.to_dict()["piecewise"] == [{"epoch": p["epoch"], **{
        k: p[k] for k in PIECEWISE_VALUES if k in p}} for p in points]  # fmt: skip
    s = LRSchedule(r, steps_per_epoch=spe)
    for epoch in range(50):
        held = {"momentum": 0.0, "weight_decay": 0.0, "label_smoothing": 0.0}
        for p in points:
            if p["epoch"] <= epoch:
                held |= {k: v for k, v in p.items() if k != "epoch"}
        assert s.values_at_epoch(epoch) == {k: float(held[k]) for k in PIECEWISE_VALUES}
        assert s.epoch_lrs(epoch) == [held["lr"]] * spe


# --- configs ---------------------------------------------------------------------------------


def _config(tmp_path: Path, recipe: dict[str, Any], **top: Any) -> Path:
    config = {
        "name": "piecewise",
        "data": {"dataset": "digits", "max_samples": 300},
        "model": {"family": "mlp", "space": "none", "depth": 1, "width": 16},
        "recipe": recipe,
        "budget": {"trials": 1},
        "storage": None,
    } | top
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


REPLAY = {"space": "none", "schedule": "piecewise", "piecewise": POINTS, "optimizer": "sgd",
          "epochs": 20}  # fmt: skip


def test_a_config_with_a_piecewise_recipe_loads_and_its_trials_train_with_it(
    tmp_path: Path,
) -> None:
    from archtune.config import load_config

    experiment = load_config(_config(tmp_path, REPLAY))
    objective = experiment.objective.target
    assert objective.recipe == {"piecewise": POINTS}  # not a parameter: a list is a choice
    recipe = objective.recipe_of({"schedule": "piecewise", "epochs": 20, "optimizer": "sgd"})
    assert recipe == piecewise()
    assert experiment.study_attrs["archtune.builtin"]["recipe"] == {"piecewise": POINTS}


def test_yaml_numbers_in_points_load(tmp_path: Path) -> None:
    from archtune.config import load_config

    path = tmp_path / "c.yaml"
    text = _config(tmp_path, REPLAY).read_text()
    path.write_text(text.replace("0.0001", "1.0e-4"))
    assert "1.0e-4" in path.read_text()
    experiment = load_config(path)
    assert experiment.objective.target.recipe["piecewise"][2]["weight_decay"] == 1e-4


def test_with_the_default_space_the_unused_rate_is_not_searched(tmp_path: Path) -> None:
    from archtune.config import load_config

    recipe = {"schedule": "piecewise", "piecewise": POINTS, "optimizer": "momentum",
              "epochs": 20}  # fmt: skip
    experiment = load_config(_config(tmp_path, recipe))
    assert "lr" not in experiment.space
    assert "momentum" in experiment.space  # a value the points set, still searched: unused
    assert "warmup_epochs" not in experiment.space  # only with the other schedules


@pytest.mark.parametrize(
    ("recipe", "top", "message"),
    [
        ({k: v for k, v in REPLAY.items() if k != "optimizer"} | {"space": "default"}, {},
         "recipe.piecewise[0].momentum does not apply to optimizer='adam'"),  # a choice's
        ({k: v for k, v in REPLAY.items() if k != "optimizer"}, {},
         "recipe.piecewise[0].momentum does not apply to optimizer='adam'"),  # the default
        ({k: v for k, v in REPLAY.items() if k != "schedule"}, {},
         "recipe.piecewise needs recipe.schedule: piecewise (the points are that schedule's), "
         "got 'constant' (the default); set schedule: piecewise or remove piecewise"),
        (REPLAY | {"schedule": "cosine"}, {}, "recipe.piecewise needs recipe.schedule: piecewise"),
        (REPLAY | {"schedule": ["piecewise", "cosine"]}, {},
         "got a choice of ['piecewise', 'cosine']"),
        ({k: v for k, v in REPLAY.items() if k != "piecewise"}, {},
         "recipe.piecewise must be a non-empty list of points with schedule='piecewise'"),
        (REPLAY | {"epochs": 10}, {}, "recipe.piecewise[2].epoch must be < recipe.epochs (10)"),
        (REPLAY | {"warmup_epochs": 1}, {}, "recipe.warmup_epochs must be 0 with schedule="),
        (REPLAY | {"lr": "auto"}, {}, "recipe.lr auto does not apply to schedule piecewise"),
        (REPLAY, {"backend": "keras"},
         "recipe.piecewise[2].weight_decay changes weight_decay during training, which backend "
         "keras cannot (only lr may change after epoch 0); set it at epoch 0 only, or use "
         "backend torch"),
    ],
)  # fmt: skip
def test_bad_piecewise_configs_are_one_line_naming_the_field(
    tmp_path: Path, recipe: dict[str, Any], top: dict[str, Any], message: str
) -> None:
    from archtune.config import load_config

    path = _config(tmp_path, recipe, **top)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_keras_configs_may_change_only_the_rate(tmp_path: Path) -> None:
    from archtune.config import load_config

    points = [{"epoch": 0, "lr": 0.1, "momentum": 0.9}, {"epoch": 5, "lr": 0.01, "momentum": 0.9}]
    experiment = load_config(_config(tmp_path, REPLAY | {"piecewise": points}, backend="keras"))
    assert experiment.objective.target.backend == "keras"


def test_a_built_in_trial_replays_the_schedule(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from archtune._reporter import NullReporter
    from archtune.config import load_config

    points = [{"epoch": 0, "lr": 0.05, "momentum": 0.9}, {"epoch": 2, "lr": 0.01}]
    recipe = REPLAY | {"piecewise": points, "epochs": 3, "batch_size": 64}
    experiment = load_config(_config(tmp_path, recipe))
    config = {name: param.value for name, param in experiment.space.items()}  # all fixed
    reporter = NullReporter()
    metrics = experiment.objective.target(config, reporter)
    assert [m["lr"] for _, m in reporter.history] == [0.05, 0.05, 0.01]
    assert metrics["epochs"] == 3.0
