"""The report's Plotly figures (plotly is untyped: figures are ``Any`` here)."""

from __future__ import annotations

import math
from typing import Any

from archtune.report._population import population_figures
from archtune.report._summary import Summary
from archtune.search import TrialResult, TuneResult
from archtune.search import _attrs as attrs

__all__ = ["Figure", "build_figures"]

Figure = Any
"""A ``plotly.graph_objects.Figure``."""

_GREY = "#9aa5b1"
_BLUE = "#1f77b4"
_ORANGE = "#ff7f0e"
_RED = "#d62728"
_GREEN = "#2ca02c"


def _go() -> Any:
    from archtune._imports import require

    return require("plotly.graph_objects", extra="report", feature="archtune report")


def build_figures(result: TuneResult, summary: Summary) -> list[tuple[str, Figure]]:
    """``[(title, figure)]`` for everything that applies to this study, in report order."""
    figures: list[tuple[str, Figure]] = []
    if summary.shrink is not None:
        # A shrink study's trials are of different kinds (short search steps, full fine-tunes):
        # one chart per cost with the stage as the colour, and the shrink's own choice marked.
        for cost in summary.costs:
            figures.append(_shrink_scatter(result, summary, cost))
        curves = _curves(result, summary)
        if curves is not None:
            figures.append(curves)
        return figures
    if summary.quality is not None:
        for cost in summary.costs:
            figures.append(_pareto(result, summary, cost))
    history = _history(result, summary)
    if history is not None:
        figures.append(history)
    gain = _compute_gain(result, summary)
    if gain is not None:
        figures.append(gain)
    parallel = _parallel(result, summary)
    if parallel is not None:
        figures.append(parallel)
    if summary.importances:
        figures.append(_importance(summary))
    population = population_figures(result, curve_metric(result, summary))
    figures.extend(population)  # population-based training: its members, not its segments
    curves = None if population else _curves(result, summary)
    if curves is not None:
        figures.append(curves)
    if summary.lr_find is not None:
        figures.append(_lr_find(summary))
    return figures


def _layout(fig: Any, title: str, x: str, y: str, **kwargs: Any) -> Any:
    fig.update_layout(
        title=title,
        xaxis_title=x,
        yaxis_title=y,
        template="plotly_white",
        height=420,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
        **kwargs,
    )
    return fig


