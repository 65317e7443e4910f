"""Terminal tables of trials and studies (Rich)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from archtune.search import TRIAL_STATUSES, LeaseState, TrialResult, TuneResult

__all__ = ["counts_line", "format_value", "trials_table"]

# ``stalled``: RUNNING trials of a driver that is gone (its lease expired), before ``waiting``.
_STATUS_ORDER = (*TRIAL_STATUSES[:-1], "stalled", *TRIAL_STATUSES[-1:])


def format_value(value: Any) -> str:
    """A short, readable form of a parameter or metric value."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1e4:
            return f"{int(value):,}"  # counts such as params and FLOPs
        return f"{value:.4g}"
    return str(value)


def counts_line(result: TuneResult, driver: LeaseState | None = None) -> str:
    """``"18 complete, 1 stopped, 1 failed"``: trials by status, in a fixed order.

    With ``driver`` gone (its lease expired), RUNNING trials are ``stalled``, not running, and
    the line says so: ``"...; driver gone (last heartbeat 75 s ago); resume with --resume"``.
    """
    counts = dict(result.counts)
    gone = driver is not None and driver.status == "gone"
    if gone and "running" in counts:
        counts["stalled"] = counts.pop("running")
    parts = [f"{counts[s]} {s}" for s in _STATUS_ORDER if counts.get(s)]
    line = ", ".join(parts) if parts else "no trials"
    if gone and driver is not None:
        line += f"; {driver.describe()}"
    return line


def trials_table(result: TuneResult, trials: list[TrialResult], *, title: str) -> Table:
    """A table of ``trials``: number, objective values, then their parameters.

    Parameters with one value across ``trials`` go to the caption; with many parameters the
    table turns on its side (one column per trial) to stay readable.
    """
    params: list[str] = list(result.space) if result.space is not None else []
    for trial in trials:
        params += [p for p in trial.config if p not in params]
    params = [p for p in params if any(p in t.config for t in trials)]
    caption = None
    same = [p for p in params if len({repr(t.config.get(p)) for t in trials}) == 1]
    if same and len(trials) > 1:
        caption = "same in all: " + ", ".join(
            f"{p}={format_value(trials[0].config[p])}" for p in same
        )
        params = [p for p in params if p not in same]
    headers = ["trial"]
    headers += [f"{name} ({direction})" for name, direction in result.objectives.directions]
    headers += [*params, "time (s)"]
    rows = [_cells(result, trial, params) for trial in trials]
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    if len(params) <= 8:
        for index, header in enumerate(headers):
            table.add_column(
                header,
                justify="right",
                style="bold" if 0 < index <= len(result.objectives.names) else None,
            )
        for row in rows:
            table.add_row(*row)
        return table
    table.add_column("", style="bold")
    for row in rows:
        table.add_column(f"trial {row[0]}", justify="right")
    for index, header in enumerate(headers[1:], start=1):
        table.add_row(header, *(row[index] for row in rows))
    return table


def _cells(result: TuneResult, trial: TrialResult, params: list[str]) -> list[str]:
    cells = [str(trial.number)]
    if trial.values is not None:
        cells += [format_value(v) for v in trial.values]
    else:
        cells += ["-"] * len(result.objectives.names)
    cells += [format_value(trial.config[p]) if p in trial.config else "-" for p in params]
    cells.append(f"{trial.duration_s:.2f}" if trial.duration_s is not None else "-")
    return cells
