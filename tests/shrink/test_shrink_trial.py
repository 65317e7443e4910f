"""``archtune.shrink_trial``: a built-in study's trial handed to shrink, as the study trained it."""

from __future__ import annotations

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
    result = archtune.shrink_trial(
        "digits-mlp", storage=storage, budget=7, output=tmp_path / "small.onnx"
    )
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
