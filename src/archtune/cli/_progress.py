"""A live progress bar for a running study."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from archtune.search import DriverStats

__all__ = ["StudyProgress"]


class StudyProgress:
    """Shows trials done of the budget, running, stopped, failed, the best so far and the ETA."""

    def __init__(self, name: str, *, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("trials"),
            TextColumn("[cyan]{task.fields[running]} running"),
            TextColumn("{task.fields[stopped]} stopped"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("[green]{task.fields[best]}"),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(
            name, total=None, running=0, stopped=0, failed=0, best=""
        )
        self._started = False

    def update(self, stats: DriverStats) -> None:
        """Redraw with ``stats``."""
        if not self._started:
            self._progress.update(self._task, total=stats.total, completed=stats.done)
            self._progress.reset(self._task, total=stats.total, completed=stats.done)
            self._started = True
        self._progress.update(
            self._task,
            completed=stats.done,
            running=stats.running,
            stopped=stats.stopped,
            failed=stats.failed,
            best=f"best {stats.best}" if stats.best else "",
        )

    def __enter__(self) -> StudyProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
