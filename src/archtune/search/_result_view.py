"""How a :class:`~archtune.search.TuneResult` reads: a short ``repr`` and an HTML table."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from archtune.search._result import ENDED_UNFINISHED

if TYPE_CHECKING:
    from archtune.search._result import TrialResult, TuneResult

__all__ = ["result_html", "result_repr"]

_MAX_ROWS = 10


def n_trials(n: int) -> str:
    """``1 trial``, ``7 trials``."""
    return f"{n} trial" if n == 1 else f"{n} trials"


def _counts(result: TuneResult) -> str:
    counts = result.counts
    order = ("complete", "stopped", *ENDED_UNFINISHED, "running", "waiting")
    return ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))


def _values(result: TuneResult, trial: TrialResult) -> str:
    names = result.objectives.names
    return ", ".join(f"{n}={_number(v)}" for n, v in zip(names, trial.values or [], strict=False))


def _config(config: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in config.items())


def _short(value: Any) -> str:
    return _number(value) if isinstance(value, float) else str(value)


def _number(value: float) -> str:
    """Four significant digits, but a whole count (``params``: 10243) in full, with commas."""
    if float(value).is_integer() and abs(value) >= 1e4:
        return f"{int(value):,}"
    return f"{value:.4g}"


def result_repr(result: TuneResult) -> str:
    """One or two lines: the study, its counts and its best trial or Pareto front's size."""
    head = f"TuneResult(study={result.name!r}, {len(result.trials)} trials: {_counts(result)}"
    best = result.best_trials
    if not best:
        return head + "; no complete trial)"
    if result.objectives.is_multi:
        return head + f"; {len(best)} on the Pareto front)"
    trial = best[0]
    return head + f"; best #{trial.number}: {_values(result, trial)} with {_config(trial.config)})"


def result_html(result: TuneResult) -> str:
    """The best trials (one objective) or the Pareto front (several) as an HTML table."""
    multi = result.objectives.is_multi
    rows = result.top(_MAX_ROWS) if not multi else result.best_trials[:_MAX_ROWS]
    front = f"Pareto front ({n_trials(len(result.best_trials))})"
    title = front if multi else f"best {n_trials(len(rows))}"
    names = result.objectives.names
    params = list(rows[0].config) if rows else []
    header = "".join(f"<th>{html.escape(h)}</th>" for h in ["trial", *names, *params, "seconds"])
    body = []
    for trial in rows:
        cells = [str(trial.number)]
        cells += [_number(v) for v in trial.values or []]
        cells += [_short(trial.config.get(p, "")) for p in params]
        cells += [f"{trial.duration_s:.1f}" if trial.duration_s is not None else ""]
        body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    caption = html.escape(f"study {result.name}: {_counts(result)}; {title}")
    if not rows:
        return f"<div><b>{caption}</b>: no complete trial</div>"
    return (
        f"<table class='archtune-result'><caption style='text-align:left'>{caption}</caption>"
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
