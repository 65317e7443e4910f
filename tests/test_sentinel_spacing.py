"""The guard's sentinels get rarer while the rungs rank as the final values do, and come back
as soon as a rung does not."""

from __future__ import annotations

import random
from typing import Any

import pytest

from archtune import Decision
from archtune.search import ASHAScheduler, Objectives, RungGuard, StudyView

RUNG = 1


class Study:
    """A hand-driven study view: trials run one after the other to the end."""

    def __init__(self) -> None:
        self.curves: dict[int, list[tuple[int, dict[str, float]]]] = {}
        self.phases: dict[int, Any] = {}
        self.final: dict[int, dict[str, float]] = {}
        self.view = StudyView.of(
            Objectives.parse({"score": "max"}), self.curves, {}, self.phases, self.final
        )

    def complete(self, number: int, at_rung: float, final: float) -> None:
        self.curves[number] = [(RUNG, {"score": at_rung}), (9, {"score": final})]
        self.phases[number] = "complete"
        self.final[number] = {"score": final}


def _run(guard: RungGuard, study: Study, numbers: range, agree: bool = True) -> list[int]:
    """Ask each trial whether it is a sentinel, then complete it; judge the rung after each.

    Sentinels' rung values rank as their final values do (``agree``) or in reverse.
    """
    sentinels = []
    for number in numbers:
        if guard.is_sentinel(number):
            sentinels.append(number)
        final = float(number)
        study.complete(number, final if agree else -final, final)
        guard.trusts(study.view, RUNG, "score", 1.0)
    return sentinels


def test_the_spacing_doubles_for_every_min_pairs_sentinels_that_agree() -> None:
    guard = RungGuard(eta=3, sentinel_every=5, min_pairs=5)
    sentinels = _run(guard, Study(), range(260))
    # 5 agreeing sentinels (0, 1, 2, 5, 10): every 10th; 10 of them: every 20th; 15: every
    # 40th, the most.
    assert sentinels == [0, 1, 2, 5, 10, 20, 30, 40, 50, 60, 80, 100, 120, 140, 160, 200, 240]
    assert guard.spacing == 40
    assert guard.agreement == {RUNG: 1.0}
    assert guard.n_sentinels == len(sentinels)


def test_the_spacing_returns_to_sentinel_every_when_a_rung_disagrees() -> None:
    guard = RungGuard(eta=3, sentinel_every=5, min_pairs=5, min_agreement=-1.0)
    study = Study()
    assert _run(guard, study, range(11)) == [0, 1, 2, 5, 10]
    assert guard.spacing == 10
    # Sentinel 20 ranks last at the rung and first at the end: tau 0.33 over 6 pairs.
    assert _run(guard, study, range(11, 26), agree=False) == [20, 25]
    assert guard.agreement[RUNG] < guard.confident_agreement
    assert guard.spacing == 5
    assert not guard.disabled_rungs  # above min_agreement (-1 here): the rung stops trials
    # Agreeing sentinels raise tau to 0.6 again from the 11th pair; the spacing doubles once 5
    # more pairs than at the last judgement below 0.6 (10 pairs) agree: from sentinel 65 on.
    assert _run(guard, study, range(26, 81)) == [30, 35, 40, 45, 50, 55, 60, 65, 70, 80]
    assert guard.spacing == 10


def test_a_disabled_rung_keeps_the_spacing_at_sentinel_every() -> None:
    guard = RungGuard(eta=3, sentinel_every=5, min_pairs=5)
    sentinels = _run(guard, Study(), range(60), agree=False)
    assert RUNG in guard.disabled_rungs
    assert sentinels == [0, 1, 2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]


