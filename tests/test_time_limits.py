"""Time limits that hold: the study's deadline ends running trials, and a trial past its own
limit is stopped, fails and counts while the study goes on."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
import yaml

import archtune
import time_objectives as tobj
from archtune import ConfigError, Fixed, Int
from archtune.config import build_experiment, load_config

pytestmark = pytest.mark.integration

FAIL = optuna.trial.TrialState.FAIL


def test_the_study_deadline_ends_a_trial_that_never_returns(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'limits.db'}"
    began = time.monotonic()
    result = archtune.tune(
        tobj.hang_when_told,
        {"i": Int(0, 9), "hang": Fixed(True)},
        objectives="score",
        n_trials=3,
        timeout="3s",
        storage=storage,
        study_name="deadline",
        seed=0,
    )
    assert time.monotonic() - began < 8.0  # it used to run on until killed
    failed = [t for t in result.study.trials if t.state == FAIL]
    assert len(failed) == 1
    attrs = failed[0].user_attrs
    assert attrs["archtune.failure"] == "timeout"
    assert attrs["archtune.counted"] is False  # the deadline ended it, not its configuration
    assert attrs["archtune.error"].startswith("timeout: the study's time limit (3 s) passed")
    # It is queued to run again on --resume, as an interrupted trial is.
    assert result.counts == {"interrupted": 1, "waiting": 1}
    assert result.study.user_attrs["archtune.driver"] is None  # the lease is released


def test_a_trial_past_its_time_limit_fails_and_the_study_goes_on() -> None:
    began = time.monotonic()
    result = archtune.tune(
        tobj.hang_at,
        {"i": Int(0, 3)},
        objectives={"score": "max"},
        n_trials=4,
        n_workers=2,
        trial_timeout=2,
        seed=0,
    )
    assert time.monotonic() - began < 30.0
    assert result.counts == {"complete": 3, "failed": 1}  # it counts toward the budget
    (failed,) = [t for t in result.study.trials if t.state == FAIL]
    assert failed.params == {"i": 1}
    assert failed.user_attrs["archtune.failure"] == "timeout"
    assert "archtune.counted" not in failed.user_attrs
    assert failed.user_attrs["archtune.error"] == (
        "timeout: ran longer than the trial time limit (2 s); its worker was stopped"
    )
    assert sorted(t.config["i"] for t in result.trials if t.status == "complete") == [0, 2, 3]


def test_trial_timeout_is_a_duration_in_the_config_and_in_tune(tmp_path: Path) -> None:
    config = tmp_path / "limits.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "limits",
                "objective": "time_objectives:hang_at",
                "space": {"i": {"type": "int", "low": 0, "high": 3}},
                "objectives": {"score": "max"},
                "budget": {"trials": 4, "timeout": "1h", "trial_timeout": "1m30s"},
            }
        )
    )
    experiment = load_config(config)
    assert (experiment.timeout_s, experiment.trial_timeout_s) == (3600.0, 90.0)
    assert experiment.to_record()["budget"]["trial_timeout_s"] == 90.0
    base = {
        "name": "limits",
        "objective": "time_objectives:hang_at",
        "space": {"i": {"type": "int", "low": 0, "high": 3}},
        "objectives": {"score": "max"},
    }
    with pytest.raises(ConfigError) as info:
        build_experiment({**base, "budget": {"trials": 2, "trial_timeout": "soon"}}, source="x")
    assert str(info.value) == (
        "x: budget.trial_timeout must be a duration such as 90s, 10m or 1h30m, got 'soon'"
    )
    with pytest.raises(ConfigError, match=r"^tune\(\): trial_timeout must be a duration > 0"):
        archtune.tune(
            tobj.hang_at, {"i": Int(0, 3)}, objectives="score", n_trials=1, trial_timeout=0
        )
