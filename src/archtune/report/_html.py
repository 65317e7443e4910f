"""Assemble the report: one self-contained HTML file (Plotly's JavaScript embedded once)."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

from archtune.report._figures import Figure
from archtune.report._shrink import (
    BEST_RECIPE_LABEL,
    ShrinkView,
    change_interval_text,
    change_text,
    chosen_sentence,
    interval_text,
    is_chosen,
    percent,
    spent_text,
)
from archtune.report._summary import Summary
from archtune.search import TRIAL_STATUSES

__all__ = ["render_html"]

_LABELS = {"stopped": "stopped early", "paused": "paused (population-based training)"}
_STATES = tuple((status, _LABELS.get(status, status)) for status in TRIAL_STATUSES)

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: right; }
th { background: #f4f6f8; } td.l, th.l { text-align: left; }
.muted { color: #666; } .figure { margin: 1.5em 0; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def fmt(value: Any) -> str:
    """A short, readable number (counts with thousands separators)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1e3:
            return f"{int(value):,}"
        return f"{value:.4g}"
    return str(value)


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.4g}"


def _table(
    headers: list[str], rows: list[list[Any]], left: int = 1, text: tuple[int, ...] = ()
) -> str:
    """A table; the first ``left`` columns and those in ``text`` are aligned left."""

    def cls(i: int) -> str:
        return "l" if i < left or i in text else ""

    head = "".join(f'<th class="{cls(i)}">{_e(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td class="{cls(i)}">{_e(c)}</td>' for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _summary_section(s: Summary) -> str:
    parts = ["<h2>Summary</h2>"]
    objectives = ", ".join(f"{m} ({d})" for m, d in s.objectives)
    parts.append(f"<p>Objectives: {_e(objectives)}.</p>")
    compute = [
        ["trials", fmt(s.n_trials)],
        ["epochs trained (sum of learning-curve lengths)", fmt(s.epochs)],
        ["trial time (sum of trial durations)", _duration(s.trial_seconds)],
        ["wall time (first start to last end)", _duration(s.wall_seconds)],
    ]
    if s.shrink is not None:
        compute = [
            ["trials (models trained)", fmt(s.n_trials)],
            ["epochs trained (passes over the training split, all trials)", fmt(s.epochs)],
            ["training time (sum of the trials' training)", _duration(s.trial_seconds)],
            ["wall time (the whole shrink)", _duration(s.wall_seconds)],
        ]
    parts.append("<h3>Compute spent</h3>" + _table(["", "value"], compute))
    states = [
        [label, s.counts.get(key, 0)]
        for key, label in _STATES
        if s.counts.get(key, 0) or key in ("complete", "stopped", "infeasible", "failed")
    ]
    parts.append("<h3>Trials by state</h3>" + _table(["state", "trials"], states))
    if s.shrink is not None:
        # The shrink result above names the chosen model and compares it with the baseline.
        parts.append(_shrink_stages(s.shrink))
    elif s.baseline is not None and s.chosen is not None:
        parts.append(_baseline(s))
    elif s.chosen is not None:
        label = "chosen" if s.chosen is not s.best else "best"
        parts.append(f"<p>The {label} model is trial {s.chosen.number}.</p>")
    return "\n".join(parts)


def _baseline(s: Summary) -> str:
    assert s.baseline is not None
    assert s.chosen is not None
    metrics = dict(s.baseline.get("metrics") or {})
    label = str(s.baseline.get("label") or "baseline")
    names = [m for m, _ in s.objectives] + [c for c in s.costs if c not in dict(s.objectives)]
    rows = []
    for name in names:
        base = metrics.get(name)
        chosen = s.value(s.chosen, name)
        change = (
            chosen - float(base) if isinstance(base, int | float) and chosen is not None else None
        )
        ratio = (
            f"{chosen / float(base):.3g}x"
            if isinstance(base, int | float) and base and chosen is not None
            else "-"
        )
        rows.append([name, fmt(base), fmt(chosen), _signed(change), ratio])
    return f"<h3>{_e(label)} against the chosen model (trial {s.chosen.number})</h3>" + _table(
        ["metric", label, "chosen", "change", "ratio"], rows
    )


_SHRINK_STAGES = (
    ("baseline", "baseline (trained with its recipe)"),
    ("search", "search steps (short trainings from their parent's weights)"),
    ("finetune", "fine-tunes of the finalists (the full fine-tune budget)"),
)


def _shrink_section(view: ShrinkView) -> str:
    """The shrink's own result: the chosen model, the candidates, the budget spent."""
    record = view.record
    parts = ["<h2>Shrink result</h2>", f"<p><strong>{_e(chosen_sentence(view))}</strong>.</p>"]
    drop = change_text(record.get("max_drop")).lstrip("+")
    parts.append(
        f"<p>Chosen on validation: the cheapest candidate by {_e(view.objective)} whose "
        f"validation accuracy is within {_e(drop)} of the baseline's (the baseline itself when "
        "none is). The test split only reports: accuracies with their 95 % interval, and the "
        "change against the baseline on the same test rows with its 95 % interval.</p>"
    )
    headers = [
        "",
        "model",
        "val acc",
        "test acc (95% interval)",
        "change on test (95% interval)",
        "params",
        "FLOPs",
        "latency ms",
        "reduction",
        "epochs",
        "structure",
    ]
    baseline = view.baseline
    budget = record.get("budget") or {}
    rows = []
    for row in view.rows:
        is_base = row is baseline
        epochs = budget.get("baseline_epochs") if is_base else row.get("epochs")
        rows.append(
            [
                "\u2605 chosen" if is_chosen(row, view.chosen) else "",
                row.get("label"),
                percent(row.get("val_accuracy")),
                interval_text(row),
                "" if is_base else change_interval_text(row),
                fmt(_int(row.get("params"))),
                fmt(_int(row.get("flops"))),
                _fixed(row.get("latency_ms"), 3),
                _fixed(row.get("reduction"), 1, "x"),
                _fixed(epochs, 0),
                row.get("structure") or "-",
            ]
        )
    parts.append(_table(headers, rows, left=2, text=(10,)))
    best = record.get("baseline_best_recipe")
    if isinstance(best, dict) and not any(row is best for row in view.rows):
        parts.append(
            f'<p class="muted">The {_e(BEST_RECIPE_LABEL)} row is left out: it is not better '
            f"than the baseline on validation ({_e(percent(best.get('val_accuracy')))} against "
            f"{_e(percent(baseline.get('val_accuracy')))}).</p>"
        )
    unit = budget.get("baseline_epochs")
    limit = budget.get("budget_epochs")
    facts = [
        ["objective", f"{view.objective} (fewer is better), max drop {drop} on validation"],
        ["strategy", record.get("strategy") or "-"],
        ["budget spent", spent_text(record)],
        [
            "budget",
            f"{fmt(limit)} epochs = {_fixed(_ratio(limit, unit), 1)} baseline trainings of "
            f"{fmt(unit)} epochs",
        ],
        ["preprocessing", f"inputs {record.get('preprocessing') or '-'}"],
        ["wall time", _duration(_float(record.get("wall_time_s")))],
        ["exported", record.get("exported") or "not exported"],
    ]
    parts.append(_table(["", "value"], facts, text=(1,)))
    return "\n".join(parts)


def _shrink_stages(view: ShrinkView) -> str:
    counts: dict[str, int] = {}
    for info in view.trials.values():
        stage = str(info.get("stage") or "other")
        counts[stage] = counts.get(stage, 0) + 1
    rows = [[label, counts.pop(key, 0)] for key, label in _SHRINK_STAGES]
    rows += [[key, n] for key, n in sorted(counts.items())]
    return "<h3>Trials by stage</h3>" + _table(["stage", "trials"], rows)


def _shrink_trials(s: Summary) -> str:
    """Every model the shrink trained, with its part in the result."""
    view = s.shrink
    assert view is not None
    quality = s.quality[0] if s.quality is not None else "val_accuracy"
    offered = {row.get("trial"): row for row in view.rows if isinstance(row.get("trial"), int)}
    chosen_number = view.chosen.get("trial")
    headers = ["trial", "stage", "step", "move", quality, *s.costs, "epochs", "in the result"]
    headers.append("structure")
    rows = []
    for trial in sorted(s.trials, key=lambda t: t.number):
        info = view.trials.get(trial.number) or {}
        stage = info.get("stage")
        source = info.get("from_trial")
        role = ""
        if stage == "baseline":
            role = "baseline" + (" (\u2605 chosen)" if view.chosen_is_baseline else "")
        elif stage == "finetune" and isinstance(source, int):
            if source == chosen_number:
                role = f"\u2605 {view.chosen.get('label')} fine-tuned: chosen"
            elif source in offered:
                role = f"{offered[source].get('label')} fine-tuned: a candidate"
            else:
                role = "not offered (far below the baseline on validation)"
        elif trial.number == chosen_number:
            role = f"\u2605 {view.chosen.get('label')} (chosen) before its fine-tune"
        elif trial.number in offered:
            role = f"{offered[trial.number].get('label')} (a candidate) before its fine-tune"
        if trial.status != "complete" and trial.error:
            role = (role + "; " if role else "") + trial.error.splitlines()[0][:120]
        rows.append(
            [
                trial.number,
                stage or "-",
                fmt(info.get("step")),
                info.get("move") or "-",
                fmt(s.value(trial, quality)),
                *(fmt(s.value(trial, c)) for c in s.costs),
                fmt(s.value(trial, "epochs")),
                role,
                info.get("structure") or "-",
            ]
        )
    text = (
        "<p>Search steps train briefly from their parent's weights and fine-tunes train the "
        "finalists fully, so compare validation accuracies within a stage; the shrink result "
        "above holds the fine-tuned candidates' test accuracies.</p>"
    )
    n = len(headers)
    return (
        "<h2>Trials: every model the shrink trained</h2>"
        + text
        + _table(headers, rows, left=1, text=(1, 3, n - 2, n - 1))
    )


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: Any) -> int | None:
    number = _float(value)
    return None if number is None or number != number else round(number)


