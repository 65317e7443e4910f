"""Terminal tables of trials and studies (Rich)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from archtune.search import TrialResult, TuneResult

__all__ = ["counts_line", "format_value", "trials_table"]

_STATUS_ORDER = ("complete", "stopped", "failed", "interrupted", "running", "waiting")


def format_value(value: Any) -> str:
    """A short, readable form of a parameter or metric value."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def counts_line(result: TuneResult) -> str:
    """``"18 complete, 1 stopped, 1 failed"``: trials by status, in a fixed order."""
    counts = result.counts
    parts = [f"{counts[s]} {s}" for s in _STATUS_ORDER if counts.get(s)]
    return ", ".join(parts) if parts else "no trials"


def trials_table(result: TuneResult, trials: list[TrialResult], *, title: str) -> Table:
    """A table of ``trials``: number, objective values, then every parameter."""
    table = Table(title=title, title_justify="left")
    table.add_column("trial", justify="right")
    for name, direction in result.objectives.directions:
        table.add_column(f"{name} ({direction})", justify="right", style="bold")
    params: list[str] = list(result.space) if result.space is not None else []
    for trial in trials:
        params += [p for p in trial.config if p not in params]
    for name in params:
        table.add_column(name, justify="right")
    table.add_column("time (s)", justify="right")
    for trial in trials:
        cells = [str(trial.number)]
        if trial.values is not None:
            cells += [format_value(v) for v in trial.values]
        else:
            cells += ["-"] * len(result.objectives.names)
        cells += [format_value(trial.config[p]) if p in trial.config else "-" for p in params]
        cells.append(f"{trial.duration_s:.2f}" if trial.duration_s is not None else "-")
        table.add_row(*cells)
    return table
