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


def make_scheduler(spec: SchedulerSpec, objectives: Objectives) -> BaseScheduler:
    """The scheduler ``spec`` describes.

    Raises:
        ConfigError: an unknown name.
    """
    name = spec.resolved_name(objectives)
    guard = RungGuard(eta=spec.eta, enabled=spec.guard)
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
