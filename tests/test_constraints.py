"""Constraints on cost, applied before training: infeasible configurations are never trained."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

import objectives as obj
from archtune import ConfigError
from archtune.config import load_config
from archtune.execution import ObjectiveRef
from archtune.search import Constraint, Driver, TooManyFailuresError, parse_constraints

pytestmark = pytest.mark.integration


def _config(tmp_path: Path, constraints: dict[str, Any], **changes: Any) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "constrained",
                "data": "digits",
                "model": {
                    "family": "mlp",
                    "depth": {"type": "int", "low": 1, "high": 3},
                    "width": {"type": "int", "low": 8, "high": 256, "log": True},
                },
                "recipe": {"space": "none", "epochs": 1},
                "objectives": {"val_accuracy": "max", "params": "min"},
                "constraints": constraints,
                "budget": {"trials": 4},
                "sampler": "random",
                "seed": 1,
                **changes,
            }
        )
    )
    return path


def test_parse_constraints() -> None:
    assert parse_constraints({"params": "<= 25000", "flops": ">= 1e3", "latency_ms": 1.5}) == (
        Constraint("params", "<=", 25000.0),
        Constraint("flops", ">=", 1000.0),
        Constraint("latency_ms", "<=", 1.5),
    )
    assert Constraint("params", "<=", 100).violation(150) == 0.5
    assert Constraint("params", "<=", 100).violation(50) == 0.0
    with pytest.raises(ConfigError, match=r"constraints.params must be a bound like '<= 25000'"):
        parse_constraints({"params": "small"})


def test_configurations_that_break_a_constraint_are_recorded_and_never_trained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHTUNE_TEST_MARKERS", str(tmp_path))
    experiment = load_config(_config(tmp_path, {"params": "<= 4000"}))
    counting = ObjectiveRef(obj.CountingTrainObjective(experiment.objective.target))
    result = Driver(dataclasses.replace(experiment, objective=counting)).run()

    trained = sorted(int(n) for n in (tmp_path / "calls").read_text().split())
    feasible = sorted(t.number for t in result.trials if t.status in ("complete", "stopped"))
    infeasible = [t for t in result.trials if t.status == "infeasible"]
    assert trained == feasible  # every training call was a feasible configuration
    assert len(feasible) == 4  # infeasible ones do not use the budget
    assert infeasible, "the seeded sample includes networks over 4,000 parameters"
    for trial in result.trials:
        frozen = result.study.trials[trial.number]
        cost = frozen.user_attrs["archtune.cost"]["params"]
        if trial.status == "infeasible":
            assert cost > 4000
            assert trial.error == f"infeasible: params {int(cost):,} breaks params <= 4000"
            assert frozen.constraints == {"params": pytest.approx(cost / 4000 - 1)}  # sampler told
            assert frozen.state == optuna.trial.TrialState.PRUNED
        else:
            assert cost <= 4000
            assert trial.metrics["params"] == cost


@pytest.mark.parametrize(
    "objectives", [{"val_accuracy": "max"}, {"val_accuracy": "max", "params": "min"}]
)
def test_auto_never_proposes_what_breaks_a_constraint_on_params(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, objectives: dict[str, str]
) -> None:
    monkeypatch.setenv("ARCHTUNE_TEST_MARKERS", str(tmp_path))
    path = _config(
        tmp_path,
        {"params": "<= 4000"},
        sampler="auto",
        objectives=objectives,
        budget={"trials": 12},
        scheduler="none",
    )
    experiment = load_config(path)
    assert experiment.resolved_sampler().startswith(
        "auto: light-gp (" + f"{len(objectives)} objective"
    )
    assert "constraints kept before training" in experiment.resolved_sampler()
    counting = ObjectiveRef(obj.CountingTrainObjective(experiment.objective.target))
    result = Driver(dataclasses.replace(experiment, objective=counting)).run()
    # The same space and bound with `sampler: random` proposes networks over it (the test
    # above); light-gp's proposals, its start-up draws included, all keep it.
    assert [t.status for t in result.trials] == ["complete"] * 12
    assert all(t.metrics["params"] <= 4000 for t in result.trials)
    assert len((tmp_path / "calls").read_text().split()) == 12


def test_a_latency_constraint_leaves_auto_on_tpe(tmp_path: Path) -> None:
    experiment = load_config(
        _config(tmp_path, {"params": "<= 4000", "latency_ms": "<= 1000"}, sampler="auto")
    )
    assert experiment.resolved_sampler() == "auto: tpe (TPE handles constraints)"


def test_an_unreachable_constraint_ends_with_the_smallest_cost_seen(tmp_path: Path) -> None:
    experiment = load_config(_config(tmp_path, {"params": "<= 100"}))
    with pytest.raises(TooManyFailuresError) as info:
        Driver(experiment).run()
    message = str(info.value)
    assert "configurations in a row were infeasible" in message
    smallest = min(
        t.user_attrs["archtune.cost"]["params"]
        for t in optuna.load_study(
            study_name="constrained", storage="sqlite:///archtune.db"
        ).trials
    )
    assert f"the smallest cost seen: params {int(smallest):,}" in message
    assert "Relax the constraints" in message


def test_latency_constraints_measure_before_training(tmp_path: Path) -> None:
    experiment = load_config(_config(tmp_path, {"latency_ms": "<= 1000"}))
    assert experiment.precheck is not None
    cost = experiment.precheck({"model.depth": 1, "model.width": 8})
    assert set(cost) == {"params", "flops", "latency_ms"}
    assert 0 < cost["latency_ms"] < 1000


def test_constraints_need_costs_known_before_training(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"constraints\.accuracy is not a cost known before"):
        load_config(_config(tmp_path, {"accuracy": ">= 0.9"}))
    path = tmp_path / "user.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "u",
                "objective": "objectives:quadratic",
                "space": {"x": [0.1, 0.2]},
                "objectives": {"score": "max"},
                "budget": {"trials": 1},
                "constraints": {"params": "<= 10"},
            }
        )
    )
    with pytest.raises(ConfigError, match="constraints are checked before training"):
        load_config(path)


@pytest.mark.parametrize("bound", ["< 2000", "> 0.5"])
def test_a_strict_bound_is_refused_not_read_as_an_inclusive_one(bound: str) -> None:
    from archtune.search import parse_constraints

    with pytest.raises(ConfigError, match=r"must be an inclusive bound \('<=' or '>='\)"):
        parse_constraints({"params": bound})
