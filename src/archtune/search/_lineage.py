"""Population-based training read back from a study: each member's lineage and schedule.

A member's schedule is the values it trained with, from which epoch on. A segment that
exploited another member starts from that member's schedule as it stood when the checkpoint
was copied (its segments asked before), cut at the copied checkpoint's epoch; the segment's
own values follow. :func:`schedule_recipe` turns a schedule into the ``schedule: piecewise``
recipe that plain training replays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from archtune.search import _attrs as attrs

__all__ = [
    "ScheduleStep",
    "best_member",
    "is_population_study",
    "member_schedule",
    "schedule_recipe",
    "varying",
]


@dataclass(frozen=True)
class ScheduleStep:
    """From ``epoch`` on (epochs trained before), the member trained with ``config``.

    Attributes:
        epoch: The epochs trained before these values applied.
        config: The configuration of the segment.
        trial: The trial (segment) that trained with it.
        member: The member whose segment it was (another than the one asked for where the
            schedule came with an exploited checkpoint).
        copied_from: The member this step's segment copied, where it exploited one.
    """

    epoch: int
    config: dict[str, Any]
    trial: int
    member: int
    copied_from: int | None = None


def is_population_study(trials: Sequence[FrozenTrial]) -> bool:
    """Whether the study ran population-based training."""
    return any(attrs.TRIAL_PBT_START in t.user_attrs for t in trials)


def _segments(trials: Sequence[FrozenTrial], member: int, before: int | None) -> list[FrozenTrial]:
    return sorted(
        (
            t
            for t in trials
            if attrs.TRIAL_PBT_START in t.user_attrs
            and attrs.lineage(t)[0] == member
            and (before is None or t.number < before)
            and t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        ),
        key=lambda t: t.number,
    )


def member_schedule(
    trials: Sequence[FrozenTrial], member: int, *, before: int | None = None
) -> list[ScheduleStep]:
    """The schedule of ``member`` (a lineage), from its segments asked before trial
    ``before`` (all by default)."""
    steps: list[ScheduleStep] = []
    for segment in _segments(trials, member, before):
        start = int(segment.user_attrs[attrs.TRIAL_PBT_START])
        parent = segment.user_attrs.get(attrs.TRIAL_PBT_PARENT)
        if parent is not None:
            inherited = member_schedule(trials, int(parent), before=segment.number)
            steps = [s for s in inherited if s.epoch < start]
        else:
            steps = [s for s in steps if s.epoch < start]
        steps.append(
            ScheduleStep(
                start,
                dict(segment.params),
                segment.number,
                member,
                None if parent is None else int(parent),
            )
        )
    return steps


def best_member(trials: Sequence[FrozenTrial], direction: str) -> int | None:
    """The lineage of the member whose completed training scored best (first objective)."""
    done = [
        t
        for t in trials
        if attrs.TRIAL_PBT_START in t.user_attrs
        and t.state == TrialState.COMPLETE
        and t.values is not None
    ]
    if not done:
        return None
    sign = 1.0 if direction == "max" else -1.0
    best = max(done, key=lambda t: sign * t.values[0])
    return attrs.lineage(best)[0]


def varying(steps: Sequence[ScheduleStep]) -> list[str]:
    """The parameters whose values change along ``steps``, in the order they appear."""
    names: list[str] = []
    for step in steps:
        for name, value in step.config.items():
            if name not in names and any(s.config.get(name) != value for s in steps):
                names.append(name)
    return names


def schedule_recipe(steps: Sequence[ScheduleStep], perturbed: Sequence[str]) -> dict[str, Any]:
    """The built-in training recipe that replays ``steps``: the last segment's recipe fields
    (the ``model.*`` parameters left out) with ``schedule: piecewise``, one point per change
    of the ``perturbed`` values."""
    if not steps:
        raise ValueError("an empty schedule has no recipe")
    recipe: dict[str, Any] = {
        k: v
        for k, v in steps[-1].config.items()
        if k not in perturbed and not k.startswith("model.") and k not in _SCHEDULE_FIELDS
    }
    points: list[dict[str, Any]] = []
    last: Mapping[str, Any] | None = None
    for step in steps:
        values = {k: step.config[k] for k in perturbed if k in step.config}
        if values != last:
            points.append({"epoch": step.epoch, **values})
            last = values
    recipe["schedule"] = "piecewise"
    recipe["piecewise"] = points
    return recipe


#: Recipe fields of the schedule a piecewise one replaces.
_SCHEDULE_FIELDS = (
    "schedule",
    "warmup_epochs",
    "step_size",
    "step_gamma",
    "exp_gamma",
    "pct_start",
    "plateau_factor",
    "plateau_patience",
)
