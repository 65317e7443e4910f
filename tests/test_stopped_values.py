"""The values a trial stopped early is told to Optuna with: never better than the final value of
a completed trial that was at least as good where it stopped."""

from __future__ import annotations

import pytest

import archtune
import stopped_objectives as sobj
from archtune import Float
from archtune.search import Objectives, StudyView
from archtune.search._scheduler_base import TrialPhase
from archtune.search._stopped import capped_value, told_values


def test_a_stopped_value_is_capped_by_the_rivals_that_were_as_good() -> None:
    # 0.92 at the step, ended at 0.85: caps 0.90. 0.80 at the step was worse: no cap.
    assert capped_value(0.90, "max", [(0.92, 0.85), (0.80, 0.60)]) == 0.85
    assert capped_value(0.90, "max", [(0.90, 0.87), (0.95, 0.99)]) == 0.87  # a tie outranks
    assert capped_value(0.90, "max", [(0.92, 0.95)]) == 0.90  # it ended better: no cap
    assert capped_value(0.90, "max", [(0.80, 0.10)]) == 0.90  # none was as good
    assert capped_value(0.90, "max", []) == 0.90
    # Minimised: a loss of 0.20 where a rival had 0.15 and ended at 0.30 is told 0.30.
    assert capped_value(0.20, "min", [(0.15, 0.30), (0.25, 0.90)]) == 0.30
    assert capped_value(0.20, "min", [(0.15, 0.10)]) == 0.20


def test_costs_known_before_training_are_told_as_they_are() -> None:
    objectives = Objectives.parse({"acc": "max", "params": "min"})
    curves = {
        0: [(1, {"acc": 0.5}), (3, {"acc": 0.9}), (9, {"acc": 0.6})],  # completed, peaked
        1: [(1, {"acc": 0.4}), (3, {"acc": 0.8})],  # running, not a rival
        2: [(1, {"acc": 0.45}), (3, {"acc": 0.85})],  # the stopped one
    }
    costs = {0: {"params": 100.0}, 1: {"params": 50.0}, 2: {"params": 200.0}}
    phases: dict[int, TrialPhase] = {0: "complete", 1: "running", 2: "running"}
    final = {0: {"acc": 0.6, "params": 100.0}}
    view = StudyView.of(objectives, curves, costs, phases, final)
    # acc 0.85 at step 3, below trial 0's 0.9, which ended at 0.6; params is exact.
    assert told_values(view, 2, 3, {"acc": 0.85, "params": 200.0}) == [0.6, 200.0]
    # Stopped at step 1 (0.45 < 0.5, trial 0 ended at 0.6 > 0.45): no cap.
    assert told_values(view, 2, 1, {"acc": 0.45, "params": 200.0}) == [0.45, 200.0]
    # Without a precheck, params is a metric like any other: capped only by the completed
    # trials that had it at step 3 (trial 0 reported none).
    view = StudyView.of(objectives, curves, {}, phases, final)
    assert told_values(view, 2, 3, {"acc": 0.85, "params": 200.0}) == [0.6, 200.0]


def _value_at(curve: list[dict[str, float]], step: int) -> float:
    return [row["score"] for row in curve if row["step"] <= step][-1]


@pytest.mark.integration
def test_a_trial_stopped_at_a_peak_is_told_no_better_than_the_trials_that_ended_lower() -> None:
    result = archtune.tune(
        sobj.peaks_mid_training,
        {"x": Float(0.1, 1.0)},
        objectives={"score": "max"},
        n_trials=18,
        sampler="random",
        seed=0,
        scheduler={"name": "asha", "eta": 3, "min_steps": 1, "max_steps": 9, "guard": False},
    )
    study = result.study
    completed = [t for t in result.trials if t.status == "complete"]
    stopped = [t for t in result.trials if t.status == "stopped"]
    assert completed
    assert stopped
    capped = 0
    for trial in stopped:
        frozen = study.trials[trial.number]
        step = frozen.user_attrs["archtune.stopped_at"]
        shown = _value_at(frozen.user_attrs["archtune.curve"], step)
        told = frozen.values[0]
        assert told <= shown
        capped += told < shown
        for other in completed:
            curve = study.trials[other.number].user_attrs["archtune.curve"]
            if _value_at(curve, step) >= shown:  # it outranked the stopped trial there
                assert told <= other.values[0]  # type: ignore[index]
    # Trials stopped at their peak (epoch 3) showed more than the kept ones ended with.
    assert capped > 0
    assert result.best_trial.status == "complete"
