"""The executor interface: where and how trials run."""

from __future__ import annotations

import abc
from types import TracebackType

from archtune._reporter import Decision
from archtune.execution._objective import ObjectiveRef
from archtune.execution._protocol import Event, TrialTask

__all__ = ["BaseExecutor"]


class BaseExecutor(abc.ABC):
    """Runs trials somewhere else than the driver and streams their events back.

    Life cycle: :meth:`start` once; then :meth:`submit` a task whenever :attr:`n_free` > 0,
    :meth:`poll` for events and :meth:`answer` every :class:`Report`; :meth:`cancel` a trial
    that ran out of time; :meth:`shutdown` at the end (also on errors: executors are context
    managers). Only the driver calls these, from one
    thread; executors never touch the study storage.
    """

    @abc.abstractmethod
    def start(self, objective: ObjectiveRef, *, metric_names: list[str]) -> None:
        """Start the workers; each loads ``objective`` itself."""

    @property
    @abc.abstractmethod
    def n_free(self) -> int:
        """How many more tasks can run now."""

    @property
    @abc.abstractmethod
    def running(self) -> list[int]:
        """The numbers of the trials running now."""

    @abc.abstractmethod
    def submit(self, task: TrialTask) -> None:
        """Start ``task`` on a free worker."""

    @abc.abstractmethod
    def poll(self, timeout: float) -> list[Event]:
        """Wait up to ``timeout`` seconds and return the events that arrived (maybe none)."""

    @abc.abstractmethod
    def answer(self, number: int, decision: Decision) -> None:
        """Answer the last :class:`Report` of trial ``number``."""

    @abc.abstractmethod
    def cancel(self, number: int) -> None:
        """End trial ``number`` now (a time limit passed): stop its worker and start a fresh one.

        No event of that trial follows, and its worker is free again at once. A trial that is
        not running is ignored.
        """

    @abc.abstractmethod
    def shutdown(self) -> list[int]:
        """Stop every worker now; return the numbers of the trials that were cut short."""

    def __enter__(self) -> BaseExecutor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()
