"""Successive halving in its asynchronous form: ASHA, Hyperband and MO-ASHA.

All three stop a trial when it reaches a rung (a number of steps, usually epochs:
``min_steps * eta**k``) and is not among the best ``ceil(n / eta)`` of the ``n`` trials that have
reached that rung so far; while fewer than ``eta`` have, a trial is kept only if none of them
beats it there (none dominates it, with several objectives), as Optuna's successive halving
does, so the first trials of a study get no free pass to the end. They differ in how they
rank (one metric, or non-dominated sorting of all the objectives with the cost) and in where
the rungs start (Hyperband: several brackets).
Trials are never paused: a trial that is kept runs on at once (the stopping variant of ASHA).
A trial that reports it is warming up (:data:`~archtune._reporter.WARMUP_METRIC`) is not judged
until its warm-up ends; if a rung passed meanwhile, it is judged at its first report after.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from archtune._reporter import WARMUP_METRIC, Decision
from archtune.search._ranking import non_dominated, pareto_order
from archtune.search._rung_guard import RungGuard
from archtune.search._scheduler_base import BaseScheduler, StudyView

__all__ = ["ASHAScheduler", "HyperbandScheduler", "MOASHAScheduler", "rung_levels"]

_MAX_LEVEL = 10**6


def rung_levels(min_steps: int, eta: int, max_steps: int | None) -> list[int]:
    """The rungs ``min_steps * eta**k`` below ``max_steps`` (the last step is no rung)."""
    if min_steps < 1 or eta < 2:
        raise ValueError(f"min_steps must be >= 1 and eta >= 2, got {min_steps=}, {eta=}")
    levels, level = [], min_steps
    limit = _MAX_LEVEL if max_steps is None else max_steps
    while level < limit:
        levels.append(level)
        level *= eta
    return levels


def _crossed(study: StudyView, number: int, step: int, levels: Sequence[int]) -> int | None:
    """The highest rung this report crossed (reports may skip steps), or ``None``."""
    curve = study.curves.get(number, ())
    previous = curve[-2][0] if len(curve) >= 2 else -math.inf
    crossed = [level for level in levels if previous < level <= step]
    return crossed[-1] if crossed else None


def _after_warmup(study: StudyView, number: int, step: int, levels: Sequence[int]) -> int | None:
    """``step`` when this is the trial's first report after a warm-up that passed a rung (the
    trial is judged here against its peers' values at this step, as at a rung), else ``None``."""
    curve = study.curves.get(number, ())
    if len(curve) < 2 or curve[-2][1].get(WARMUP_METRIC) != 1.0:
        return None
    return step if any(level < step for level in levels) else None


def _point(
    study: StudyView, number: int, rung: int, metrics: Sequence[tuple[str, str]]
) -> list[float] | None:
    """The trial's values at the rung, each oriented so that larger is better."""
    point = []
    for metric, direction in metrics:
        value = study.value_at(number, rung, metric)
        if value is None:
            return None
        point.append(value if direction == "max" else -value)
    return point


