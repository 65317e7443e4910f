"""Build the scheduler an experiment asks for by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from archtune._errors import ConfigError
from archtune.search._median import MedianScheduler
from archtune.search._objectives import Objectives
from archtune.search._rung_guard import RungGuard
from archtune.search._rung_schedulers import ASHAScheduler, HyperbandScheduler, MOASHAScheduler
from archtune.search._scheduler import BaseScheduler, NoScheduler

__all__ = ["SCHEDULER_NAMES", "SchedulerName", "SchedulerSpec", "make_scheduler"]

SchedulerName = Literal["auto", "none", "median", "asha", "hyperband", "moasha"]
SCHEDULER_NAMES: tuple[str, ...] = get_args(SchedulerName)


@dataclass(frozen=True)
class SchedulerSpec:
    """``scheduler:``: which early stopping, and its settings.

    Attributes:
        name: ``auto`` (MO-ASHA for several objectives, ASHA for one), ``none``, ``median``,
            ``asha``, ``hyperband`` or ``moasha``.
        eta: Keep the best ``1/eta`` at each rung.
        min_steps: The first rung (steps are what trials report: epochs for built-in training).
        max_steps: The last step of a full trial (the epochs), when known: no rung there.
        guard: Keep sentinel trials unstopped and stop using rungs whose ranking disagrees with
            the final ranking.
    """

    name: str = "auto"
    eta: int = 3
    min_steps: int = 1
    max_steps: int | None = None
    guard: bool = True

    def resolved_name(self, objectives: Objectives) -> str:
        """The algorithm ``auto`` stands for."""
        if self.name != "auto":
            return self.name
        return "moasha" if objectives.is_multi else "asha"


#: The share of a budget of steps that the guard's sentinels (never stopped) may take.
SENTINEL_SHARE = 0.25


def make_scheduler(
    spec: SchedulerSpec, objectives: Objectives, *, max_total_steps: int | None = None
) -> BaseScheduler:
    """The scheduler ``spec`` describes.

    With a budget of steps (``budget.steps``) and a known trial length, the guard keeps at
    most :data:`SENTINEL_SHARE` of the budget for its sentinels: at small budgets full-length
    sentinels would otherwise take most of it.

    Raises:
        ConfigError: an unknown name.
    """
    name = spec.resolved_name(objectives)
    max_sentinels = None
    if max_total_steps is not None and spec.max_steps:
        max_sentinels = int(SENTINEL_SHARE * max_total_steps / spec.max_steps)
    guard = RungGuard(eta=spec.eta, enabled=spec.guard, max_sentinels=max_sentinels)
    if name == "none":
        return NoScheduler()
    if name == "median":
        return MedianScheduler(min_steps=spec.min_steps, guard=guard)
    if name == "asha":
        return ASHAScheduler(
            eta=spec.eta, min_steps=spec.min_steps, max_steps=spec.max_steps, guard=guard
        )
    if name == "hyperband":
        return HyperbandScheduler(
            eta=spec.eta, min_steps=spec.min_steps, max_steps=spec.max_steps, guard=guard
        )
    if name == "moasha":
        return MOASHAScheduler(
            eta=spec.eta, min_steps=spec.min_steps, max_steps=spec.max_steps, guard=guard
        )
    raise ConfigError(f"scheduler must be one of {', '.join(SCHEDULER_NAMES)}, got {name!r}")
