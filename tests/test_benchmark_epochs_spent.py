"""``benchmarks.epochs_spent``: where a kept study's epochs went, and the cautious front rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import optuna
import pytest
from benchmarks.epochs_spent import by_size, curves_of, front_rule_savings, main
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from archtune.search import _attrs as attrs

T0 = datetime(2026, 12, 7, 12, 0)


def _trial(
    minute: int, accuracies: list[float], params: float, *, start: bool = False
) -> optuna.trial.FrozenTrial:
    """A completed trial with one report per epoch, started at ``minute``, ending later."""
    curve = [{"step": i + 1, "val_accuracy": a} for i, a in enumerate(accuracies)]
    user_attrs = {attrs.TRIAL_CURVE: repr(curve), attrs.TRIAL_COST: {"params": params}}
    if start:
        user_attrs[attrs.TRIAL_START] = "defaults"
    trial = create_trial(
        state=TrialState.COMPLETE,
        values=[accuracies[-1], params],
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0.0, 1.0)},
        user_attrs=user_attrs,
    )
    trial.datetime_start = T0 + timedelta(minutes=minute)
    trial.datetime_complete = trial.datetime_start + timedelta(minutes=len(accuracies))
    return trial


def _rising(final: float, epochs: int, gain: float) -> list[float]:
    """A curve that ends at ``final`` after rising by ``gain`` over its last epochs."""
    return [final - gain * max(0.0, 1 - e / epochs) for e in range(1, epochs + 1)]


def _study() -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "minimize"])
    for minute, final, params in ((0, 0.95, 1000), (1, 0.90, 500), (2, 0.80, 200)):
        study.add_trial(_trial(minute, _rising(final, 40, 0.2), params, start=True))
    # Completed before the next two start: a small, accurate network.
    study.add_trial(_trial(50, _rising(0.97, 40, 0.1), 300))
    # Hopeless: 0.5 at epoch 9, larger than #3; the largest gain from 9 on is about 0.16.
    study.add_trial(_trial(100, [0.5] * 40, 2000))
    # Can still reach the front: smaller than every finished trial.
    study.add_trial(_trial(100, [0.3] * 40, 100))
    return study


def test_the_front_rule_stops_only_a_trial_that_a_finished_one_dominates_at_its_best() -> None:
    curves = curves_of(_study(), "val_accuracy")
    savings = front_rule_savings(curves, max_epochs=40)
    assert [(s.curve.number, s.rung, s.epochs) for s in savings] == [(4, 9, 31)]
    saving = savings[0]
    assert saving.by.params <= saving.curve.params
    assert saving.optimistic < saving.by.final


def test_starting_points_are_never_stopped_by_the_rule() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.add_trial(_trial(0, _rising(0.97, 40, 0.1), 100))
    for minute in (50, 51, 52):
        study.add_trial(_trial(minute, _rising(0.9, 40, 0.1), 150))
    study.add_trial(_trial(100, [0.2] * 40, 5000, start=True))
    study.add_trial(_trial(100, [0.2] * 40, 5000))  # the same curve, not a start
    savings = front_rule_savings(curves_of(study, "val_accuracy"), max_epochs=40)
    assert [s.curve.number for s in savings] == [5]


def test_the_trials_other_than_the_starts_are_counted_by_size() -> None:
    study = _study()
    study.add_trial(_trial(150, [0.4] * 9, 50_000))  # stopped at epoch 9
    bands = by_size(curves_of(study, "val_accuracy"), max_epochs=40)
    # the starts (1,000, 500 and 200 parameters) are left out
    counts = [(b.trials, b.to_the_end, b.epochs) for b in bands]
    assert counts == [(2, 2, 80), (1, 1, 40), (1, 0, 9)]


def test_the_script_prints_the_epochs_of_a_kept_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "study.db"
    storage = optuna.storages.RDBStorage(f"sqlite:///{db}")
    study = optuna.create_study(
        study_name="kept", storage=storage, directions=["maximize", "minimize"]
    )
    for trial in _study().trials:
        study.add_trial(trial)
    main([str(db)])
    out = capsys.readouterr().out
    assert "kept: 6 trials, 240 epochs" in out
    assert "starting points: 3 trials, 120 epochs" in out
    assert "saves 31 epochs" in out
    assert "epochs saved: 31" in out
    assert "under 1,000         2 trials,   2 run to the end,    80 epochs" in out
