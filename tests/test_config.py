"""Configuration validation from Python (``tune()``) and the duration syntax."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import archtune
import objectives as obj
from archtune import ConfigError, Float
from archtune.config import load_config, parse_duration

REPO_ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_trials": -3}, "tune(): n_trials must be an integer >= 1, got -3"),
        ({"n_workers": 0}, "tune(): n_workers must be an integer >= 1, got 0"),
        (
            {"timeout": "later"},
            "tune(): timeout must be a duration such as 90s, 10m or 1h30m, got 'later'",
        ),
        ({"sampler": "bayes"}, "tune(): sampler must be one of 'auto', 'random'"),
        ({"objectives": {"score": "larger"}}, "tune(): objectives.score must be max or min"),
        ({"objectives": {}}, "tune(): objectives must map at least one metric to max or min"),
        (
            {"space": {"x": {"type": "float", "low": 2, "high": 1}}},
            "tune(): space.x.low must be <= high, got low=2, high=1",
        ),
        (
            {"sampler": "grid", "space": {"x": archtune.Int(1, 3)}, "n_trials": 5},
            "tune(): n_trials must be <= 3 (the number of grid points) with sampler grid, got 5",
        ),
        ({"sampler": "grid"}, "tune(): space.x.step must be set for grid search"),
        ({"study_name": "has space"}, "tune(): study_name must be letters, digits"),
    ],
)
def test_tune_rejects_bad_arguments_with_one_clear_message(
    kwargs: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {
        "objective": obj.quadratic,
        "space": {"x": Float(0, 1)},
        "objectives": {"score": "max"},
        "n_trials": 3,
    } | kwargs
    with pytest.raises(ConfigError) as info:
        archtune.tune(**arguments)
    assert str(info.value).startswith(message)
    assert isinstance(info.value, ValueError)


def test_a_single_objective_sampler_refuses_several_objectives() -> None:
    with pytest.raises(ConfigError, match="sampler 'cmaes' optimises one objective"):
        archtune.tune(
            obj.two_objectives,
            {"size": archtune.Int(1, 5)},
            objectives={"accuracy": "max", "cost": "min"},
            n_trials=2,
            sampler="cmaes",
        )


def test_light_gp_serves_several_objectives() -> None:
    result = archtune.tune(
        obj.two_objectives,
        {"size": archtune.Int(1, 50)},
        objectives={"accuracy": "max", "cost": "min"},
        n_trials=14,
        sampler="light-gp",
        seed=0,
    )
    assert result.counts == {"complete": 14}
    sizes = [t.config["size"] for t in sorted(result.trials, key=lambda t: t.number)]
    assert all(size not in sizes[:i] for i, size in enumerate(sizes) if i >= 10)  # model: new


def test_the_quickstart_config_loads_as_documented() -> None:
    experiment = load_config(REPO_ROOT / "examples" / "quickstart.yaml")
    assert experiment.name == "quickstart"
    assert experiment.objectives.to_dict() == {"val_accuracy": "max"}
    assert experiment.n_trials == 20
    assert experiment.timeout_s == 600.0
    assert experiment.n_workers == 2
    assert experiment.sampler == "tpe"
    assert experiment.storage == "sqlite:///archtune.db"
    assert experiment.seed == 0
    assert list(experiment.space) == ["hidden", "lr", "optimizer", "momentum", "epochs"]


def test_overrides_replace_config_values() -> None:
    experiment = load_config(
        REPO_ROOT / "examples" / "quickstart.yaml",
        overrides={"workers": 1, "seed": 7, "storage": None},
    )
    assert experiment.n_workers == 1
    assert experiment.seed == 7
    assert experiment.storage == "sqlite:///archtune.db"  # None leaves the file's value


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("250ms", 0.25),
        (42, 42.0),
        ("2m 30s", 150.0),
    ],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "10", "-5s", "0s", "5 minutes", True])
def test_bad_durations(text: Any) -> None:
    with pytest.raises(ValueError, match="must be a duration"):
        parse_duration(text)