def test_a_trial_s_status_is_decided_once_in_the_order_first_asked() -> None:
    guard = RungGuard(eta=3, sentinel_every=5, min_pairs=5, min_agreement=-1.0)
    study = Study()
    assert guard.is_sentinel(15)  # asked early (a parallel worker), while the spacing is 5
    assert _run(guard, study, range(11)) == [0, 1, 2, 5, 10]
    assert guard.spacing == 10
    assert guard.is_sentinel(15)  # unchanged though 15 is no multiple of 10
    assert not guard.is_sentinel(25)  # decided now, with the spacing 10
    assert _run(guard, study, range(11, 21), agree=False) == [15, 20]
    assert guard.spacing == 5  # sentinels 15 and 20 disagree ...
    assert not guard.is_sentinel(25)  # ... and 25 stays what it was decided to be
    assert guard.is_sentinel(30)
    assert guard.is_sentinel(35)


def test_max_sentinels_counts_the_sentinels_decided_in_the_order_asked() -> None:
    capped = RungGuard(eta=3, sentinel_every=5, min_pairs=4, max_sentinels=4)
    assert [n for n in (10, 0, 1, 2, 5, 15) if capped.is_sentinel(n)] == [10, 0, 1, 2]
    assert capped.n_sentinels == 4
    grown = RungGuard(eta=3, sentinel_every=5, min_pairs=5, max_sentinels=7)
    assert _run(grown, Study(), range(100)) == [0, 1, 2, 5, 10, 20, 30]


def test_a_cap_below_the_pairs_a_judgement_needs_leaves_no_sentinels() -> None:
    """Sentinels are only worth their epochs if enough of them complete for the guard to judge
    a rung: with room for fewer than ``min_pairs``, none is kept from being stopped."""
    below = RungGuard(eta=3, sentinel_every=5, min_pairs=5, max_sentinels=4)
    assert _run(below, Study(), range(30)) == []
    assert below.n_sentinels == 0
    at = RungGuard(eta=3, sentinel_every=5, min_pairs=5, max_sentinels=5)
    assert _run(at, Study(), range(30)) == [0, 1, 2, 5, 10]


def test_a_disabled_guard_has_no_sentinels_and_trusts_every_rung() -> None:
    guard = RungGuard(enabled=False)
    study = Study()
    assert _run(guard, study, range(30), agree=False) == []
    assert guard.trusts(study.view, RUNG, "score", 1.0)
    assert guard.agreement == {}


def test_sentinel_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="sentinel_every must be >= 1"):
        RungGuard(sentinel_every=0)
    with pytest.raises(ValueError, match="sentinel_every <= max_sentinel_every"):
        RungGuard(sentinel_every=50, max_sentinel_every=40)


def test_asha_on_curves_that_rank_as_they_end_spends_fewer_trials_on_sentinels() -> None:
    """Through the scheduler: trials report each epoch and stop when ASHA says so."""
    rng = random.Random(0)
    scheduler = ASHAScheduler(eta=3, min_steps=1, max_steps=9)
    curves: dict[int, list[tuple[int, dict[str, float]]]] = {}
    phases: dict[int, Any] = {}
    final: dict[int, dict[str, float]] = {}
    view = StudyView.of(Objectives.parse({"score": "max"}), curves, {}, phases, final)
    n_trials = 120
    for number in range(n_trials):
        x = rng.random()
        for epoch in range(1, 10):
            curves.setdefault(number, []).append((epoch, {"score": x * epoch}))
            if scheduler.decide(view, number, epoch) is Decision.STOP:
                phases[number] = "stopped"
                break
        else:
            phases[number] = "complete"
            final[number] = {"score": x * 9}
    guard = scheduler.guard
    assert guard.agreement == {1: 1.0, 3: 1.0}
    sentinels = [n for n in range(n_trials) if guard.is_sentinel(n)]
    # Every 5th at first (26 sentinels in 120 trials): 12.
    assert sentinels == [0, 1, 2, 5, 10, 20, 30, 40, 50, 60, 80, 100]
    assert guard.spacing == 20
    assert all(phases[n] == "complete" for n in sentinels)
