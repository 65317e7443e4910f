"""``archtune shrink`` and ``archtune demo``: shrink a model and print the Pareto table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from archtune.shrink import Candidate, ShrinkResult

__all__ = ["DEMO_DATA", "DEMO_MODEL", "demo_command", "pareto_table", "shrink_command"]

DEMO_MODEL = "cnn-32-64-64"
DEMO_DATA = "mnist-sample"


def _consoles() -> tuple[Console, Console]:
    out = Console(width=None if sys.stdout.isatty() else 160)
    err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
    return out, err


def shrink_command(
    model: str,
    data: str,
    max_drop: float = 0.005,
    objective: str = "params",
    trials: int = 32,
    epochs: int = 8,
    storage: str | None = None,
    workers: int = 2,
    seed: int = 0,
    resume: bool = False,
    json_output: bool = False,
    output: Path | None = None,
    quiet: bool = False,
) -> None:
    """Run :func:`archtune.shrink` and print the Pareto table, or one JSON document.

    Progress and step lines go to stderr (none with ``quiet``); the table or the JSON to stdout.

    Raises:
        ConfigError: bad input (the caller prints it on one line and exits with 2).
    """
    from archtune.shrink import shrink

    out, err = _consoles()
    progress = None
    if not quiet:
        from archtune.cli._progress import StudyProgress

        progress = StudyProgress("shrink search", console=err)

    def log(line: str) -> None:
        if not quiet:
            err.print(line, highlight=False, soft_wrap=True)

    result = shrink(
        model,
        data,
        max_drop=max_drop,
        objective=objective,
        trials=trials,
        epochs=epochs,
        storage=storage,
        workers=workers,
        seed=seed,
        resume=resume,
        output=output,
        progress=progress,
        log=log,
    )
    if json_output:
        print(result.to_json())
        return
    out.print(pareto_table(result))
    out.print(_chosen_line(result), highlight=False, soft_wrap=True)


def demo_command(
    workers: int = 2,
    seed: int = 0,
    output: Path | None = None,
    json_output: bool = False,
    quiet: bool = False,
) -> None:
    """``archtune demo``: the reference CNN shrunk on ``mnist-sample`` (a few minutes on 2 CPUs).

    The study lives in memory; the chosen model goes to ``output`` (default
    ``shrink-demo.onnx``).
    """
    shrink_command(
        DEMO_MODEL,
        DEMO_DATA,
        storage=None,
        workers=workers,
        seed=seed,
        json_output=json_output,
        output=output if output is not None else Path("shrink-demo.onnx"),
        quiet=quiet,
    )


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def _change(value: float) -> str:
    points = 100 * value
    return f"{points:+.2f} pt"


def pareto_table(result: ShrinkResult) -> Table:
    """The baseline, the baseline with the best recipe and the candidates, chosen marked ★."""
    table = Table(
        title=(
            f"shrink: {result.baseline.network.get('name') or 'model'}, objective "
            f"{result.objective}, max drop {_change(result.max_drop).lstrip('+')}"
        ),
        title_justify="left",
    )
    headers = (
        ("", "left"),
        ("model", "left"),
        ("init", "left"),
        ("test acc", "right"),
        ("change", "right"),
        ("params", "right"),
        ("FLOPs", "right"),
        ("latency ms", "right"),
        ("reduction", "right"),
        ("train s", "right"),
        ("structure", "left"),
    )
    for header, justify in headers:
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in result.rows():
        table.add_row(*_cells(result, row))
    return table


def _cells(result: ShrinkResult, row: Candidate) -> list[str]:
    change = row.test_accuracy - result.baseline.test_accuracy
    return [
        "★" if row is result.chosen else "",
        row.label,
        str(row.config.get("shrink.init", "-")),
        _percent(row.test_accuracy),
        "" if row is result.baseline else _change(change),
        f"{row.params:,}",
        f"{row.flops:,}",
        f"{row.latency_ms:.3f}",
        f"{result.reduction(row):.1f}x",
        f"{row.train_time_s:.1f}",
        row.structure,
    ]


def _chosen_line(result: ShrinkResult) -> str:
    chosen = result.chosen
    where = f"; exported to {result.exported}" if result.exported is not None else ""
    if chosen is result.baseline:
        return (
            f"chosen: the baseline (no candidate within {_change(result.max_drop).lstrip('+')} "
            f"of its test accuracy is cheaper){where}"
        )
    return (
        f"chosen: {chosen.label}, {result.reduction(chosen):.1f}x fewer {result.objective} "
        f"({chosen.params:,} params), test accuracy {_percent(chosen.test_accuracy)} "
        f"({_change(chosen.test_accuracy - result.baseline.test_accuracy)}){where}; "
        f"{result.wall_time_s:.0f} s in all"
    )