def _fixed(value: Any, digits: int, unit: str = "") -> str:
    number = _float(value)
    if number is None or number != number:
        return "-"
    return f"{number:.{digits}f}{unit}"


def _ratio(a: Any, b: Any) -> float | None:
    x, y = _float(a), _float(b)
    return x / y if x is not None and y else None


def _questions(s: Summary) -> str:
    parts = ["<h2>Three questions</h2>"]
    parts.append(_smaller(s))
    parts.append(_tuning(s))
    parts.append(_learning_rate(s))
    return "\n".join(p for p in parts if p)


def _smaller(s: Summary) -> str:
    head = "<h3>A smaller structure or more accuracy?</h3>"
    if s.quality is None or not s.costs or len(s.objectives) < 2:
        return head + (
            '<p class="muted">Not applicable: the study does not trade a quality metric '
            "against a cost (it needs a quality objective and params, flops or latency_ms as "
            "objectives).</p>"
        )
    metric, _ = s.quality
    best = s.value(s.best, metric) if s.best is not None else None
    base = (s.baseline or {}).get("metrics", {}).get(metric) if s.baseline else None
    headers = [
        "trial",
        *s.costs,
        metric,
        f"change against best (trial {s.best.number if s.best else '-'})",
    ]
    if isinstance(base, int | float):
        headers.append("change against baseline")
    rows = []
    for trial in s.table:
        value = s.value(trial, metric)
        row: list[Any] = [trial.number, *(fmt(s.value(trial, c)) for c in s.costs), fmt(value)]
        row.append(_signed(value - best) if value is not None and best is not None else "-")
        if isinstance(base, int | float):
            row.append(_signed(value - float(base)) if value is not None else "-")
        rows.append(row)
    text = (
        f"<p>Each model on the Pareto front, with its {_e(metric)} change against the best "
        "model. The chosen model is the smallest within one point (0.01) of the best.</p>"
    )
    return head + text + _table(headers, rows)


