"""How a :class:`~archtune.shrinking.ShrinkResult` shows in a notebook: its Pareto table."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archtune.shrinking._result import Candidate, ShrinkResult

__all__ = ["shrink_html"]

_HEADERS = (
    "",
    "model",
    "val acc",
    "test acc (95% interval)",
    "change on test",
    "params",
    "FLOPs",
    "reduction",
    "structure",
)


def _cells(result: ShrinkResult, row: Candidate) -> list[str]:
    low, high = row.test_interval
    change, change_low, change_high = row.change_interval
    return [
        "★" if row is result.chosen else "",
        row.label,
        f"{100 * row.val_accuracy:.2f}%",
        f"{100 * row.test_accuracy:.2f}% ({100 * low:.1f}-{100 * high:.1f})",
        ""
        if row is result.baseline
        else f"{100 * change:+.2f} pt ({100 * change_low:+.1f} to {100 * change_high:+.1f})",
        f"{row.params:,}",
        f"{row.flops:,}",
        f"{result.reduction(row):.1f}x",
        row.structure,
    ]


def shrink_html(result: ShrinkResult) -> str:
    """The baseline and the Pareto candidates (chosen marked ★), with the verdict."""
    header = "".join(f"<th>{html.escape(h)}</th>" for h in _HEADERS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(result, row)) + "</tr>"
        for row in result.rows()
    )
    caption = html.escape(
        f"shrink {result.study_name}: objective {result.objective}, max drop "
        f"{100 * result.max_drop:.2f} pt, inputs {result.preprocessing}"
    )
    verdict = html.escape(f"chosen: {result.chosen.label}; {result.verdict}")
    return (
        f"<table class='archtune-shrink'><caption style='text-align:left'>{caption}</caption>"
        f"<thead><tr>{header}</tr></thead><tbody>{body}</tbody></table><p>{verdict}</p>"
    )
