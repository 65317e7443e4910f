"""The Markdown tables the benchmarks print: one head and one row shape for all of them."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["table_head", "table_row"]


def table_head(head: Sequence[str]) -> list[str]:
    """A Markdown table's first two lines: ``| a | b |`` and ``|---|---|``."""
    return [table_row(head), "|" + "---|" * len(head)]


def table_row(cells: Sequence[object]) -> str:
    """One row: ``| a | b |``."""
    return "| " + " | ".join(map(str, cells)) + " |"
