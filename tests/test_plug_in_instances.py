"""``tune()`` takes instances as Optuna does: a sampler, a scheduler, an executor of one's own."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

import archtune
import objectives as obj
import stopped_objectives as stopped
from archtune import ConfigError, Decision, Float
from archtune.execution import LocalExecutor
from archtune.search import BaseScheduler, StudyView

pytestmark = pytest.mark.integration


class HalfSampler(optuna.samplers.BaseSampler):
    """A user's sampler: proposes 0.5 for every parameter, without any relative search."""

    def __init__(self) -> None:
        self.calls = 0

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
        return {}

    def sample_relative(self, study: Any, trial: Any, search_space: Any) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: Any, trial: Any, name: str, distribution: Any) -> Any:
        self.calls += 1
        return 0.5


class StopAtTwo(BaseScheduler):
    """A user's scheduler: stops every trial at its second report."""

    def decide(self, study: StudyView, number: int, step: int) -> Decision:
        return Decision.STOP if step >= 2 else Decision.CONTINUE


def test_a_custom_optuna_sampler_instance_plugs_in() -> None:
    sampler = HalfSampler()
    result = archtune.tune(
        obj.quadratic,
        {"x": Float(0.0, 1.0)},
        objectives={"score": "max"},
        sampler=sampler,
        n_trials=3,
        seed=0,
        storage="sqlite:///s.db",
        study_name="custom",
    )
    assert sampler.calls == 3
    assert [t.config["x"] for t in result.trials] == [0.5, 0.5, 0.5]
    study = optuna.load_study(study_name="custom", storage="sqlite:///s.db")
    assert study.user_attrs["archtune.config"]["sampler"] == "HalfSampler (an instance)"


def test_a_scheduler_and_an_executor_instance_plug_in() -> None:
    result = archtune.tune(
        stopped.peaks_mid_training,
        {"x": Float(0.5, 1.0)},
        objectives={"score": "max"},
        scheduler=StopAtTwo(),
        executor=LocalExecutor(1),
        n_trials=2,
        seed=0,
    )
    assert result.counts == {"stopped": 2}


@pytest.mark.parametrize("field", ["sampler", "scheduler", "executor"])
def test_something_else_is_one_clear_error(field: str) -> None:
    expected = rf"^tune\(\): {field} must be one of '(auto|local)', .* or an instance of .*Base"
    with pytest.raises(ConfigError, match=expected):
        archtune.tune(
            obj.quadratic, {"x": Float(0, 1)}, objectives="score", n_trials=1, **{field: 3}
        )