class _RungScheduler(BaseScheduler):
    """Rungs, the guard, and the keep-the-top-share rule; subclasses say how to rank."""

    def __init__(
        self,
        *,
        eta: int = 3,
        min_steps: int = 1,
        max_steps: int | None = None,
        guard: RungGuard | None = None,
        levels: list[int] | None = None,
    ) -> None:
        self.eta = eta
        self.min_steps = min_steps
        self.max_steps = max_steps
        self.guard = guard if guard is not None else RungGuard(eta=eta)
        #: The rungs, when they are not ``min_steps * eta**k`` (the stages of a data fidelity).
        self.levels = levels

    def _levels(self, number: int) -> list[int]:
        if self.levels is not None:
            return list(self.levels)
        return rung_levels(self.min_steps, self.eta, self.max_steps)

    def _peers(self, study: StudyView, number: int) -> list[int]:
        return list(study.curves)

    def decide(self, study: StudyView, number: int, step: int) -> Decision:
        curve = study.curves.get(number, ())
        if curve and curve[-1][1].get(WARMUP_METRIC) == 1.0:
            return Decision.CONTINUE  # its learning rate is still rising: not comparable yet
        levels = self._levels(number)
        rung = _crossed(study, number, step, levels)
        if rung is None:
            rung = _after_warmup(study, number, step, levels)
        if rung is None or self.guard.is_sentinel(number):
            return Decision.CONTINUE
        metrics = self._metrics(study, number, rung)
        if not metrics:
            return Decision.CONTINUE
        signed = [(m, 1.0 if d == "max" else -1.0) for m, d in metrics]
        (metric, sign), *others = signed
        if not self.guard.trusts(study, rung, metric, sign, others):
            return Decision.CONTINUE
        points_by_peer = {n: _point(study, n, rung, metrics) for n in self._peers(study, number)}
        peers = [n for n, point in points_by_peer.items() if point is not None]
        if number not in peers:
            return Decision.CONTINUE
        points = [points_by_peer[n] or [] for n in peers]
        if len(peers) < self.eta:  # too few for a share: kept while no peer beats it here
            kept = {peers[i] for i in non_dominated(points)}
        else:
            keep = math.ceil(len(peers) / self.eta)
            kept = {peers[i] for i in pareto_order(points)[:keep]}
        return Decision.CONTINUE if number in kept else Decision.STOP

    def _metrics(self, study: StudyView, number: int, rung: int) -> list[tuple[str, str]]:
        """The objectives to rank on: the first one."""
        return list(study.objectives.directions[:1])


class ASHAScheduler(_RungScheduler):
    """Asynchronous successive halving on the first objective.

    Example:
        >>> ASHAScheduler(eta=3, min_steps=1, max_steps=27)._levels(0)
        [1, 3, 9]
    """


class HyperbandScheduler(_RungScheduler):
    """Hyperband: ASHA in several brackets whose first rung is ``min_steps * eta**s``.

    Trials go to the brackets in turn (by trial number), and each bracket ranks only its own
    trials, so aggressive and cautious early stopping run side by side.
    """

    def __init__(
        self,
        *,
        eta: int = 3,
        min_steps: int = 1,
        max_steps: int | None = None,
        n_brackets: int | None = None,
        guard: RungGuard | None = None,
    ) -> None:
        super().__init__(eta=eta, min_steps=min_steps, max_steps=max_steps, guard=guard)
        most = len(rung_levels(min_steps, eta, max_steps)) if max_steps else 3
        self.n_brackets = max(1, n_brackets if n_brackets is not None else most)

    def bracket(self, number: int) -> int:
        """The bracket of trial ``number``."""
        return number % self.n_brackets

    def _levels(self, number: int) -> list[int]:
        first = self.min_steps * self.eta ** self.bracket(number)
        return rung_levels(first, self.eta, self.max_steps)

    def _peers(self, study: StudyView, number: int) -> list[int]:
        bracket = self.bracket(number)
        return [n for n in study.curves if self.bracket(n) == bracket]


class MOASHAScheduler(_RungScheduler):
    """Multi-objective ASHA: rank a rung's trials by non-dominated sorting of every objective.

    Each objective's value at the rung comes from the trial's reports or, for costs known
    before training (``params``, ``flops``), from the precheck; objectives not known at the
    rung (a cost reported only at the end) are left out of the ranking. Within a front, trials
    with the larger crowding distance rank first (NSGA-II's order), so the kept share spreads
    along the front instead of crowding one end.
    """

    def _metrics(self, study: StudyView, number: int, rung: int) -> list[tuple[str, str]]:
        """Every objective this trial has a value for at the rung (reports and cost)."""
        return [
            (metric, direction)
            for metric, direction in study.objectives.directions
            if study.value_at(number, rung, metric) is not None
        ]
