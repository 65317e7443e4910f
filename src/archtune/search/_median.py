"""Median stopping: stop a trial whose best value so far is worse than the median of the
other trials at the same step."""

from __future__ import annotations

import statistics

from archtune._reporter import Decision
from archtune.search._rung_guard import RungGuard
from archtune.search._scheduler_base import BaseScheduler, StudyView

__all__ = ["MedianScheduler"]


class MedianScheduler(BaseScheduler):
    """The median stopping rule (Golovin et al., 2017) on the first objective.

    Args:
        min_steps: No trial stops before this step.
        n_startup_trials: Peers that must have reached the step before anyone is stopped.
        guard: Sentinel trials and the agreement check, per step.
    """

    def __init__(
        self, *, min_steps: int = 1, n_startup_trials: int = 5, guard: RungGuard | None = None
    ) -> None:
        self.min_steps = min_steps
        self.n_startup_trials = n_startup_trials
        self.guard = guard if guard is not None else RungGuard()

    def decide(self, study: StudyView, number: int, step: int) -> Decision:
        if step < self.min_steps or self.guard.is_sentinel(number):
            return Decision.CONTINUE
        metric, direction = study.objectives.directions[0]
        sign = 1.0 if direction == "max" else -1.0
        if not self.guard.trusts(study, step, metric, sign):
            return Decision.CONTINUE
        others = [study.value_at(n, step, metric) for n in study.curves if n != number]
        values = [sign * v for v in others if v is not None]
        if len(values) < self.n_startup_trials:
            return Decision.CONTINUE
        mine = [sign * m[metric] for s, m in study.curves[number] if s <= step and metric in m]
        if not mine:
            return Decision.CONTINUE
        return Decision.STOP if max(mine) < statistics.median(values) else Decision.CONTINUE
