"""The real-training suite of the benchmark harness, on a budget of a few epochs."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("keras_tuner", reason="the bench extra is not installed")
pytest.importorskip("mnist1d", reason="the data extra is not installed")

from benchmarks._mnist1d import METHODS, run_one

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("method", ["archtune", "random", "kerastuner-bayes"])
def test_each_method_trains_within_the_same_budget_of_epochs(method: str, tmp_path: Path) -> None:
    row = run_one(method, 0, epochs_budget=6, workers=2, workdir=tmp_path, max_epochs=3)
    assert row["method"] == method
    assert 6 <= int(str(row["epochs_used"])) <= 6 + 3 - 1  # the last trial may overshoot
    assert int(str(row["trials"])) >= 2
    assert 0.1 < float(str(row["test_accuracy"])) <= 1.0
    assert int(str(row["params"])) > 0


def test_unknown_method_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="known: archtune, optuna-tpe-hyperband"):
        run_one("smac", 0, epochs_budget=6, workdir=tmp_path)
    assert "raytune-asha-optuna" in METHODS