def _tuning(s: Summary) -> str:
    head = "<h3>Was tuning worth the training time?</h3>"
    if s.quality is None or s.best is None:
        return head + '<p class="muted">No complete trial with a quality metric yet.</p>'
    metric, _ = s.quality
    best = s.value(s.best, metric)
    rows = [
        ["compute spent", f"{s.n_trials} trials, {s.epochs} epochs, {_duration(s.trial_seconds)}"],
        [f"first trial's {metric}", fmt(s.first_value)],
        [f"median trial's {metric}", fmt(s.median_value)],
        [f"best {metric} (trial {s.best.number})", fmt(best)],
        [
            "gain over the first trial",
            _signed(None if best is None or s.first_value is None else best - s.first_value),
        ],
        [
            "gain over the median trial",
            _signed(None if best is None or s.median_value is None else best - s.median_value),
        ],
    ]
    return head + _table(["", "value"], rows)


def _learning_rate(s: Summary) -> str:
    head = "<h3>Which learning rate?</h3>"
    parts = []
    if s.lr_find is not None:
        r = s.lr_find
        parts.append(
            f"<p>The LR range test suggested {fmt(r.get('suggestion'))}; the search covered "
            f"[{fmt(r.get('low'))}, {fmt(r.get('high'))}] (see the LR range test figure).</p>"
        )
    if s.importances:
        ranked = list(s.importances)
        if "lr" in s.importances:
            parts.append(
                f"<p>The learning rate's importance is {s.importances['lr']:.2f} (rank "
                f"{ranked.index('lr') + 1} of {len(ranked)}).</p>"
            )
        parts.append(f'<p class="muted">{_e(s.importance_note)}.</p>')
    else:
        parts.append(f'<p class="muted">{_e(s.importance_note)}.</p>')
    if s.best is not None and "lr" in s.best.config:
        parts.append(f"<p>The best trial trained with lr = {fmt(s.best.config['lr'])}.</p>")
    return head + "".join(parts)


