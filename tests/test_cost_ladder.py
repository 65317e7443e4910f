"""With a cost among the objectives, a new study also starts down its family's shrink ladder."""

from __future__ import annotations

from typing import Any

import pytest

from archtune.arch.families import get_family
from archtune.config import build_experiment
from archtune.search import Experiment
from archtune.training._setup import LADDER_FLOOR

ACCURACY_AND_PARAMS = {"val_accuracy": "max", "params": "min"}


def _experiment(
    model: dict[str, Any],
    objectives: dict[str, str] | None = None,
    constraints: dict[str, str] | None = None,
) -> Experiment:
    dataset = "mnist1d" if model["family"] == "cnn1d" else "digits"
    config: dict[str, Any] = {
        "name": "ladder",
        "budget": {"trials": 8},
        "data": {"dataset": dataset},
        "model": model,
        "recipe": {"epochs": 1},
    }
    if objectives is not None:
        config["objectives"] = objectives
    if constraints is not None:
        config["constraints"] = constraints
    return build_experiment(config, source="test")


def _model(point: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in point.items() if k.startswith("model.")}


def test_accuracy_against_params_starts_down_the_shrink_ladder() -> None:
    experiment = _experiment({"family": "cnn1d"}, ACCURACY_AND_PARAMS)
    _, one_cycle, *starts = experiment.starting_points
    assert one_cycle["schedule"] == "one_cycle"
    # (Beside the last step, the same network with its spare compute spent: a test below.)
    ladder = [p for p in starts if p["model.pooling"] == "max"]
    assert len(ladder) == len(starts) - 1
    # Each step is the family's next cheaper network, with the one-cycle recipe.
    family = get_family("cnn1d")
    expected = family.smaller(family.default_config())
    assert expected is not None
    for point in ladder:
        assert {k: v for k, v in point.items() if not k.startswith("model.")} == {
            k: v for k, v in one_cycle.items() if not k.startswith("model.")
        }
        # (The dropout is set for a smaller network: the test below.)
        assert _without_free_knobs(_model(point)) == _without_free_knobs(
            {k: expected[k] for k in _model(point)}
        )
        expected = family.smaller(expected)
        assert expected is not None
    assert [_model(p)["model.readout"] for p in ladder] == ["gap", "gap"]
    assert [_model(p)["model.width"] for p in ladder] == [32, 16]
    # It goes down one decade of parameters: the next step would be below it.
    assert experiment.precheck is not None
    params = [experiment.precheck(p)["params"] for p in (one_cycle, *ladder)]
    assert params == sorted(params, reverse=True)
    assert params[-1] >= LADDER_FLOOR * params[0]
    below = experiment.precheck({**ladder[-1], **expected})["params"]
    assert below < LADDER_FLOOR * params[0]


def _without_free_knobs(model: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in model.items() if k not in ("model.dropout", "model.pooling")}


def test_a_smaller_start_trains_as_a_small_network_with_and_without_its_spare_compute() -> None:
    experiment = _experiment({"family": "cnn1d"}, ACCURACY_AND_PARAMS)
    assert experiment.precheck is not None
    precheck = experiment.precheck
    _, one_cycle, pooled, narrow, spent = experiment.starting_points
    top = precheck(one_cycle)
    # Global average pooling keeps 90 % of the parameters: 0.1 x 0.9 rounds to the same
    # dropout, and no pooling between blocks would pass the start's compute.
    assert (pooled["model.dropout"], pooled["model.pooling"]) == (0.1, "max")
    assert precheck({**pooled, "model.pooling": "none"})["flops"] > top["flops"]
    # Half the width keeps a quarter of them: no dropout (0.1 x 0.24 rounds to 0 on the
    # space's 0.05 grid) ...
    assert (narrow["model.dropout"], narrow["model.pooling"]) == (0.0, "max")
    # ... and beside it the same network with its resolution kept at no parameter, within
    # the start's compute: a pair that differs in that choice only.
    assert {k: v for k, v in spent.items() if narrow[k] != v} == {"model.pooling": "none"}
    assert precheck(spent)["params"] == precheck(narrow)["params"]
    assert precheck(narrow)["flops"] < precheck(spent)["flops"] <= top["flops"]


