"""The driver <-> worker messages: small, picklable, framework-free.

Every executor (local processes today, Ray next) speaks exactly these. The driver sends a
:class:`TrialTask`; the worker answers with :class:`Report` messages (each answered with a
:class:`~archtune.Decision`) and ends with one :class:`TrialDone` or :class:`TrialError`. An
executor turns a worker that vanished into :class:`WorkerLost`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = ["Event", "Report", "TrialDone", "TrialError", "TrialTask", "WorkerLost"]


@dataclass(frozen=True)
class TrialTask:
    """Run the objective once with ``config``.

    ``artifacts`` is the study's artifact folder (``None``: checkpoints are off) and
    ``lineage`` the number of the trial's first attempt (``None``: this one), under which a
    rerun finds the checkpoints of the attempts before it. ``resumes_paused``: the trial is a
    population-based training member's next segment, which continues the checkpoint of a
    segment that paused (a stop that does not end the member).
    """

    number: int
    config: dict[str, Any]
    seed: int | None = None
    artifacts: str | None = None
    lineage: int | None = None
    resumes_paused: bool = False


@dataclass(frozen=True)
class Report:
    """Intermediate metrics of ``step``; the executor must answer with a decision."""

    number: int
    step: int
    metrics: dict[str, float]


@dataclass(frozen=True)
class TrialDone:
    """The objective returned ``metrics``; ``stopped`` when it ended after a STOP decision.

    ``threads``: torch's thread count in the worker when the objective returned (``None``:
    the objective never imported torch); a retraining of the trial uses it again.
    """

    number: int
    metrics: dict[str, Any]
    stopped: bool
    duration_s: float
    threads: int | None = None


@dataclass(frozen=True)
class TrialError:
    """The objective raised.

    ``kind`` is ``"error"`` for an exception in the user's code (the trial fails and counts) and
    ``"config"`` for a misuse that every trial would repeat (the study stops).
    """

    number: int
    kind: Literal["error", "config"]
    message: str
    traceback: str = ""
    duration_s: float = 0.0


@dataclass(frozen=True)
class WorkerLost:
    """The worker running trial ``number`` died (killed, crashed, out of memory)."""

    number: int
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


Event: TypeAlias = "Report | TrialDone | TrialError | WorkerLost"
"""What :meth:`BaseExecutor.poll` returns."""