def _hover(trial: TrialResult) -> str:
    parts = [f"trial {trial.number} ({trial.status})"]
    parts += [f"{k}={_short(v)}" for k, v in trial.config.items()]
    return "<br>".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def front_2d(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both axes (both maximised), by x."""
    order = sorted(range(len(points)), key=lambda i: (-points[i][0], -points[i][1]))
    front: list[int] = []
    best_y = -math.inf
    for i in order:
        if points[i][1] > best_y:
            front.append(i)
            best_y = points[i][1]
    return sorted(front, key=lambda i: points[i][0])


def _pareto(result: TuneResult, summary: Summary, cost: str) -> tuple[str, Figure]:
    go = _go()
    assert summary.quality is not None
    metric, direction = summary.quality
    multi = len(summary.objectives) > 1
    title = f"{'Pareto front: ' if multi else ''}{metric} against {cost}"
    fig = go.Figure()
    for status, symbol, color in (("complete", "circle", _BLUE), ("stopped", "x", _GREY)):
        trials = [
            t
            for t in result.trials
            if t.status == status
            and summary.value(t, cost) is not None
            and summary.value(t, metric) is not None
        ]
        if not trials:
            continue
        fig.add_trace(
            go.Scatter(
                x=[summary.value(t, cost) for t in trials],
                y=[summary.value(t, metric) for t in trials],
                mode="markers",
                name=f"{status} trials",
                marker={"symbol": symbol, "color": color, "size": 8, "opacity": 0.7},
                text=[_hover(t) for t in trials],
                hoverinfo="text+x+y",
            )
        )
    complete = [
        t
        for t in result.trials
        if t.status == "complete"
        and summary.value(t, cost) is not None
        and summary.value(t, metric) is not None
    ]
    sign = 1.0 if direction == "max" else -1.0
    points = [
        (-(summary.value(t, cost) or 0.0), sign * (summary.value(t, metric) or 0.0))
        for t in complete
    ]
    front = [complete[i] for i in reversed(front_2d(points))]
    if front:
        fig.add_trace(
            go.Scatter(
                x=[summary.value(t, cost) for t in front],
                y=[summary.value(t, metric) for t in front],
                mode="lines",
                line={"shape": "hv", "color": _BLUE},
                name="Pareto front",
                hoverinfo="skip",
            )
        )
    for trial, name, symbol, color in (
        (summary.best, "best", "star", _ORANGE),
        (summary.chosen, "chosen", "diamond-open", _RED),
    ):
        if trial is None or summary.value(trial, cost) is None:
            continue
        if name == "chosen" and summary.chosen is summary.best:
            continue
        fig.add_trace(
            go.Scatter(
                x=[summary.value(trial, cost)],
                y=[summary.value(trial, metric)],
                mode="markers",
                name=f"{name} (trial {trial.number})",
                marker={"symbol": symbol, "color": color, "size": 16, "line": {"width": 2}},
                text=[_hover(trial)],
                hoverinfo="text+x+y",
            )
        )
    log_x = cost in ("params", "flops")
    _layout(fig, title, cost, metric, xaxis_type="log" if log_x else None)
    return title, fig


_STAGES = (
    ("baseline", "baseline", "square", _GREY),
    ("search", "search steps", "circle", _BLUE),
    ("finetune", "fine-tunes", "circle", _GREEN),
)


def _shrink_scatter(result: TuneResult, summary: Summary, cost: str) -> tuple[str, Figure]:
    """Validation accuracy against ``cost`` of every trial of a shrink study, by stage."""
    go = _go()
    view = summary.shrink
    assert view is not None
    metric = summary.quality[0] if summary.quality is not None else "val_accuracy"
    title = f"Shrink trials: {metric} against {cost}"
    fig = go.Figure()
    trials = [
        t
        for t in result.trials
        if t.status == "complete"
        and summary.value(t, cost) is not None
        and summary.value(t, metric) is not None
    ]
    known = {key for key, *_ in _STAGES}
    groups = [*_STAGES, ("other", "other trials", "x", _GREY)]
    for key, name, symbol, color in groups:
        some = [
            t
            for t in trials
            if (view.stage(t.number) if view.stage(t.number) in known else "other") == key
        ]
        if not some:
            continue
        fig.add_trace(
            go.Scatter(
                x=[summary.value(t, cost) for t in some],
                y=[summary.value(t, metric) for t in some],
                mode="markers",
                name=name,
                marker={"symbol": symbol, "color": color, "size": 9, "opacity": 0.8},
                text=[_shrink_hover(view.trials.get(t.number) or {}, t) for t in some],
                hoverinfo="text+x+y",
            )
        )
    chosen = view.chosen
    x = chosen.get(cost)
    y = chosen.get(metric)
    if isinstance(x, int | float) and isinstance(y, int | float):
        fig.add_trace(
            go.Scatter(
                x=[x],
                y=[y],
                mode="markers",
                name=f"chosen: {chosen.get('label')}",
                marker={"symbol": "diamond-open", "color": _RED, "size": 16, "line": {"width": 2}},
                text=[str(chosen.get("structure") or "")],
                hoverinfo="text+x+y",
            )
        )
    log_x = cost in ("params", "flops")
    _layout(fig, title, cost, metric, xaxis_type="log" if log_x else None)
    return title, fig


def _shrink_hover(info: dict[str, Any], trial: TrialResult) -> str:
    stage = info.get("stage") or "trial"
    parts = [f"trial {trial.number} ({stage})"]
    if info.get("from_trial") is not None:
        parts.append(f"fine-tune of trial {info['from_trial']}")
    if info.get("move"):
        parts.append(f"step {info.get('step')}: {info['move']}")
    if info.get("structure"):
        parts.append(str(info["structure"]))
    return "<br>".join(parts)


def _history(result: TuneResult, summary: Summary) -> tuple[str, Figure] | None:
    go = _go()
    metric, direction = summary.quality or summary.objectives[0]
    trials = [t for t in result.trials if t.status in ("complete", "stopped")]
    trials = [t for t in trials if summary.value(t, metric) is not None]
    if not trials:
        return None
    title = f"Optimization history: {metric}"
    fig = go.Figure()
    for status, symbol, color in (("complete", "circle", _BLUE), ("stopped", "x", _GREY)):
        some = [t for t in trials if t.status == status]
        if some:
            fig.add_trace(
                go.Scatter(
                    x=[t.number for t in some],
                    y=[summary.value(t, metric) for t in some],
                    mode="markers",
                    name=f"{status} trials",
                    marker={"symbol": symbol, "color": color, "size": 8},
                    text=[_hover(t) for t in some],
                    hoverinfo="text+y",
                )
            )
    best_x, best_y, best = [], [], None
    for trial in trials:
        if trial.status != "complete":
            continue
        value = summary.value(trial, metric)
        assert value is not None
        if best is None or (value > best if direction == "max" else value < best):
            best = value
        best_x.append(trial.number)
        best_y.append(best)
    if best_x:
        fig.add_trace(
            go.Scatter(
                x=best_x,
                y=best_y,
                mode="lines",
                line={"shape": "hv", "color": _ORANGE},
                name="best so far",
            )
        )
    _layout(fig, title, "trial", metric)
    return title, fig


def _compute_gain(result: TuneResult, summary: Summary) -> tuple[str, Figure] | None:
    """Best quality so far against the compute spent so far (trial time and epochs)."""
    if summary.quality is None:
        return None
    go = _go()
    metric, direction = summary.quality
    seconds = 0.0
    xs, ys, epochs_x = [], [], []
    epochs = 0
    frozen = {t.number: t for t in result.study.get_trials(deepcopy=False)}
    best: float | None = None
    for trial in result.trials:
        seconds += trial.duration_s or 0.0
        epochs += len(frozen[trial.number].user_attrs.get(attrs.TRIAL_CURVE) or [])
        value = summary.value(trial, metric) if trial.status == "complete" else None
        if value is not None and (
            best is None or (value > best if direction == "max" else value < best)
        ):
            best = value
        if best is not None:
            xs.append(seconds)
            epochs_x.append(epochs)
            ys.append(best)
    if not xs:
        return None
    title = f"Best {metric} against compute spent"
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines+markers",
            line={"shape": "hv", "color": _BLUE},
            name="best so far",
            text=[f"{e} epochs" for e in epochs_x],
            hoverinfo="text+x+y",
        )
    )
    for value, name, dash in (
        (summary.first_value, "first trial", "dot"),
        (summary.median_value, "median trial", "dash"),
    ):
        if value is not None:
            fig.add_hline(y=value, line_dash=dash, line_color=_GREY, annotation_text=name)
    _layout(fig, title, "trial time so far (s)", metric)
    return title, fig


def _parallel(result: TuneResult, summary: Summary) -> tuple[str, Figure] | None:
    go = _go()
    metric, _ = summary.quality or summary.objectives[0]
    trials = [
        t for t in result.trials if t.status == "complete" and summary.value(t, metric) is not None
    ]
    frozen = {t.number: t for t in result.study.get_trials(deepcopy=False)}
    names: list[str] = []
    for trial in trials:
        names += [p for p in frozen[trial.number].params if p not in names]
    if not trials or not names:
        return None
    space = result.space
    dimensions = []
    for name in names:
        values = [frozen[t.number].params.get(name) for t in trials]
        log = bool(space is not None and name in space and getattr(space[name], "log", False))
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if numeric:
            nums = [math.log10(float(v)) if log else float(v) for v in values]  # type: ignore[arg-type]
            label = f"log10({name})" if log else name
            dimensions.append({"label": label, "values": nums})
        else:
            labels = sorted({_short(v) if v is not None else "-" for v in values})
            codes = [labels.index(_short(v) if v is not None else "-") for v in values]
            dimensions.append(
                {
                    "label": name,
                    "values": codes,
                    "tickvals": list(range(len(labels))),
                    "ticktext": labels,
                }
            )
    scores = [summary.value(t, metric) for t in trials]
    dimensions.append({"label": metric, "values": scores})
    title = "Parallel coordinates of parameters"
    fig = go.Figure(
        go.Parcoords(
            line={"color": scores, "colorscale": "Viridis", "showscale": True},
            dimensions=dimensions,
        )
    )
    fig.update_layout(title=title, template="plotly_white", height=420)
    return title, fig


def _importance(summary: Summary) -> tuple[str, Figure]:
    go = _go()
    assert summary.importances is not None
    items = sorted(summary.importances.items(), key=lambda kv: kv[1])
    title = "Parameter importance"
    fig = go.Figure(
        go.Bar(
            x=[v for _, v in items],
            y=[k for k, _ in items],
            orientation="h",
            marker={"color": [_RED if k == "lr" else _BLUE for k, _ in items]},
        )
    )
    _layout(fig, title, "importance (PED-ANOVA, normalised)", "parameter")
    return title, fig


def curve_metric(result: TuneResult, summary: Summary) -> str | None:
    """The metric to draw learning curves of: the quality if curves hold it, else a loss."""
    frozen = result.study.get_trials(deepcopy=False)
    seen: set[str] = set()
    for trial in frozen:
        for point in trial.user_attrs.get(attrs.TRIAL_CURVE) or []:
            seen.update(point)
    preferred = [summary.quality[0]] if summary.quality else []
    for name in (*preferred, "val_accuracy", "val_loss", "train_loss"):
        if name in seen:
            return name
    others = sorted(seen - {"step", "lr"})
    return others[0] if others else None


def _curves(result: TuneResult, summary: Summary) -> tuple[str, Figure] | None:
    metric = curve_metric(result, summary)
    if metric is None:
        return None
    go = _go()
    frozen = {t.number: t for t in result.study.get_trials(deepcopy=False)}
    fig = go.Figure()
    legend_done: set[str] = set()
    for trial in result.trials:
        curve = frozen[trial.number].user_attrs.get(attrs.TRIAL_CURVE) or []
        points = [(p["step"], p[metric]) for p in curve if metric in p and "step" in p]
        if not points:
            continue
        stopped = trial.status == "stopped"
        group = "stopped early" if stopped else trial.status
        color = _GREY if stopped else (_RED if trial.status == "failed" else _BLUE)
        fig.add_trace(
            go.Scatter(
                x=[s for s, _ in points],
                y=[v for _, v in points],
                mode="lines+markers" if stopped else "lines",
                line={"color": color, "dash": "dash" if stopped else "solid", "width": 1.5},
                marker={
                    "symbol": "x",
                    "size": [0] * (len(points) - 1) + [11],
                    "color": color,
                },
                name=group,
                legendgroup=group,
                showlegend=group not in legend_done,
                text=f"trial {trial.number} ({trial.status})",
                hoverinfo="text+x+y",
                opacity=0.8,
            )
        )
        legend_done.add(group)
    if not fig.data:
        return None
    title = f"Learning curves: {metric}"
    _layout(fig, title, "epoch", metric)
    return title, fig


def _lr_find(summary: Summary) -> tuple[str, Figure]:
    go = _go()
    record = summary.lr_find or {}
    title = "LR range test"
    fig = go.Figure(
        go.Scatter(
            x=record["lrs"],
            y=record["losses"],
            mode="lines",
            name="smoothed loss",
            line={"color": _BLUE},
        )
    )
    if "low" in record and "high" in record:
        fig.add_vrect(
            x0=record["low"],
            x1=record["high"],
            fillcolor=_GREEN,
            opacity=0.12,
            line_width=0,
            annotation_text="searched lr range",
        )
    if "suggestion" in record:
        fig.add_vline(x=record["suggestion"], line_color=_RED, line_dash="dash")
    _layout(fig, title, "learning rate", "loss", xaxis_type="log")
    return title, fig
