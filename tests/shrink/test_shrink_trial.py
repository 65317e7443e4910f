"""``archtune.shrink_trial``: a built-in study's trial handed to shrink as the study trained it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import archtune
import objectives as obj
from archtune import ConfigError, Float, StudyStateError


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A two-objective built-in study named ``digits-mlp`` in this SQLite storage."""
    url = f"sqlite:///{tmp_path_factory.mktemp('study') / 's.db'}"
    archtune.tune(
        data={"dataset": "digits"},
        model={"family": "mlp"},
        recipe={"epochs": 3},
        objectives={"val_accuracy": "max", "params": "min"},
        n_trials=2,
        seed=0,
        storage=url,
        study_name="digits-mlp",
    )
    return url


def test_the_baseline_is_the_trial_trained_again(storage: str, tmp_path: Path) -> None:
    study = archtune.search.load_result("digits-mlp", storage)
    best = max(
        (t for t in study.trials if t.status == "complete"),
        key=lambda t: t.metrics["val_accuracy"],
    )
    result = archtune.shrink_trial(study, budget=9, output=tmp_path / "small.onnx")
    # the same data, splits, network, recipe, epochs and seed: the same model and numbers
    assert result.baseline.params == int(best.metrics["params"])
    assert result.baseline.val_accuracy == pytest.approx(best.metrics["val_accuracy"], abs=1e-9)
    assert result.baseline.test_accuracy == pytest.approx(best.metrics["test_accuracy"], abs=1e-9)
    assert result.study_name == f"shrink-digits-mlp-trial-{best.number}"
    assert result.chosen.params <= result.baseline.params
    assert (tmp_path / "small.onnx").exists()


def test_what_the_study_decides_cannot_be_given(storage: str) -> None:
    study = archtune.search.load_result("digits-mlp", storage)
    with pytest.raises(ConfigError, match="epochs comes from the study"):
        archtune.shrink_trial(study, epochs=5)
    with pytest.raises(ConfigError, match="give its storage URL"):
        archtune.shrink_trial("digits-mlp")
    with pytest.raises(StudyStateError, match="has no trial 99"):
        archtune.shrink_trial(study, trial=99)


def test_a_study_of_the_users_own_objective_is_refused() -> None:
    result = archtune.tune(obj.quadratic, {"x": Float(0, 1)}, objectives="score", n_trials=1)
    with pytest.raises(StudyStateError, match="built-in training studies"):
        archtune.shrink_trial(result)


@pytest.mark.integration
def test_the_cli_shrinks_a_stored_trial_and_keeps_the_shrink_beside_it(
    storage: str, tmp_path: Path
) -> None:
    command = ["shrink-trial", "digits-mlp", "--storage", storage, "--trial", "0"]
    options = ["--budget", "9", "-o", str(tmp_path / "t0.onnx"), "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "archtune", *command, *options],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    trial = archtune.search.load_result("digits-mlp", storage).trials[0]
    assert document["baseline"]["params"] == int(trial.metrics["params"])
    assert document["baseline"]["val_accuracy"] == pytest.approx(trial.metrics["val_accuracy"])
    assert (tmp_path / "t0.onnx").exists()
    # the shrink's study is kept in the same storage, under its own name
    assert archtune.search.load_result("shrink-digits-mlp-trial-0", storage).trials
