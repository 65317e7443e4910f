"""The Ray executor: the conformance suite on a local Ray, and a whole study through it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import executor_objectives as objs
import pytest

from archtune import Float
from archtune.config import build_experiment
from archtune.execution import BaseExecutor, Event, LocalExecutor, Report, TrialTask, WorkerLost
from archtune.execution._ray import RayExecutor
from archtune.search import Driver
from archtune.testing._executor import ExecutorConformance

ray = pytest.importorskip("ray", reason="the Ray executor needs ray (pip install 'archtune[ray]')")

pytestmark = [pytest.mark.ray, pytest.mark.integration, pytest.mark.usefixtures("local_ray")]


class TestRayExecutor(ExecutorConformance):
    @pytest.fixture
    def executor(self) -> BaseExecutor:
        return RayExecutor(2)

    def test_an_actor_killed_with_ray_kill_is_lost_and_replaced(
        self, started: BaseExecutor
    ) -> None:
        assert isinstance(started, RayExecutor)
        started.submit(TrialTask(1, {"mode": "steps", "steps": 3}))
        first = _poll_until(started, lambda e: isinstance(e, Report))
        assert first == [Report(1, 0, {"score": 0.0})]  # the trial waits for its answer
        victim = next(a for a in started._actors if a.number == 1)
        ray.kill(victim.handle)
        lost = _poll_until(started, lambda e: isinstance(e, WorkerLost))
        assert lost == [WorkerLost(1, "Ray worker was killed with ray.kill (ActorDiedError)", ANY)]
        assert (started.n_free, started.running) == (2, [])
        assert victim not in started._actors


def _poll_until(executor: BaseExecutor, wanted: Any, timeout: float = 60.0) -> list[Event]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = executor.poll(0.5)
        if any(wanted(e) for e in events):
            return events
    raise AssertionError("timed out")


def test_a_study_runs_to_completion_on_ray() -> None:
    data: dict[str, Any] = {
        "name": "ray-e2e",
        "objective": objs.quadratic,
        "space": {"x": Float(0.0, 1.0)},
        "objectives": {"score": "max"},
        "budget": {"trials": 8},
        "workers": 2,
        "scheduler": "none",
        "seed": 0,
        "storage": "sqlite:///ray.db",
    }
    result = Driver(build_experiment(data, source="test"), executor=RayExecutor(2)).run()
    assert result.counts == {"complete": 8}
    best = result.best_trial
    assert best.metrics == {"score": best.values[0]}  # type: ignore[index]
    assert sorted(result.study.trials[best.number].intermediate_values) == [0, 1]


def test_population_based_training_runs_on_ray() -> None:
    """Members' segments run on Ray actors, exploits copy checkpoints between them."""
    import pbt_objectives

    data: dict[str, Any] = {
        "name": "ray-pbt",
        "objective": pbt_objectives.schedule_matters,
        "space": {"lr": Float(1e-3, 1.0, log=True), "epochs": 12},
        "objectives": {"score": "max"},
        "budget": {"trials": 4},
        "workers": 2,
        "scheduler": {"name": "pbt", "interval": 3, "max_steps": 12},
        "seed": 0,
        "storage": "sqlite:///ray-pbt.db",
    }
    result = Driver(build_experiment(data, source="test"), executor=RayExecutor(2)).run()
    assert result.counts == {"complete": 4, "paused": 12}
    for trial in result.study.trials:
        if trial.state.name == "COMPLETE":
            assert [r["step"] for r in trial.user_attrs["archtune.curve"]] == list(range(1, 13))
    assert any("archtune.pbt.parent" in t.user_attrs for t in result.study.trials)


def test_ray_gives_the_same_results_as_the_local_executor() -> None:
    """Same seed, trial count and random sampler: the same configurations and values."""
    results = {}
    for name, executor in (("local", LocalExecutor(2)), ("ray", RayExecutor(2))):
        data: dict[str, Any] = {
            "name": f"same-{name}",
            "objective": objs.quadratic,
            "space": {"x": Float(0.0, 1.0)},
            "objectives": {"score": "max"},
            "budget": {"trials": 6},
            "workers": 2,
            "sampler": "random",
            "scheduler": "none",
            "seed": 7,
            "storage": None,
        }
        result = Driver(build_experiment(data, source="test"), executor=executor).run()
        results[name] = sorted((t.number, t.config["x"], t.values[0]) for t in result.trials)  # type: ignore[index]
    assert results["ray"] == results["local"]
    assert len(results["ray"]) == 6


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="n_workers must be an integer >= 1"):
        RayExecutor(0)
    with pytest.raises(ValueError, match="resources may only set cpus and gpus, got tpus"):
        RayExecutor(1, resources={"tpus": 1})
    with pytest.raises(ValueError, match=r"resources.gpus must be a number >= 0"):
        RayExecutor(1, resources={"gpus": -1})


@pytest.mark.ray
@pytest.mark.integration
def test_the_cli_runs_a_study_on_ray(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """``archtune run --executor ray`` starts a local Ray, runs the study, and stops Ray."""
    import subprocess
    import sys

    import yaml

    config = tmp_path / "ray.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "on-ray",
                "objective": "objectives:quadratic",
                "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
                "objectives": {"score": "max"},
                "budget": {"trials": 4},
                "workers": 2,
                "scheduler": "none",
                "storage": f"sqlite:///{tmp_path / 'r.db'}",
                "seed": 0,
            }
        )
    )
    env = dict(cli_env, RAY_USAGE_STATS_ENABLED="0")
    done = subprocess.run(
        [sys.executable, "-m", "archtune", "run", str(config), "--executor", "ray", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    import optuna

    study = optuna.load_study(study_name="on-ray", storage=f"sqlite:///{tmp_path / 'r.db'}")
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 4
    assert study.user_attrs["archtune.config"]["executor"] == "ray"


def test_a_trial_records_the_threads_its_actor_trained_on() -> None:
    """A trial that reserves two CPUs trains on two torch threads, and says so: an export
    trains it again on as many (docs/report.md)."""
    pytest.importorskip("torch")
    data: dict[str, Any] = {
        "name": "ray-threads",
        "data": {"dataset": "digits"},
        "model": {"family": "mlp", "space": "none"},
        "recipe": {"space": "none", "epochs": 1},
        "budget": {"trials": 1},
        "scheduler": "none",
        "seed": 0,
    }
    executor = RayExecutor(1, resources={"cpus": 2})
    result = Driver(build_experiment(data, source="test"), executor=executor).run()
    assert result.counts == {"complete": 1}
    assert result.study.trials[0].user_attrs["archtune.threads"] == 2
