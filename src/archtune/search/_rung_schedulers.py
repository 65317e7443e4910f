"""Successive halving in its asynchronous form: ASHA, Hyperband and MO-ASHA.

All three stop a trial when it reaches a rung (a number of steps, usually epochs:
``min_steps * eta**k``) and is not among the best ``ceil(n / eta)`` of the ``n`` trials that have
reached that rung so far; while fewer than ``eta`` have, a trial is kept only if none of them
beats it there (none dominates it, with several objectives), as Optuna's successive halving
does, so the first trials of a study get no free pass to the end. They differ in how they
rank (one metric, or non-dominated sorting of all the objectives with the cost, and for
MO-ASHA a band of similar cost too) and in where the rungs start (Hyperband: several
brackets).
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
        kept = self._keeps(study, number, rung, metrics)
        return Decision.CONTINUE if kept else Decision.STOP

    def _keeps(
        self, study: StudyView, number: int, rung: int, metrics: list[tuple[str, str]]
    ) -> bool:
        """Whether the trial is in its peers' kept share at the rung."""
        return _in_share(study, number, rung, metrics, self._peers(study, number), self.eta)

    def _metrics(self, study: StudyView, number: int, rung: int) -> list[tuple[str, str]]:
        """The objectives to rank on: the first one."""
        return list(study.objectives.directions[:1])


def _in_share(
    study: StudyView,
    number: int,
    rung: int,
    metrics: list[tuple[str, str]],
    candidates: Sequence[int],
    eta: int,
) -> bool:
    """Whether trial ``number`` is among the best ``ceil(n / eta)`` of the ``n`` trials of
    ``candidates`` with values at the rung, ranked on ``metrics`` (while ``n < eta``: whether
    none of them beats it there). A trial without values at the rung is kept."""
    points_by_peer = {n: _point(study, n, rung, metrics) for n in candidates}
    peers = [n for n, point in points_by_peer.items() if point is not None]
    if number not in peers:
        return True
    points = [points_by_peer[n] or [] for n in peers]
    if len(peers) < eta:  # too few for a share: kept while no peer beats it here
        kept = {peers[i] for i in non_dominated(points)}
    else:
        keep = math.ceil(len(peers) / eta)
        kept = {peers[i] for i in pareto_order(points)[:keep]}
    return number in kept


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

    With a cost known before training among the objectives, a trial outside that share is
    still kept when it is in the share of its cost band: the trials whose cost is within
    :data:`COST_BAND` of its own, ranked on the other objectives. Ranked against every trial,
    the first front can fill the share with the smallest networks whatever they score, and
    one smaller, better network stops a good one: on mnist1d it stopped a 4,218-parameter
    network second of 18 at epoch 2 whose like ends at 99 % (docs/samplers.md).
    """

    def _metrics(self, study: StudyView, number: int, rung: int) -> list[tuple[str, str]]:
        """Every objective this trial has a value for at the rung (reports and cost)."""
        return [
            (metric, direction)
            for metric, direction in study.objectives.directions
            if study.value_at(number, rung, metric) is not None
        ]

    def _keeps(
        self, study: StudyView, number: int, rung: int, metrics: list[tuple[str, str]]
    ) -> bool:
        """In the share of every trial on every objective, or in its cost band's share."""
        if super()._keeps(study, number, rung, metrics):
            return True
        known = _known_cost(study, number)
        if known is None:
            return False
        name, cost = known
        trained = [(m, d) for m, d in metrics if m != name]
        band = [
            n
            for n in study.curves
            if (other := study.costs.get(n, {}).get(name)) is not None
            and cost / COST_BAND <= other <= cost * COST_BAND
        ]
        return bool(trained) and _in_share(study, number, rung, trained, band, self.eta)


#: How far apart two trials' known costs may be for them to share a cost band: a factor of
#: about 3.2 either way, so a band spans one decade of the cost axis.
COST_BAND = 10**0.5


def _known_cost(study: StudyView, number: int) -> tuple[str, float] | None:
    """The objective known before training (``params``, ``flops``), minimised, and its
    value for this trial; ``None`` without one."""
    for metric, direction in study.objectives.directions:
        value = study.costs.get(number, {}).get(metric)
        if direction == "min" and value is not None and value > 0:
            return metric, value
    return None