def _models_table(s: Summary) -> str:
    if not s.table:
        return ""
    title = "Pareto front" if len(s.objectives) > 1 else "Best models"
    names = [m for m, _ in s.objectives] + [c for c in s.costs if c not in dict(s.objectives)]
    keys: list[str] = []
    for trial in s.table:
        keys += [k for k in trial.config if k not in keys]
    headers = ["trial", *names, *keys, "time (s)"]
    rows = []
    for trial in s.table:
        mark = " (chosen)" if trial is s.chosen else (" (best)" if trial is s.best else "")
        rows.append(
            [f"{trial.number}{mark}", *(fmt(s.value(trial, n)) for n in names)]
            + [fmt(trial.config.get(k)) for k in keys]
            + [fmt(trial.duration_s)]
        )
    return f"<h2>{_e(title)}: models and their configurations</h2>" + _table(headers, rows)


def render_html(summary: Summary, figures: list[tuple[str, Figure]], plotly_js: str) -> str:
    """The whole report as one HTML document."""
    divs = [
        '<div class="figure">'
        + fig.to_html(full_html=False, include_plotlyjs=False, include_mathjax=False)
        + "</div>"
        for _, fig in figures
    ]
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = [
        f"<h1>archtune report: {_e(summary.name)}</h1>",
        f'<p class="muted">Written {now}.</p>',
    ]
    if summary.shrink is not None:
        # The shrink's own answer first; the generic picks (best, smallest within one point)
        # would name another model, so they are left out.
        sections = [
            _shrink_section(summary.shrink),
            _summary_section(summary),
            "<h2>Figures</h2>",
            *divs,
            _shrink_trials(summary),
        ]
    else:
        sections = [
            _summary_section(summary),
            _questions(summary),
            "<h2>Figures</h2>",
            *divs,
            _models_table(summary),
        ]
    body = "\n".join(head + sections)
    # "</script" inside the bundle would end the tag early.
    safe_js = plotly_js.replace("</script", "<\\/script")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>archtune report: {_e(summary.name)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{safe_js}</script></head>'
        f"<body>{body}</body></html>\n"
    )
