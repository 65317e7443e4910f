"""Population-based training (PBT): a population trains side by side; at each interval the
weaker members copy a stronger one's weights and hyperparameters and perturb them.

A member is a lineage of trials, its *segments*. A segment restores the member's latest
checkpoint, trains until the next multiple of ``interval`` epochs and pauses there (the
scheduler answers STOP; the trial is recorded PRUNED with ``archtune.pbt.paused_at`` and does
not count toward the budget). The member's next segment continues from that checkpoint; its
last segment trains to ``max_steps`` and completes: ``budget.trials`` counts members.

The driver asks :meth:`PopulationScheduler.next_segment` for work instead of the sampler, once
the population is full. Rounds are synchronous: a member waiting at epoch ``e`` continues only
once every member has reached ``e``, so a population larger than the workers advances together
(Ray Tune's PBT pauses trials for the same reason) and every decision compares members at equal
epochs, whatever the order in which workers finish. When the last member reaches ``e`` the
round is decided at once: each member whose score at ``e`` ranks in the bottom ``quantile``
*exploits* a member of the top ``quantile``, chosen at random: its lineage receives a copy of
that member's checkpoint (exploiting members are dispatched first, before the members they copy
move on) and its segment trains with that member's configuration *explored*: each perturbed
parameter is resampled from the space with probability ``resample_probability``, else a number
is multiplied by one of ``factors`` (clipped to its bounds, snapped to its step and log scale)
and a category moves to a neighbouring option. Perturbations never leave the space
(:func:`explore`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from optuna.trial import FrozenTrial, TrialState

from archtune._reporter import Decision
from archtune.search import _attrs as attrs
from archtune.search._objectives import Objectives
from archtune.search._scheduler_base import BaseScheduler, StudyView
from archtune.space import Choice, Fixed, Float, Int, Space

__all__ = [
    "Member",
    "PopulationScheduler",
    "Segment",
    "default_interval",
    "explore",
]

Explore = Literal["perturb", "resample"]


def default_interval(max_steps: int) -> int:
    """About eight exploit rounds per training, at least one step apart."""
    return max(1, round(max_steps / 8))


@dataclass(frozen=True)
class Segment:
    """What the driver runs next.

    Attributes:
        member: The member's lineage (the number of its first trial); ``None``: a new member,
            whose configuration the sampler proposes.
        config: The configuration to train with (``None`` for a new member).
        start: The epochs the member trained before this segment.
        parent: The member whose checkpoint this one copies first (exploit), else ``None``.
    """

    member: int | None
    config: dict[str, Any] | None = None
    start: int = 0
    parent: int | None = None


@dataclass
class Member:
    """One member of the population, as the scheduler tracks it."""

    lineage: int
    config: dict[str, Any]
    trial: int
    start: int = 0
    epoch: int = 0
    state: Literal["running", "waiting", "done"] = "running"
    scores: dict[int, float] = field(default_factory=dict)
    attempts: int = 1


def explore(
    config: Mapping[str, Any],
    space: Space,
    names: Sequence[str],
    rng: random.Random,
    *,
    rule: Explore = "perturb",
    factors: tuple[float, float] = (0.8, 1.2),
    resample_probability: float = 0.25,
) -> dict[str, Any]:
    """``config`` with the active parameters ``names`` perturbed (or resampled), in the space.

    Numbers are multiplied by a factor, then clipped to their bounds and snapped to their
    step; an integer that the factor leaves unchanged moves one step instead, so a small
    integer is never stuck. Categories move to a neighbouring option (their order is the
    order the space lists them in).
    """
    out = dict(config)
    for name in names:
        param = space[name]
        if name not in out or isinstance(param, Fixed):
            continue
        if rule == "resample" or rng.random() < resample_probability:
            out[name] = _draw(param, rng)
        elif isinstance(param, Choice):
            index = _option_index(param, out[name])
            step = rng.choice((-1, 1))
            out[name] = param.options[min(len(param.options) - 1, max(0, index + step))]
        elif isinstance(param, Int | Float):
            out[name] = _scaled(param, out[name], rng.choice(factors))
    return _repaired(out, space, rng)


def _repaired(config: dict[str, Any], space: Space, rng: random.Random) -> dict[str, Any]:
    """``config`` after a category that others depend on moved: parameters whose ``when`` no
    longer holds are dropped, those it now enables are drawn, parents first."""
    out: dict[str, Any] = {}
    for name, param in space.items():
        if not space.is_active(name, out):
            continue
        if name in config:
            out[name] = config[name]
        elif isinstance(param, Fixed):
            out[name] = param.value
        else:
            out[name] = _draw(param, rng)
    return out


def _draw(param: Any, rng: random.Random) -> Any:
    if isinstance(param, Choice):
        return rng.choice(param.options)
    if param.log:
        value = math.exp(rng.uniform(math.log(param.low), math.log(param.high)))
    else:
        value = rng.uniform(param.low, param.high)
    return _snap(param, value)


def _option_index(param: Choice, value: Any) -> int:
    for i, option in enumerate(param.options):
        if option == value and type(option) is type(value):
            return i
    return 0


def _scaled(param: Int | Float, value: Any, factor: float) -> int | float:
    moved = _snap(param, float(value) * factor)
    if isinstance(param, Int) and moved == value:  # a factor too small to move an integer
        step = param.step or 1
        moved = _snap(param, float(value) + (step if factor > 1 else -step))
    return moved


def _snap(param: Int | Float, value: float) -> int | float:
    value = min(float(param.high), max(float(param.low), value))
    if param.step is not None:
        value = param.low + round((value - param.low) / param.step) * param.step
        value = min(float(param.high), max(float(param.low), value))
    return round(value) if isinstance(param, Int) else float(value)


class PopulationScheduler(BaseScheduler):
    """PBT (see the module docstring): pauses segments at each interval and plans the next.

    Args:
        space: The study's space (perturbations stay in it).
        population: Members trained side by side.
        max_steps: The epochs of a whole training (a member is done there).
        interval: Epochs between two exploit decisions.
        perturb: The parameters explore may change (the rest are copied as they are).
        quantile: The bottom share of members that exploit the top share.
        rule: ``perturb`` (factors and neighbouring options, with some resampling) or
            ``resample`` (draw each perturbed parameter from the space again).
        resample_probability: With ``perturb``: the chance that a parameter is drawn again.
        seed: Seeds the choice of parents and the perturbations.
        max_retries: Reruns of a segment whose worker died before its member is dropped.
    """

    def __init__(
        self,
        *,
        space: Space,
        population: int,
        max_steps: int,
        interval: int,
        perturb: Sequence[str],
        quantile: float = 0.25,
        rule: Explore = "perturb",
        resample_probability: float = 0.25,
        seed: int | None = None,
        max_retries: int = 1,
    ) -> None:
        self.space = space
        self.population = population
        self.max_steps = max_steps
        self.interval = interval
        self.perturb = tuple(perturb)
        self.quantile = quantile
        self.rule: Explore = rule
        self.resample_probability = resample_probability
        self.max_retries = max_retries
        self._rng = random.Random(seed)
        self._members: dict[int, Member] = {}  # by lineage
        self._by_trial: dict[int, int] = {}  # trial number -> lineage
        self._new_asked = 0  # new members asked and not yet registered
        self._decided: set[int] = set()  # epochs whose exploit round is decided
        self._plan: dict[int, Member] = {}  # member lineage -> the member it copies next

    # -- the driver's questions -------------------------------------------------------------
    def has_next(self) -> bool:
        """Whether a segment can start now."""
        if len(self._members) + self._new_asked < self.population:
            return True
        return self._next_member() is not None

    def done(self) -> bool:
        """Whether every member has finished (or been dropped)."""
        return len(self._members) >= self.population and all(
            m.state == "done" for m in self._members.values()
        )

    def next_segment(self, view: StudyView) -> Segment | None:
        """The next segment to run: a new member while the population is not full, else a
        member waiting at the lowest epoch once every member has reached it (exploiting
        members first, so the members they copy have not moved on yet)."""
        if len(self._members) + self._new_asked < self.population:
            self._new_asked += 1
            return Segment(None)
        member = self._next_member()
        if member is None:
            return None
        parent = self._plan.pop(member.lineage, None)
        if parent is None:
            return Segment(member.lineage, dict(member.config), member.epoch)
        config = explore(
            parent.config,
            self.space,
            self.perturb,
            self._rng,
            rule=self.rule,
            resample_probability=self.resample_probability,
        )
        return Segment(member.lineage, config, parent.epoch, parent.lineage)

    def _next_member(self) -> Member | None:
        """The waiting member to continue, or ``None`` while a member has yet to reach the
        lowest waiting epoch (the round's barrier) or none waits."""
        waiting = [m for m in self._members.values() if m.state == "waiting"]
        if not waiting:
            return None
        epoch = min(m.epoch for m in waiting)
        if any(m.state == "running" and m.start < epoch for m in self._members.values()):
            return None  # a member still trains toward this epoch
        if epoch not in self._decided:
            self._decided.add(epoch)
            self._plan.update(self._exploits(epoch))
        at_epoch = [m for m in waiting if m.epoch == epoch]
        return min(at_epoch, key=lambda m: (m.lineage not in self._plan, m.lineage))

    def started(
        self, trial: int, segment: Segment, config: Mapping[str, Any], trained: int
    ) -> None:
        """The driver started ``segment`` as trial ``trial`` with ``config``, from the
        member's checkpoint after ``trained`` steps."""
        if segment.member is None:
            self._new_asked -= 1
            self._members[trial] = Member(lineage=trial, config=dict(config), trial=trial)
            self._by_trial[trial] = trial
            return
        member = self._members[segment.member]
        if segment.parent is not None:
            parent = self._members[segment.parent]
            member.scores = {s: v for s, v in parent.scores.items() if s <= trained}
        member.config, member.trial = dict(config), trial
        member.start = member.epoch = trained
        member.state = "running"
        self._by_trial[trial] = member.lineage

    def has_members(self) -> bool:
        """Whether the population has any member yet (a resumed study)."""
        return bool(self._members)

    def rebuild(
        self,
        trials: Sequence[FrozenTrial],
        reports_of: Callable[[int], list[tuple[int, dict[str, float]]]],
        objectives: Objectives,
    ) -> None:
        """On resume: the members, their configurations, scores and states, from the study's
        segments and each lineage's reports beside its checkpoint."""
        metric, direction = objectives.directions[0]
        sign = 1.0 if direction == "max" else -1.0
        segments: dict[int, list[FrozenTrial]] = {}
        for trial in trials:
            if attrs.TRIAL_PBT_START in trial.user_attrs:
                segments.setdefault(attrs.lineage(trial)[0], []).append(trial)
        for lineage, own in sorted(segments.items()):
            last = max(own, key=lambda t: t.number)
            member = Member(lineage=lineage, config=dict(last.params), trial=last.number)
            for step, metrics in reports_of(lineage):
                member.epoch = step
                value = metrics.get(metric)
                if value is not None and math.isfinite(value):
                    member.scores[step] = sign * value
            ended = last.state == TrialState.COMPLETE or (
                last.state == TrialState.FAIL and attrs.counts_toward_budget(last)
            )
            member.state = "done" if ended else "waiting"
            self._members[lineage] = member
            self._by_trial.update({t.number: lineage for t in own})

    def interrupted(self, trial: int) -> None:
        """Trial ``trial`` was cut short by the machinery (a time limit): its member waits."""
        self._member_of(trial).state = "waiting"

    def cancelled(self, segment: Segment) -> None:
        """A segment the driver asked for did not start (its configuration was infeasible)."""
        if segment.member is None:
            self._new_asked -= 1
            self.population -= 1  # the sampler's proposal cannot be trained: one fewer

    def is_member(self, trial: int) -> bool:
        """Whether ``trial`` is a segment of a member."""
        return trial in self._by_trial

    def paused(self, trial: int) -> None:
        """Trial ``trial`` paused at an interval: its member waits for its next segment."""
        self._member_of(trial).state = "waiting"

    def finished(self, trial: int) -> None:
        """Trial ``trial`` ended for good (completed, or failed in the user's code)."""
        self._member_of(trial).state = "done"

    def lost(self, trial: int) -> bool:
        """Trial ``trial``'s worker died: its member runs again from its last checkpoint;
        ``False`` when it has no retries left (then it is done)."""
        member = self._member_of(trial)
        member.attempts += 1
        member.state = "waiting" if member.attempts <= self.max_retries + 1 else "done"
        return member.state == "waiting"

    def member_of(self, trial: int) -> int:
        """The lineage of the member trial ``trial`` is a segment of."""
        return self._by_trial[trial]

    def segment_start(self, trial: int) -> int:
        """The epochs trained before trial ``trial``'s segment."""
        return self._members[self._by_trial[trial]].start

    # -- the scheduler's answer -------------------------------------------------------------
    def decide(self, study: StudyView, number: int, step: int) -> Decision:
        """Record the member's score; pause at each interval before the end."""
        lineage = self._by_trial.get(number)
        if lineage is None:
            return Decision.CONTINUE
        member = self._members[lineage]
        member.epoch = step
        metric, direction = study.objectives.directions[0]
        value = study.value_at(number, step, metric)
        if value is not None and math.isfinite(value):
            member.scores[step] = value if direction == "max" else -value
        if step < self.max_steps and step > member.start and step % self.interval == 0:
            return Decision.STOP
        return Decision.CONTINUE

    # -- helpers ----------------------------------------------------------------------------
    def _member_of(self, trial: int) -> Member:
        return self._members[self._by_trial[trial]]

    def _exploits(self, epoch: int) -> dict[int, Member]:
        """The round's decisions at ``epoch``: each member ranked in the bottom ``quantile``
        of those that reached it copies a member of the top ``quantile`` (one waiting there)."""
        peers = [m for m in self._members.values() if epoch in m.scores]
        if len(peers) < 2:
            return {}
        ranked = sorted(peers, key=lambda m: (m.scores[epoch], -m.lineage))  # worst first
        k = max(1, round(self.quantile * len(ranked)))
        top = [m for m in ranked[-k:] if m.state == "waiting" and m.epoch == epoch]
        plan: dict[int, Member] = {}
        for member in ranked[:k]:
            choices = [m for m in top if m is not member]
            if member.state == "waiting" and member.epoch == epoch and choices:
                plan[member.lineage] = self._rng.choice(choices)
        return plan
