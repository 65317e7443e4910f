"""``scheduler: {fidelity: data}``: rungs that are complete trainings on a fraction of the data."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

import archtune
from archtune import ConfigError, Decision, NullReporter
from archtune.data import load_dataset, train_fraction
from archtune.search import Objectives, SchedulerSpec
from archtune.search._fidelity import data_stages, full_steps, rung_steps
from archtune.search._schedulers import make_scheduler
from archtune.training import setup_training
from archtune.training._staged import StageReporter

MO = Objectives.parse({"val_accuracy": "max", "params": "min"})


def test_stages_cost_what_the_epoch_rungs_they_replace_cost() -> None:
    stages = data_stages(min_steps=1, eta=3, max_steps=40)
    assert [s.steps for s in stages] == [1, 3, 9, 27, 40]
    assert [s.fraction for s in stages] == pytest.approx([1 / 40, 3 / 40, 9 / 40, 27 / 40, 1])
    assert rung_steps(stages) == [1, 4, 13, 40]
    assert full_steps(stages) == 80


def test_the_scheduler_judges_at_the_stages_ends_and_budgets_their_sum() -> None:
    spec = SchedulerSpec(name="moasha", max_steps=9, fidelity="data")
    assert spec.full_length == 13
    assert make_scheduler(spec, MO)._levels(0) == [1, 4]  # type: ignore[attr-defined]
    plain = SchedulerSpec(name="moasha", max_steps=9)
    assert plain.full_length == 9
    assert make_scheduler(plain, MO)._levels(0) == [1, 3]  # type: ignore[attr-defined]
    # The sentinels' share of a budget of steps counts a sentinel at its full cost.
    guarded = make_scheduler(spec, MO, max_total_steps=104)
    assert guarded.guard.max_sentinels == 2  # type: ignore[attr-defined]
    assert make_scheduler(plain, MO, max_total_steps=104).guard.max_sentinels == 2
    assert make_scheduler(plain, MO, max_total_steps=108).guard.max_sentinels == 3
    assert make_scheduler(spec, MO, max_total_steps=108).guard.max_sentinels == 2


class Recorder:
    """A reporter that records the trial's reports and stops it at ``stop_at``."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.reports: list[tuple[int, dict[str, float]]] = []
        self.stop_at = stop_at

    trial_number = 0
    seed = 0
    should_stop = False

    def report(self, step: int, **metrics: float) -> Decision:
        self.reports.append((step, metrics))
        return Decision.STOP if step == self.stop_at else Decision.CONTINUE


def test_a_stage_reports_once_per_epoch_equivalent_without_its_warmup() -> None:
    trial = Recorder()
    stage = StageReporter(trial, start=1, steps=3, epochs=9)
    for epoch in range(1, 10):
        assert stage.report(epoch, val_accuracy=epoch / 10, warmup=1.0) is Decision.CONTINUE
    assert [step for step, _ in trial.reports] == [2, 3, 4]
    assert trial.reports[-1][1] == {"val_accuracy": 0.9}  # the stage's end, no warm-up flag
    assert stage.made == 3


def test_a_stop_at_a_stage_s_end_stops_the_training() -> None:
    stage = StageReporter(Recorder(stop_at=1), start=0, steps=1, epochs=3)
    assert [stage.report(e, val_accuracy=0.5) for e in (1, 2, 3)] == [
        Decision.CONTINUE,
        Decision.CONTINUE,
        Decision.STOP,
    ]
    assert stage.should_stop


def test_a_fraction_of_the_training_split_keeps_the_classes_in_proportion() -> None:
    dataset = load_dataset("digits", seed=0)
    part = train_fraction(dataset, 0.2, seed=3)
    assert part.x_train.shape[0] == round(0.2 * dataset.x_train.shape[0])
    full_share = np.bincount(dataset.y_train, minlength=10) / dataset.y_train.size
    part_share = np.bincount(part.y_train, minlength=10) / part.y_train.size
    assert np.abs(full_share - part_share).max() < 0.01
    assert part.x_val is dataset.x_val
    assert part.x_test is dataset.x_test
    again = train_fraction(dataset, 0.2, seed=3)
    assert np.array_equal(part.x_train, again.x_train)  # seeded
    assert train_fraction(dataset, 1.0, seed=3) is dataset


def test_a_trial_never_stopped_ends_with_the_model_its_recipe_gives() -> None:
    """The last stage trains on all the data from the same start: an export that retrains the
    recipe once gets the same metrics."""
    setup = setup_training({"dataset": "digits"}, {"family": "mlp"}, {"epochs": 3})
    config = setup.starting_points[0]
    stages = tuple((s.fraction, s.steps) for s in data_stages(1, 3, 3))
    staged = dataclasses.replace(setup.objective, stages=stages)
    trial = Recorder()
    with_stages = staged(config, trial)
    plain = setup.objective(config, NullReporter(seed=0))
    assert [step for step, _ in trial.reports] == [1, 2, 3, 4]
    assert with_stages["epochs"] == 4.0  # 1/3 of the data for 3 epochs, then all of it
    assert with_stages["val_accuracy"] == plain["val_accuracy"]
    assert with_stages["test_accuracy"] == plain["test_accuracy"]


def test_a_search_with_data_fidelity_stops_trials_at_stage_ends_within_its_budget() -> None:
    result = archtune.tune(
        data={"dataset": "digits"},
        model={"family": "mlp"},
        recipe={"epochs": 9},
        objectives={"val_accuracy": "max", "params": "min"},
        n_trials=40,
        max_total_steps=80,
        n_workers=2,
        scheduler={"name": "moasha", "fidelity": "data", "guard": False},
        seed=0,
    )
    steps: dict[int, list[int]] = {
        t.number: [row["step"] for row in t.user_attrs.get("archtune.curve") or []]
        for t in result.study.trials
    }
    assert result.counts.get("stopped", 0) >= 1
    for trial in result.trials:
        curve = steps[trial.number]
        assert curve == list(range(1, len(curve) + 1))  # one report per epoch-equivalent
        if trial.status == "stopped":
            assert curve[-1] in (1, 4)  # at a stage's end
        else:
            assert curve[-1] == 13
            assert trial.metrics["epochs"] == 13.0
    assert sum(map(len, steps.values())) <= 80 + 13  # the last trial may overshoot by one


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scheduler": {"name": "hyperband", "fidelity": "data"}}, "asha or moasha"),
        ({"scheduler": {"name": "asha", "fidelity": "rows"}}, "'epochs' or 'data'"),
        (
            {"scheduler": {"name": "asha", "fidelity": "data"}, "recipe": {"epochs": [3, 6]}},
            "fixed recipe.epochs",
        ),
    ],
)
def test_a_data_fidelity_it_cannot_use_is_refused_with_the_fix(
    changes: dict[str, Any], message: str
) -> None:
    kwargs: dict[str, Any] = {
        "data": {"dataset": "digits"},
        "model": {"family": "mlp"},
        "recipe": {"epochs": 3},
        "n_trials": 2,
    }
    with pytest.raises(ConfigError, match=message):
        archtune.tune(**(kwargs | changes))


def test_an_objective_of_your_own_is_told_data_fidelity_needs_built_in_training() -> None:
    with pytest.raises(ConfigError, match="an objective of your own chooses its own data"):
        archtune.tune(
            "objectives:quadratic",
            space={"x": archtune.Float(-1, 1)},
            objectives={"score": "max"},
            n_trials=2,
            scheduler={"name": "asha", "max_steps": 9, "fidelity": "data"},
        )