def test_with_flops_as_the_cost_the_pooling_stays() -> None:
    experiment = _experiment({"family": "cnn1d"}, {"val_accuracy": "max", "flops": "min"})
    assert [p["model.pooling"] for p in experiment.starting_points] == ["max"] * 4
    narrow = experiment.starting_points[-1]
    assert narrow["model.width"] == 16
    # The compute is what the study minimises, so none is spent; the dropout still scales
    # (0.1 x 0.27 of the FLOPs rounds to 0.05).
    assert (narrow["model.dropout"], narrow["model.pooling"]) == (0.05, "max")


def test_a_fixed_dropout_is_left_as_it_is() -> None:
    experiment = _experiment({"family": "cnn1d", "dropout": 0.2}, ACCURACY_AND_PARAMS)
    assert all("model.dropout" not in p for p in experiment.starting_points)
    assert [p["model.pooling"] for p in experiment.starting_points[-2:]] == ["max", "none"]


@pytest.mark.parametrize(
    "objectives", [None, {"val_accuracy": "max"}, {"val_accuracy": "max", "val_loss": "min"}]
)
def test_without_a_cost_objective_only_the_two_starts(objectives: dict[str, str] | None) -> None:
    experiment = _experiment({"family": "cnn1d"}, objectives)
    assert [p["schedule"] for p in experiment.starting_points] == ["constant", "one_cycle"]


def test_flops_lead_the_ladder_too() -> None:
    experiment = _experiment({"family": "mlp"}, {"val_accuracy": "max", "flops": "min"})
    widths = [p["model.width"] for p in experiment.starting_points]
    assert widths == [128, 128, 64, 32]


def test_a_fixed_knob_is_stepped_over() -> None:
    experiment = _experiment({"family": "cnn1d", "width": 32}, ACCURACY_AND_PARAMS)
    ladder = experiment.starting_points[2:]
    # Global average pooling, then (the width being fixed) one block fewer.
    assert [(p["model.readout"], p["model.depth"]) for p in ladder] == [("gap", 3), ("gap", 2)]
    assert all("model.width" not in p for p in ladder)


def test_a_step_outside_the_space_ends_the_ladder() -> None:
    width = {"type": "int", "low": 24, "high": 64}
    experiment = _experiment({"family": "cnn1d", "width": width}, ACCURACY_AND_PARAMS)
    ladder = experiment.starting_points[2:]
    assert [(p["model.readout"], p["model.width"]) for p in ladder] == [("gap", 32)]


def test_a_start_that_breaks_a_constraint_is_scaled_down_to_fit_it() -> None:
    experiment = _experiment({"family": "cnn1d"}, constraints={"params": "<= 10000"})
    assert experiment.precheck is not None
    default, one_cycle = experiment.starting_points  # the same two starts, fitted
    assert [p["schedule"] for p in (default, one_cycle)] == ["constant", "one_cycle"]
    assert _model(default) == _model(one_cycle)
    # Down the ladder (global average pooling: 10,922 parameters; half the width: 2,906),
    # then the width raised again to the largest that keeps the bound.
    assert _model(default)["model.readout"] == "gap"
    assert _model(default)["model.width"] == 30
    assert experiment.precheck(default)["params"] <= 10_000
    assert experiment.precheck({**default, "model.width": 31})["params"] > 10_000


def test_a_start_fitted_to_a_small_bound_trains_as_a_small_network() -> None:
    experiment = _experiment({"family": "cnn1d"}, constraints={"params": "<= 3000"})
    assert experiment.precheck is not None
    default, one_cycle, spent = experiment.starting_points
    assert [p["schedule"] for p in (default, one_cycle, spent)] == ["constant", *["one_cycle"] * 2]
    for start in (default, one_cycle, spent):
        assert (_model(start)["model.width"], start["model.dropout"]) == (16, 0.0)
        assert experiment.precheck(start)["params"] <= 3000
    # The one-cycle start with its spare compute spent too (the ladder's pair, above).
    assert [p["model.pooling"] for p in (default, one_cycle, spent)] == ["max", "max", "none"]


