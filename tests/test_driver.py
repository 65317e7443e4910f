"""The driver and the local executor, through the Python API: real worker processes."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

import archtune
import objectives as obj
from archtune import Choice, Float, Int, ObjectiveError, StudyStateError
from archtune.cli._tables import counts_line
from archtune.search import TooManyFailuresError

pytestmark = pytest.mark.integration


def test_two_workers_complete_every_trial_and_find_the_optimum() -> None:
    result = archtune.tune(
        obj.quadratic,
        {"x": Float(0.0, 1.0)},
        objectives={"score": "max"},
        scheduler="none",
        n_trials=16,
        n_workers=2,
        seed=0,
        storage="sqlite:///t.db",
        study_name="q",
    )
    assert result.counts == {"complete": 16}
    assert abs(result.best_trial.config["x"] - 0.3) < 0.15
    assert result.best_trial.metrics == {
        "score": result.best_trial.values[0],  # type: ignore[index]
        "x_abs": result.best_trial.config["x"],
    }
    # An ordinary Optuna study: Optuna reads names, metric names and intermediate values.
    study = optuna.load_study(study_name="q", storage="sqlite:///t.db")
    assert study.metric_names == ["score"]
    trial = study.trials[0]
    assert sorted(trial.intermediate_values) == [0, 1, 2]
    assert [row["step"] for row in trial.user_attrs["archtune.curve"]] == [0, 1, 2]


def test_objective_taking_only_config_may_return_a_number() -> None:
    result = archtune.tune(
        obj.number_only, {"x": Int(1, 5)}, objectives={"x": "min"}, n_trials=4, seed=1
    )
    assert result.best_trial.values == [float(result.best_trial.config["x"])]


def test_objective_given_as_text_with_conditional_space() -> None:
    space = {
        "opt": Choice(["sgd", "adam"]),
        "x": Float(0, 1, when={"opt": "sgd"}),
        "y": Float(0, 1, when={"opt": "adam"}),
    }
    result = archtune.tune(
        "objectives:number_only", {**space, "x": Float(0, 1)}, objectives="x", n_trials=6, seed=3
    )
    assert result.counts == {"complete": 6}
    for trial in result.trials:
        assert ("y" in trial.config) == (trial.config["opt"] == "adam")


def test_several_objectives_give_a_pareto_front() -> None:
    result = archtune.tune(
        obj.two_objectives,
        {"size": Int(1, 50)},
        objectives={"accuracy": "max", "cost": "min"},
        n_trials=12,
        seed=0,
    )
    front = result.best_trials
    assert front
    # No front member is dominated by any complete trial.
    for member in front:
        acc, cost = member.values  # type: ignore[misc]
        for other in result.trials:
            o_acc, o_cost = other.values  # type: ignore[misc]
            assert not (o_acc >= acc and o_cost <= cost and (o_acc > acc or o_cost < cost))
    with pytest.raises(StudyStateError, match="Pareto front"):
        _ = result.best_trial


def test_failed_and_nan_trials_are_recorded_and_the_study_goes_on() -> None:
    result = archtune.tune(
        obj.fail_when_negative,
        {"x": Float(-1.0, 1.0)},
        objectives={"score": "max"},
        n_trials=20,
        n_workers=2,
        seed=0,
        sampler="random",
        max_consecutive_failures=20,
    )
    by_status: dict[str, list[archtune.search.TrialResult]] = {}
    for trial in result.trials:
        by_status.setdefault(trial.status, []).append(trial)
    assert len(result.trials) == 20
    assert by_status["failed"], "the seeded sample has negative x"
    for trial in by_status["failed"]:
        if trial.config["x"] < 0:
            assert trial.error == f"RuntimeError: boom at x={trial.config['x']:.3f}"
        else:
            assert trial.error == "metric 'score' is nan (not finite)"
    assert all(t.config["x"] >= 0.2 for t in by_status["complete"])


def test_failures_in_a_row_stop_the_study_with_the_last_error() -> None:
    with pytest.raises(TooManyFailuresError, match=r"3 trials failed in a row.*the data file is"):
        archtune.tune(
            obj.always_fail,
            {"x": Float(0, 1)},
            objectives="score",
            n_trials=50,
            max_consecutive_failures=3,
            seed=0,
        )


def test_a_metric_the_objective_never_returns_is_a_config_error() -> None:
    with pytest.raises(
        ObjectiveError,
        match=r"objectives names 'score', but the objective "
        r"returned accuracy",
    ):
        archtune.tune(obj.missing_metric, {"x": Float(0, 1)}, objectives="score", n_trials=5)


def test_a_killed_worker_fails_its_trial_which_runs_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHTUNE_TEST_MARKERS", str(tmp_path))
    result = archtune.tune(
        obj.kill_first_attempt,
        {"x": Choice([1, 2, 3])},
        objectives={"score": "max"},
        n_trials=5,
        n_workers=2,
        seed=0,
    )
    counts = result.counts
    assert counts["complete"] == 5  # every budgeted trial ends
    assert counts["interrupted"] == len({t.config["x"] for t in result.trials}) >= 2
    lost = [t for t in result.trials if t.status == "interrupted"]
    assert all(t.error == "worker process was killed by SIGKILL; it runs again" for t in lost)
    for trial in lost:  # its configuration ran again, as attempt 2
        retries = [
            t for t in result.study.trials if t.user_attrs.get("archtune.retry_of") == trial.number
        ]
        assert len(retries) == 1
        assert retries[0].user_attrs["archtune.attempt"] == 2
        assert retries[0].params == {"x": trial.config["x"]}
        assert retries[0].state == optuna.trial.TrialState.COMPLETE


def test_a_trial_that_always_kills_its_worker_fails_after_its_retries() -> None:
    with pytest.raises(TooManyFailuresError):
        archtune.tune(
            obj.always_killed,
            {"x": Float(0, 1)},
            objectives="score",
            n_trials=10,
            max_retries=1,
            max_consecutive_failures=2,
            seed=0,
        )


def test_workers_use_one_thread() -> None:
    result = archtune.tune(
        obj.thread_count, {"x": Float(0, 1)}, objectives="score", n_trials=2, n_workers=2
    )
    for trial in result.trials:
        assert trial.metrics["torch_threads"] == 1.0
        assert trial.metrics["omp"] == 1.0


def test_trial_seeds_derive_from_the_study_seed() -> None:
    result = archtune.tune(
        obj.seed_echo, {"x": Float(0, 1)}, objectives="score", n_trials=3, seed=100
    )
    assert sorted(t.values[0] for t in result.trials) == [100.0, 101.0, 102.0]  # type: ignore[index]


def test_timeout_stops_starting_trials() -> None:
    result = archtune.tune(
        obj.slow,
        {"x": Float(0, 1), "seconds": Float(0.4, 0.4)},
        objectives="score",
        n_trials=100,
        timeout=5.0,
        scheduler="none",
        seed=0,
    )
    assert 1 <= result.counts.get("complete", 0) <= 13
    # The one running at the deadline was ended, and is queued to run again on resume.
    assert set(result.counts) <= {"complete", "interrupted", "waiting"}
    assert result.counts.get("interrupted", 0) == result.counts.get("waiting", 0) <= 1


def test_a_resume_with_its_budget_spent_leaves_no_trial_waiting(tmp_path: Path) -> None:
    """Ctrl-C queues the running trials to run again; a resume whose budget is already met
    cancels those reruns (not counted, their configuration and reason shown) instead of leaving
    them waiting for good."""
    storage = f"sqlite:///{tmp_path / 'spent.db'}"
    settings: dict[str, Any] = {
        "objectives": {"score": "max"},
        "scheduler": "none",
        "storage": storage,
        "study_name": "spent",
        "n_workers": 1,
        "seed": 0,
    }
    space = {"x": Float(0.0, 1.0)}
    archtune.tune(obj.quadratic, space, n_trials=2, **settings)
    with pytest.raises(KeyboardInterrupt):  # its first trial presses Ctrl-C on the driver
        archtune.tune(obj.interrupt_driver, space, n_trials=4, resume=True, **settings)
    study = optuna.load_study(study_name="spent", storage=storage)
    queued = study.get_trials(states=(TrialState.WAITING,))
    assert queued  # the interrupted trials, queued to run again
    reruns = {t.number: t.user_attrs["archtune.retry_of"] for t in queued}

    result = archtune.tune(obj.quadratic, space, n_trials=2, resume=True, **settings)

    n = len(queued)
    assert result.counts == {"complete": 2, "interrupted": n, "cancelled": n}
    assert counts_line(result) == f"2 complete, {n} interrupted, {n} cancelled"  # `show`
    study = optuna.load_study(study_name="spent", storage=storage)
    assert not study.get_trials(states=(TrialState.WAITING, TrialState.RUNNING))
    for trial in result.trials:
        if trial.number in reruns:
            assert trial.status == "cancelled"
            assert trial.config["x"] == result.trials[reruns[trial.number]].config["x"]
            assert trial.error == (
                "not run: the budget (2 trials) was spent before its turn (a rerun of trial "
                f"{reruns[trial.number]})"
            )
    assert result.study.user_attrs["archtune.driver"] is None  # the lease is released


def test_existing_study_needs_resume_and_resume_needs_a_study() -> None:
    kwargs = dict(
        objectives={"score": "max"},
        storage="sqlite:///r.db",
        study_name="r",
        seed=0,
        scheduler="none",
    )
    archtune.tune(obj.quadratic, {"x": Float(0, 1)}, n_trials=3, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(
        StudyStateError,
        match=r"study 'r' already exists in sqlite:///r.db "
        r"\(3 trials finished\); pass --resume",
    ):
        archtune.tune(obj.quadratic, {"x": Float(0, 1)}, n_trials=3, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(StudyStateError, match="space differs at parameter 'x'"):
        archtune.tune(obj.quadratic, {"x": Float(0, 2)}, n_trials=3, resume=True, **kwargs)  # type: ignore[arg-type]
    resumed = archtune.tune(obj.quadratic, {"x": Float(0, 1)}, n_trials=5, resume=True, **kwargs)  # type: ignore[arg-type]
    assert resumed.counts == {"complete": 5}
    configs = [t.config["x"] for t in resumed.trials]
    assert len(set(configs)) == 5, "a resumed seeded study must not repeat its first samples"
    with pytest.raises(StudyStateError, match="does not exist"):
        archtune.tune(
            obj.quadratic,
            {"x": Float(0, 1)},
            n_trials=3,
            resume=True,
            objectives="score",
            storage="sqlite:///r.db",
            study_name="nope",
        )


@pytest.mark.parametrize(
    "sampler", ["random", "tpe", "gp", "light-gp", "cmaes", "nsga2", "qmc", "grid"]
)
def test_every_sampler_runs(sampler: str) -> None:
    space = {"x": Float(0.0, 1.0, step=0.25), "n": Int(1, 3)}
    result = archtune.tune(
        obj.quadratic,
        space,
        objectives={"score": "max"},
        n_trials=6,
        sampler=sampler,
        scheduler="none",
        seed=0,
    )
    assert result.counts == {"complete": 6}
    assert all(not math.isnan(t.values[0]) for t in result.trials)  # type: ignore[index]


def test_auto_sampler_picks_by_the_problem() -> None:
    from archtune.search import choose_sampler
    from archtune.space import Space

    small = Space({"a": Choice([1, 2, 3]), "b": Int(1, 4), "c": Float(0.0, 1.0, step=0.5)})
    assert choose_sampler(small, n_objectives=1, n_trials=36)[0] == "bruteforce"
    assert choose_sampler(small, n_objectives=1, n_trials=35)[0] == "light-gp"
    assert choose_sampler(small, n_objectives=2, n_trials=35)[0] == "light-gp"
    assert choose_sampler(small, n_objectives=4, n_trials=35)[0] == "tpe"
    assert choose_sampler(small, n_objectives=1, n_trials=35, has_constraints=True)[0] == "tpe"
    continuous = Space({"x": Float(0.0, 1.0)})
    # the trial count never decides between models: light-gp fits on a window of trials
    for n_trials in (300, 301, 5000, None):
        assert choose_sampler(continuous, n_objectives=1, n_trials=n_trials)[0] == "light-gp"
    assert choose_sampler(continuous, n_objectives=2, n_trials=1000)[0] == "light-gp"
    conditional = Space(
        {"opt": Choice(["sgd", "adam"]), "momentum": Float(0.0, 0.9, when={"opt": "sgd"})}
    )
    name, why = choose_sampler(conditional, n_objectives=1, n_trials=50)
    assert name == "light-gp"
    assert "conditional parameters modelled" in why


def test_auto_enumerates_a_small_space_without_repeats() -> None:
    result = archtune.tune(
        obj.number_only, {"x": Int(1, 6)}, objectives={"x": "min"}, n_trials=6, seed=0
    )
    assert sorted(t.config["x"] for t in result.trials) == [1, 2, 3, 4, 5, 6]
    assert result.study.user_attrs["archtune.config"]["sampler"].startswith("auto: bruteforce")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_budget_of_steps_starts_trials_only_while_they_fit(workers: int) -> None:
    # misleading_curve reports 9 epochs; 30 steps: 3 full trials fit, and one last trial
    # starts with 27 spent (none running): 36 in all, never a fifth trial.
    result = archtune.tune(
        obj.misleading_curve,
        {"x": Float(0.0, 1.0)},
        objectives={"score": "max"},
        n_trials=50,
        max_total_steps=30,
        scheduler={"name": "none", "max_steps": 9},
        n_workers=workers,
        seed=0,
    )
    assert [len(t.user_attrs["archtune.curve"]) for t in result.study.trials] == [9, 9, 9, 9]
    assert result.study.user_attrs["archtune.config"]["budget"]["steps"] == 30


def test_a_budget_of_steps_needs_the_length_of_a_trial() -> None:
    with pytest.raises(archtune.ConfigError, match=r"budget\.steps needs the length of a trial"):
        archtune.tune(
            obj.misleading_curve,
            {"x": Float(0.0, 1.0)},
            objectives={"score": "max"},
            n_trials=5,
            max_total_steps=30,
            scheduler="none",
        )


def test_trial_durations_leave_out_the_time_waiting_for_a_worker() -> None:
    """With one worker and a trial asked ahead, each trial waits while the one before runs;
    its duration is what its objective took in the worker, not Optuna's start-to-end time."""
    result = archtune.tune(
        obj.slow,
        {"x": Float(0.0, 1.0), "seconds": Float(0.6, 0.6)},
        objectives={"score": "max"},
        scheduler="none",
        n_trials=3,
        n_workers=1,
        seed=0,
    )
    assert result.counts == {"complete": 3}
    for trial in result.trials:
        assert trial.duration_s is not None
        assert 0.5 < trial.duration_s < 1.1  # 0.6 s of work, not 1.2 s with the queue
