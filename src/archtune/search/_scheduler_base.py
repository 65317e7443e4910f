"""The scheduler interface: decide, at each intermediate report, whether a trial goes on.

A scheduler sees a read-only :class:`StudyView` and returns a :class:`~archtune.Decision`;
it never touches the executor or the storage. Early-stopping algorithms (median, ASHA,
Hyperband, MO-ASHA) are one class each implementing :class:`BaseScheduler`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from archtune._reporter import Decision
from archtune.search._objectives import Objectives

__all__ = ["BaseScheduler", "NoScheduler", "StudyView", "TrialPhase"]

TrialPhase = Literal["running", "complete", "stopped"]
Curve = Sequence[tuple[int, Mapping[str, float]]]


@dataclass(frozen=True)
class StudyView:
    """What a scheduler may read: the objectives, each trial's curve, cost and phase.

    Attributes:
        objectives: The study's objectives.
        curves: ``{trial number: [(step, metrics), ...]}`` for running and ended trials.
        costs: ``{trial number: cost}`` known before training (``params``, ``flops``), when
            the experiment has a precheck.
        phases: ``{trial number: running | complete | stopped}``.
        final: ``{trial number: final metrics}`` of the trials that completed.
    """

    objectives: Objectives
    curves: Mapping[int, Curve]
    costs: Mapping[int, Mapping[str, float]]
    phases: Mapping[int, TrialPhase]
    final: Mapping[int, Mapping[str, float]]

    @classmethod
    def of(
        cls,
        objectives: Objectives,
        curves: dict[int, list[tuple[int, dict[str, float]]]],
        costs: dict[int, dict[str, float]],
        phases: dict[int, TrialPhase],
        final: dict[int, dict[str, float]],
    ) -> StudyView:
        """A read-only view over the driver's live dictionaries."""
        return cls(
            objectives,
            MappingProxyType(curves),
            MappingProxyType(costs),
            MappingProxyType(phases),
            MappingProxyType(final),
        )

    def value_at(self, number: int, step: int, metric: str) -> float | None:
        """``metric`` of trial ``number`` at the last report at or before ``step``.

        Costs (``params``, ``flops``, ...) known before training answer for any step. ``None``
        when the trial has not reached ``step`` or never reported ``metric``.
        """
        curve = self.curves.get(number, ())
        if not curve or curve[-1][0] < step:
            return None
        value = None
        for reported, metrics in curve:
            if reported > step:
                break
            if metric in metrics:
                value = metrics[metric]
        if value is None:
            value = self.costs.get(number, {}).get(metric)
        return value


class BaseScheduler(abc.ABC):
    """Decides whether a trial continues after it reported ``step``."""

    @abc.abstractmethod
    def decide(self, study: StudyView, number: int, step: int) -> Decision:
        """The decision for trial ``number``, which just reported ``step``."""


class NoScheduler(BaseScheduler):
    """Never stops a trial early."""

    def decide(self, study: StudyView, number: int, step: int) -> Decision:
        return Decision.CONTINUE
