"""The report's figures of population-based training: the members' curves, with the points
where a member copied another, and the best member's schedule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archtune.search import _attrs as attrs
from archtune.search._lineage import best_member, member_schedule, varying

if TYPE_CHECKING:
    from archtune.search import TuneResult

Figure = Any
"""A ``plotly.graph_objects.Figure``."""

__all__ = ["population_figures"]

_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def population_figures(result: TuneResult, metric: str | None) -> list[tuple[str, Figure]]:
    """The members' curves of ``metric`` and the best member's schedule (empty when the study
    did not run population-based training)."""
    from archtune.report._figures import _go, _layout

    trials = result.study.get_trials(deepcopy=False)
    members = [
        t for t in trials if attrs.TRIAL_PBT_START in t.user_attrs and t.state.name == "COMPLETE"
    ]
    if not members:
        return []
    go = _go()
    figures: list[tuple[str, Figure]] = []
    if metric is not None:
        fig = go.Figure()
        for i, trial in enumerate(sorted(members, key=lambda t: attrs.lineage(t)[0])):
            member = attrs.lineage(trial)[0]
            color = _PALETTE[i % len(_PALETTE)]
            curve = [p for p in trial.user_attrs.get(attrs.TRIAL_CURVE) or [] if metric in p]
            fig.add_trace(
                go.Scatter(
                    x=[p["step"] for p in curve],
                    y=[p[metric] for p in curve],
                    mode="lines",
                    line={"color": color, "width": 1.5},
                    name=f"member {member}",
                )
            )
            copies = [s for s in member_schedule(trials, member) if s.copied_from is not None]
            values = {p["step"]: p[metric] for p in curve}
            marks = [s for s in copies if s.epoch in values]
            if marks:
                fig.add_trace(
                    go.Scatter(
                        x=[s.epoch for s in marks],
                        y=[values[s.epoch] for s in marks],
                        mode="markers",
                        marker={"symbol": "triangle-up", "size": 10, "color": color},
                        name=f"member {member} copies",
                        text=[f"copied member {s.copied_from}" for s in marks],
                        hoverinfo="text+x+y",
                        showlegend=False,
                    )
                )
        title = f"Population: {metric} of each member (triangles: copied a stronger member)"
        figures.append((title, _layout(fig, title, "epoch", metric)))
    schedule = _schedule(result, trials)
    if schedule is not None:
        figures.append(schedule)
    return figures


def _schedule(result: TuneResult, trials: list[Any]) -> tuple[str, Figure] | None:
    """The best member's perturbed values against epochs, one panel per value."""
    from archtune._imports import require
    from archtune.report._figures import _layout

    member = best_member(trials, result.objectives.directions[0][1])
    if member is None:
        return None
    steps = member_schedule(trials, member)
    names = varying(steps) or sorted(steps[-1].config)
    names = [n for n in names if isinstance(steps[-1].config.get(n), int | float)]
    if not names:
        return None
    subplots = require("plotly.subplots", extra="report", feature="archtune report")
    go = require("plotly.graph_objects", extra="report", feature="archtune report")
    fig = subplots.make_subplots(rows=len(names), cols=1, shared_xaxes=True)
    title = f"Schedule of the best member (member {member}): the values it trained with"
    _layout(fig, title, "", "")
    last = max(
        (p["step"] for t in trials for p in t.user_attrs.get(attrs.TRIAL_CURVE) or []),
        default=steps[-1].epoch + 1,
    )
    for row, name in enumerate(names, start=1):
        xs = [s.epoch for s in steps] + [last]
        ys = [s.config.get(name) for s in steps] + [steps[-1].config.get(name)]
        fig.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines", line={"shape": "hv"}, name=name),
            row=row,
            col=1,
        )
        fig.update_yaxes(title_text=name, row=row, col=1)
    fig.update_xaxes(title_text="epoch (trained before)", row=len(names), col=1)
    fig.update_layout(height=max(300, 180 * len(names)), showlegend=False)
    return title, fig
