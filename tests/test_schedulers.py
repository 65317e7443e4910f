"""Early stopping: ASHA, Hyperband, MO-ASHA, median, and the guard against misleading rungs."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archtune
import objectives as obj
from archtune import Decision, Float, Int
from archtune.search import (
    ASHAScheduler,
    HyperbandScheduler,
    MedianScheduler,
    MOASHAScheduler,
    Objectives,
    RungGuard,
    StudyView,
    rung_levels,
)
from archtune.search._ranking import front_ranks, kendall_tau, pareto_order

NO_GUARD = RungGuard(enabled=False)


class Study:
    """A hand-driven study view: trials report steps one by one."""

    def __init__(
        self, objectives: dict[str, str], costs: dict[int, dict[str, float]] | None = None
    ):
        self.curves: dict[int, list[tuple[int, dict[str, float]]]] = {}
        self.costs = costs or {}
        self.phases: dict[int, Any] = {}
        self.final: dict[int, dict[str, float]] = {}
        self.view = StudyView.of(
            Objectives.parse(objectives), self.curves, self.costs, self.phases, self.final
        )

    def report(self, scheduler: Any, number: int, step: int, **metrics: float) -> Decision:
        self.curves.setdefault(number, []).append((step, metrics))
        return scheduler.decide(self.view, number, step)


def test_rung_levels() -> None:
    assert rung_levels(1, 3, 27) == [1, 3, 9]
    assert rung_levels(2, 2, 20) == [2, 4, 8, 16]
    assert rung_levels(1, 3, None)[:4] == [1, 3, 9, 27]
    with pytest.raises(ValueError, match="eta >= 2"):
        rung_levels(1, 1, 10)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=40, unique=True),
    st.integers(2, 4),
)
def test_a_rung_never_keeps_more_than_its_share(values: list[float], eta: int) -> None:
    """Each decision keeps a trial only if it is in the best ceil(n/eta) of the n trials at the
    rung so far (the best of them while fewer than eta have arrived); with all values known,
    exactly that share."""
    scheduler = ASHAScheduler(eta=eta, min_steps=1, max_steps=9, guard=NO_GUARD)
    study = Study({"score": "max"})
    for number, value in enumerate(values):
        decision = study.report(scheduler, number, 1, score=value)
        arrived = values[: number + 1]
        rank = sorted(arrived, reverse=True).index(value)
        share = math.ceil(len(arrived) / eta) if len(arrived) >= eta else 1
        assert (decision is Decision.CONTINUE) == (rank < share)
    if len(values) >= eta:  # decisions with every value known keep exactly the share
        kept = [
            n
            for n in range(len(values))
            if scheduler.decide(study.view, n, 1) is Decision.CONTINUE
        ]
        assert len(kept) == math.ceil(len(values) / eta)


def test_asha_stops_the_worst_at_each_rung_and_minimises_too() -> None:
    scheduler = ASHAScheduler(eta=2, min_steps=1, max_steps=8, guard=NO_GUARD)
    study = Study({"loss": "min"})
    assert study.report(scheduler, 0, 1, loss=0.5) is Decision.CONTINUE  # too few to judge
    assert study.report(scheduler, 1, 1, loss=0.9) is Decision.STOP  # worse of two
    assert study.report(scheduler, 2, 1, loss=0.1) is Decision.CONTINUE
    assert study.report(scheduler, 2, 2, loss=0.05) is Decision.CONTINUE  # rung 2: alone


def test_the_first_trials_at_a_rung_are_kept_only_while_none_beats_them() -> None:
    """Fewer than eta trials at a rung are no reason to run one to the end: a trial that an
    earlier one beats there stops (as in Optuna's successive halving); with several
    objectives, one that an earlier one dominates."""
    scheduler = ASHAScheduler(eta=4, min_steps=1, max_steps=16, guard=NO_GUARD)
    study = Study({"score": "max"})
    assert study.report(scheduler, 0, 1, score=0.5) is Decision.CONTINUE  # alone
    assert study.report(scheduler, 1, 1, score=0.1) is Decision.STOP  # trial 0 beats it
    assert study.report(scheduler, 2, 1, score=0.5) is Decision.CONTINUE  # a tie is kept

    costs = {0: {"params": 100.0}, 1: {"params": 10.0}, 2: {"params": 200.0}}
    moasha = MOASHAScheduler(eta=4, min_steps=1, max_steps=16, guard=NO_GUARD)
    mo = Study({"accuracy": "max", "params": "min"}, costs)
    assert mo.report(moasha, 0, 1, accuracy=0.8) is Decision.CONTINUE
    assert mo.report(moasha, 1, 1, accuracy=0.3) is Decision.CONTINUE  # smaller: on the front
    assert mo.report(moasha, 2, 1, accuracy=0.7) is Decision.STOP  # trial 0 dominates it


def test_hyperband_brackets_start_at_different_rungs() -> None:
    scheduler = HyperbandScheduler(eta=3, min_steps=1, max_steps=27, guard=NO_GUARD)
    assert scheduler.n_brackets == 3
    assert [scheduler._levels(n) for n in range(3)] == [[1, 3, 9], [3, 9], [9]]
    study = Study({"score": "max"})
    for number in (1, 4, 7):  # bracket 1: nothing happens at step 1
        assert study.report(scheduler, number, 1, score=0.1 * number) is Decision.CONTINUE
    decisions = [study.report(scheduler, n, 3, score=0.1 * n) for n in (1, 4, 7)]
    assert decisions == [Decision.CONTINUE] * 3  # fewer than eta at the rung, then the best
    assert scheduler.decide(study.view, 4, 3) is Decision.STOP  # judged with all three
    assert study.report(scheduler, 2, 1, score=0.0) is Decision.CONTINUE  # bracket 2: no rung 1


def test_moasha_keeps_the_front_and_uses_costs_known_before_training() -> None:
    costs = {0: {"params": 100.0}, 1: {"params": 10.0}, 2: {"params": 100.0}, 3: {"params": 50.0}}
    scheduler = MOASHAScheduler(eta=2, min_steps=1, max_steps=9, guard=NO_GUARD)
    study = Study({"accuracy": "max", "params": "min"}, costs)
    study.report(scheduler, 0, 1, accuracy=0.9)
    study.report(scheduler, 1, 1, accuracy=0.5)
    # Trial 2 is dominated by trial 0 (same size, less accurate): stopped.
    assert study.report(scheduler, 2, 1, accuracy=0.6) is Decision.STOP
    # Trial 3 is dominated by neither: on the front, kept.
    assert scheduler.decide(study.view, 0, 1) is Decision.CONTINUE
    assert pareto_order([(0.9, -100), (0.5, -10), (0.6, -100)])[-1] == 2


def test_median_stops_below_the_median_after_startup() -> None:
    scheduler = MedianScheduler(min_steps=1, n_startup_trials=3, guard=NO_GUARD)
    study = Study({"score": "max"})
    for number, value in enumerate([0.5, 0.6, 0.7]):
        assert study.report(scheduler, number, 1, score=value) is Decision.CONTINUE
    assert study.report(scheduler, 3, 1, score=0.2) is Decision.STOP
    assert study.report(scheduler, 4, 1, score=0.65) is Decision.CONTINUE


def test_kendall_tau() -> None:
    assert kendall_tau([1, 2, 3], [10, 20, 30]) == 1.0
    assert kendall_tau([1, 2, 3], [30, 20, 10]) == -1.0
    assert kendall_tau([1, 1, 1], [1, 2, 3]) == 0.0


def test_guard_disables_a_rung_whose_ranking_disagrees_with_the_final_one() -> None:
    guard = RungGuard(eta=3, sentinel_every=1, min_pairs=4, min_agreement=0.3)
    study = Study({"score": "max"})
    for number, x in enumerate([0.1, 0.4, 0.6, 0.9]):  # epoch 1 reversed, final in order
        study.curves[number] = [(1, {"score": 1 - x}), (9, {"score": x})]
        study.final[number] = {"score": x}
    assert not guard.trusts(study.view, 1, "score", 1.0)
    assert guard.disabled_rungs[1] == pytest.approx(-1.0)
    assert guard.trusts(study.view, 9, "score", 1.0)


def test_with_several_objectives_the_guard_judges_the_ranking_moasha_uses() -> None:
    # Sentinels like those of a mnist1d-mo study (docs/samplers.md): sizes, accuracy at epoch 1 and
    # at the end. Accuracy alone ranks poorly at epoch 1; the fronts, which MO-ASHA ranks
    # by, agree far better, since a small network stays on the front whatever it scores.
    sizes = [12202.0, 12202.0, 10922.0, 12202.0, 45594.0, 818.0, 130.0]
    early = [0.33, 0.46, 0.41, 0.30, 0.13, 0.30, 0.15]
    final = [0.985, 0.985, 0.985, 0.980, 0.244, 0.978, 0.168]
    study = Study({"accuracy": "max", "params": "min"})
    for number, (size, first, last) in enumerate(zip(sizes, early, final, strict=True)):
        study.curves[number] = [(1, {"accuracy": first}), (9, {"accuracy": last})]
        study.final[number] = {"accuracy": last, "params": size}
        study.costs[number] = {"params": size}
    alone = RungGuard(eta=3, sentinel_every=1, min_pairs=4)
    alone.trusts(study.view, 1, "accuracy", 1.0)
    both = RungGuard(eta=3, sentinel_every=1, min_pairs=4)
    assert both.trusts(study.view, 1, "accuracy", 1.0, [("params", -1.0)])
    points = [(a, -p) for a, p in zip(early, sizes, strict=True)]
    ends = [(a, -p) for a, p in zip(final, sizes, strict=True)]
    expected = kendall_tau(front_ranks(points), front_ranks(ends))
    assert both.agreement[1] == pytest.approx(expected)
    assert both.agreement[1] > alone.agreement[1]
    assert front_ranks([(0.9, -10.0), (0.8, -10.0), (0.95, -100.0)]) == [0.0, -1.0, 0.0]


def test_sentinels_all_on_one_front_at_the_rung_and_at_the_end_are_no_evidence() -> None:
    """Kendall's tau is undefined when every sentinel ties at the rung and at the end (each
    larger network more accurate: one front at both); that is no disagreement, so the rung
    keeps stopping trials and its spacing of sentinels stays. (Read as a tau of 0, it turned
    early stopping off in a study whose rungs ranked perfectly.)"""
    study = Study({"accuracy": "max", "params": "min"})
    for number, size in enumerate([10.0, 20.0, 40.0, 80.0, 160.0]):
        final = 0.5 + size / 400
        study.curves[number] = [(1, {"accuracy": final / 2}), (9, {"accuracy": final})]
        study.final[number] = {"accuracy": final, "params": size}
        study.costs[number] = {"params": size}
    guard = RungGuard(eta=3, sentinel_every=1, min_pairs=4)
    assert guard.trusts(study.view, 1, "accuracy", 1.0, [("params", -1.0)])
    assert guard.disabled_rungs == {}
    assert guard.agreement == {}
    # One sentinel off the front at the end, and at the rung: evidence, and it agrees.
    study.curves[5] = [(1, {"accuracy": 0.1}), (9, {"accuracy": 0.2})]
    study.final[5] = {"accuracy": 0.2, "params": 160.0}
    study.costs[5] = {"params": 160.0}
    assert guard.trusts(study.view, 1, "accuracy", 1.0, [("params", -1.0)])
    assert guard.agreement[1] == pytest.approx(1.0)


def _misleading(guard: bool) -> archtune.TuneResult:
    return archtune.tune(
        obj.misleading_curve,
        {"x": Float(0.0, 1.0)},
        objectives={"score": "max"},
        n_trials=36,
        sampler="random",
        seed=3,
        scheduler={"name": "asha", "eta": 3, "min_steps": 1, "max_steps": 9, "guard": guard},
    )


@pytest.mark.integration
def test_the_guard_rescues_a_search_where_epoch_one_misleads(caplog: Any) -> None:
    with caplog.at_level("INFO", logger="archtune"):
        guarded = _misleading(guard=True)
    unguarded = _misleading(guard=False)
    best_guarded = guarded.best_trial.values[0]  # type: ignore[index]
    best_unguarded = unguarded.best_trial.values[0]  # type: ignore[index]
    # Without the guard, ASHA keeps the trials that start fast and stops the ones that end best.
    assert best_guarded > best_unguarded + 0.1
    assert "guard: rung 1 no longer stops trials" in caplog.text
    assert guarded.counts["stopped"] > 0
    assert unguarded.counts["stopped"] > 0


@pytest.mark.integration
def test_a_multi_objective_study_stops_most_trials_early() -> None:
    result = archtune.tune(
        obj.accuracy_and_size,
        {"width": Int(1, 64, log=True), "quality": Float(0.5, 1.0)},
        objectives={"accuracy": "max", "size": "min"},
        n_trials=30,
        n_workers=2,
        seed=0,
        sampler="random",
        scheduler={"name": "auto", "max_steps": 9},
    )
    counts = result.counts
    assert counts["stopped"] > counts["complete"]  # most trials stopped before epoch 9
    assert counts["stopped"] + counts["complete"] == 30
    for trial in result.trials:
        frozen = result.study.trials[trial.number]
        if trial.status == "stopped":
            assert frozen.user_attrs["archtune.stopped_at"] < 9
            # Told with the values it had, so samplers learn from it.
            assert frozen.values is not None
    front = result.best_trials
    assert front
    assert all(t.status == "complete" for t in front)


def test_a_budget_of_steps_caps_the_guard_s_sentinels() -> None:
    from archtune.search import SchedulerSpec, make_scheduler
    from archtune.search._objectives import Objectives

    guard = RungGuard(eta=3, sentinel_every=5)
    assert [n for n in range(16) if guard.is_sentinel(n)] == [0, 1, 2, 5, 10, 15]
    capped = RungGuard(eta=3, sentinel_every=5, min_pairs=4, max_sentinels=4)
    assert [n for n in range(16) if capped.is_sentinel(n)] == [0, 1, 2, 5]
    # 1,200 epochs of 40-epoch trials: a quarter of the budget is 300 epochs, 7 sentinels.
    spec = SchedulerSpec(name="asha", max_steps=40)
    scheduler = make_scheduler(spec, Objectives.parse({"acc": "max"}), max_total_steps=1200)
    assert [n for n in range(16) if scheduler.guard.is_sentinel(n)] == [0, 1, 2, 5, 10, 15]  # type: ignore[attr-defined]
    # 300 epochs: a quarter is one sentinel, fewer than the 5 the guard needs to judge a rung,
    # so none: one trial run to the end whatever it shows would buy nothing.
    small = make_scheduler(spec, Objectives.parse({"acc": "max"}), max_total_steps=300)
    assert small.guard.max_sentinels == 1  # type: ignore[attr-defined]
    assert not any(small.guard.is_sentinel(n) for n in range(12))  # type: ignore[attr-defined]
    unbounded = make_scheduler(spec, Objectives.parse({"acc": "max"}))
    assert unbounded.guard.max_sentinels is None  # type: ignore[attr-defined]


def test_a_trial_is_not_judged_while_its_learning_rate_rises() -> None:
    """One-cycle and warm-up schedules start at a small rate: a rung during that phase says
    little. The trial is judged at its first report after the warm-up, against its peers'
    values at that step."""
    scheduler = ASHAScheduler(eta=2, min_steps=1, max_steps=16, guard=NO_GUARD)
    study = Study({"score": "max"})
    for step in range(1, 6):
        study.report(scheduler, 0, step, score=0.5 + 0.05 * step)
    # Trial 1 warms up through rungs 1 and 2 with the worst scores: never judged there.
    assert study.report(scheduler, 1, 1, score=0.1, warmup=1.0) is Decision.CONTINUE
    assert study.report(scheduler, 1, 2, score=0.2, warmup=1.0) is Decision.CONTINUE
    # Its first report after the warm-up (step 3, no rung) is judged as a rung: still the
    # worse of two at step 3 (0.3 against 0.65): stopped.
    assert study.report(scheduler, 1, 3, score=0.3) is Decision.STOP
    # Trial 2 warms up as long but catches up: kept at step 3, then judged at rung 4 as usual.
    assert study.report(scheduler, 2, 1, score=0.1, warmup=1.0) is Decision.CONTINUE
    assert study.report(scheduler, 2, 2, score=0.2, warmup=1.0) is Decision.CONTINUE
    assert study.report(scheduler, 2, 3, score=0.9) is Decision.CONTINUE
    assert study.report(scheduler, 2, 4, score=0.95) is Decision.CONTINUE
    assert study.report(scheduler, 2, 5, score=0.96) is Decision.CONTINUE  # no rung, no warm-up
    # Without the warm-up flag the same scores stop trial 3 at rung 1.
    assert study.report(scheduler, 3, 1, score=0.1) is Decision.STOP


@pytest.mark.integration
def test_the_starting_points_are_trained_to_the_end() -> None:
    # Each start is worse than the trials before it at the first rung, so ASHA would stop it.
    starts = [{"x": 0.04}, {"x": 0.03}, {"x": 0.02}, {"x": 0.01}]
    result = archtune.tune(
        obj.flat_curve,
        {"x": Float(0.0, 1.0)},
        objectives={"score": "max"},
        n_trials=12,
        sampler="random",
        seed=0,
        scheduler={"name": "asha", "eta": 3, "min_steps": 1, "max_steps": 9, "guard": False},
        starting_points=starts,
    )
    trials = result.study.trials
    assert [t.params["x"] for t in trials[:4]] == [0.04, 0.03, 0.02, 0.01]
    assert [t.user_attrs["archtune.start"] for t in trials[:4]] == ["defaults"] * 4
    assert all(len(t.user_attrs["archtune.curve"]) == 9 for t in trials[:4])
    # The others are judged as before: the worse ones stop at a rung.
    assert any(t.status == "stopped" for t in result.trials[4:])


def test_moasha_compares_a_trial_with_the_trials_of_its_cost_band() -> None:
    """A mnist1d-mo study at epoch 2 (docs/samplers.md): a 4,218-parameter network second
    best of 18 trials. Ranked against every trial, the first front (networks of 146 to 2,906
    parameters, some at 25 %) fills the kept third and one 2,906-parameter network at 92 %
    stops it; among the trials within a factor of COST_BAND of its size it is second, and
    kept. A network of that size below its band's share, and off the first front, is stopped."""
    epoch_2 = {  # trial: (params, validation accuracy at epoch 2)
        11: (2906, 0.92), 9: (1850, 0.85875), 13: (1594, 0.76875), 7: (2906, 0.75875),
        2: (10922, 0.72625), 17: (818, 0.6775), 1: (12202, 0.60375), 0: (12202, 0.6025),
        3: (2906, 0.59125), 5: (12202, 0.5875), 6: (32301, 0.46625), 4: (2906, 0.455),
        14: (282, 0.33625), 15: (146, 0.25375), 8: (220, 0.21125), 10: (45594, 0.1325),
        12: (150, 0.01625),
    }  # fmt: skip
    costs = {n: {"params": float(p)} for n, (p, _) in epoch_2.items()}
    costs[16] = {"params": 4218.0}
    costs[18] = {"params": 4218.0}
    study = Study({"val_accuracy": "max", "params": "min"}, costs)
    for number, (_, accuracy) in epoch_2.items():
        study.curves[number] = [
            (1, {"val_accuracy": accuracy / 2}),
            (2, {"val_accuracy": accuracy}),
        ]
    scheduler = MOASHAScheduler(eta=3, min_steps=2, max_steps=40, guard=NO_GUARD)
    assert study.report(scheduler, 16, 2, val_accuracy=0.88) is Decision.CONTINUE
    assert study.report(scheduler, 18, 2, val_accuracy=0.50) is Decision.STOP
    points = [(a, -p) for p, a in epoch_2.values()] + [(0.88, -4218.0)]
    assert len(points) - 1 not in pareto_order(points)[: math.ceil(len(points) / 3)]
