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

from archtune._reporter import Decision
from archtune.search._objectives import Objectives

__all__ = ["BaseScheduler", "NoScheduler", "StudyView"]


@dataclass(frozen=True)
class StudyView:
    """What a scheduler may read: the objectives and every trial's curve so far.

    Attributes:
        objectives: The study's objectives.
        curves: ``{trial number: [(step, metrics), ...]}`` for running and finished trials.
        finished: ``{trial number: final metrics}`` of the trials that ended.
    """

    objectives: Objectives
    curves: Mapping[int, Sequence[tuple[int, Mapping[str, float]]]]
    finished: Mapping[int, Mapping[str, float]]

    @classmethod
    def of(
        cls,
        objectives: Objectives,
        curves: dict[int, list[tuple[int, dict[str, float]]]],
        finished: dict[int, dict[str, float]],
    ) -> StudyView:
        """A read-only view over the driver's live dictionaries."""
        return cls(objectives, MappingProxyType(curves), MappingProxyType(finished))


class BaseScheduler(abc.ABC):
    """Decides whether a trial continues after it reported ``step``."""

    @abc.abstractmethod
    def decide(self, study: StudyView, number: int, step: int) -> Decision:
        """The decision for trial ``number``, which just reported ``step``."""


class NoScheduler(BaseScheduler):
    """Never stops a trial early."""

    def decide(self, study: StudyView, number: int, step: int) -> Decision:
        return Decision.CONTINUE
