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
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("trials · {task.fields[counts]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("[green]{task.fields[best]}"),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(name, total=None, counts="", best="")
        self._started = False
        self._shown = False

    def update(self, stats: DriverStats) -> None:
        """Redraw with ``stats`` (the bar appears at the first update: a study that cannot
        be opened leaves only its one-line error)."""
        if not self._shown:
            self._progress.start()
            self._shown = True
        if not self._started:
            self._progress.update(self._task, total=stats.total, completed=stats.done)
            self._progress.reset(self._task, total=stats.total, completed=stats.done)
            self._started = True
        counts = [f"[cyan]{stats.running} running[/]"]
        counts += [f"{stats.stopped} stopped"] if stats.stopped else []
        counts += [f"[red]{stats.failed} failed[/]"] if stats.failed else []
        counts += [f"{stats.infeasible} infeasible"] if stats.infeasible else []
        counts += [f"{stats.retried} retried"] if stats.retried else []
        self._progress.update(
            self._task,
            completed=stats.done,
            counts=" · ".join(counts),
            best=f"best {stats.best}" if stats.best else "",
        )

    def __enter__(self) -> StudyProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._shown:
            self._progress.stop()