def test_a_start_fitted_to_a_compute_bound_spends_no_compute() -> None:
    experiment = _experiment({"family": "cnn1d"}, constraints={"flops": "<= 100000"})
    assert experiment.precheck is not None
    for start in experiment.starting_points:
        assert start["model.pooling"] == "max"
        assert experiment.precheck(start)["flops"] <= 100_000


def test_fitted_starts_and_the_cost_ladder_keep_the_constraint_once_each() -> None:
    experiment = _experiment(
        {"family": "cnn1d"}, ACCURACY_AND_PARAMS, constraints={"params": "<= 5000"}
    )
    assert experiment.precheck is not None
    params = [experiment.precheck(p)["params"] for p in experiment.starting_points]
    assert all(p <= 5000 for p in params)
    assert len({repr(sorted(p.items())) for p in experiment.starting_points}) == len(params)
    assert [_model(p)["model.width"] for p in experiment.starting_points] == [21, 21, 16, 16]


def test_a_start_within_the_constraint_is_kept_as_it_is() -> None:
    loose = _experiment({"family": "cnn1d"}, constraints={"params": "<= 100000"})
    assert loose.starting_points == _experiment({"family": "cnn1d"}).starting_points


@pytest.mark.integration
def test_the_study_trains_the_ladder_first() -> None:
    import archtune

    result = archtune.tune(
        data={"dataset": "digits"},
        model={"family": "mlp"},
        recipe={"epochs": 1},
        objectives={"val_accuracy": "max", "params": "min"},
        n_trials=5,
        scheduler="none",
        seed=0,
    )
    trials = result.study.trials
    assert [t.params["model.width"] for t in trials[:4]] == [128, 128, 64, 32]
    assert all(t.user_attrs["archtune.start"] == "defaults" for t in trials[:4])
    assert "archtune.start" not in trials[4].user_attrs
    assert [t.values[1] for t in trials[1:4]] == sorted(
        (t.values[1] for t in trials[1:4]), reverse=True
    )


# -- the front's members moved down the ladder ------------------------------------------------
def test_a_member_moves_two_steps_down_the_ladder_as_the_smaller_network_it_is() -> None:
    experiment = _experiment({"family": "cnn1d"}, ACCURACY_AND_PARAMS)
    assert experiment.shrink_moves is not None
    assert experiment.precheck is not None
    member = {**experiment.starting_points[1], "lr": 0.004, "model.kernel_size": 7}
    moves = experiment.shrink_moves(member)
    changed = [{k: v for k, v in _model(m).items() if member[k] != v} for m in moves]
    assert changed == [
        {"model.readout": "gap"},  # step 1: global average pooling
        # step 2: half the width too, with no dropout at a quarter of the parameters, and its
        # twin that keeps the resolution at no parameter
        {"model.readout": "gap", "model.width": 16, "model.dropout": 0.0},
        {"model.readout": "gap", "model.width": 16, "model.dropout": 0.0, "model.pooling": "none"},
    ]
    assert all(m["lr"] == 0.004 for m in moves)  # the member's recipe is kept
    params = [experiment.precheck(m)["params"] for m in moves]
    assert experiment.precheck(member)["params"] > params[0] > params[1] == params[2]


def test_at_the_bottom_of_the_ladder_there_is_no_move() -> None:
    experiment = _experiment({"family": "mlp"}, ACCURACY_AND_PARAMS)
    assert experiment.shrink_moves is not None
    smallest = {**experiment.starting_points[1], "model.depth": 1, "model.width": 16}
    assert experiment.shrink_moves(smallest) == []


@pytest.mark.parametrize(
    "objectives", [None, {"val_accuracy": "max"}, {"val_accuracy": "max", "val_loss": "min"}]
)
def test_without_a_cost_objective_no_shrink_moves(objectives: dict[str, str] | None) -> None:
    assert _experiment({"family": "cnn1d"}, objectives).shrink_moves is None
