"""``archtune shrink`` and ``archtune demo``: shrink a model and print the Pareto table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from archtune.cli._console import err, out

if TYPE_CHECKING:
    from archtune.shrinking import Candidate, ShrinkResult

__all__ = [
    "DEMO_DATA",
    "DEMO_MODEL",
    "demo_command",
    "pareto_table",
    "shrink_command",
    "shrink_trial_command",
]

DEMO_MODEL = "cnn-32-64-64"
DEMO_DATA = "mnist-sample"


def shrink_command(
    model: str,
    data: str | dict[str, str],
    *,
    json_output: bool = False,
    quiet: bool = False,
    report: Path | None = None,
    **options: Any,
) -> None:
    """Run :func:`archtune.shrink` and print the Pareto table, or one JSON document.

    With ``report`` (and a storage) it also writes the study's HTML report, with the baseline
    recorded in the study (``archtune.baseline``) so the report compares against it.

    Progress and step lines go to stderr (none with ``quiet``); the table or the JSON to stdout.
    ``options`` are :func:`archtune.shrink`'s keyword arguments.

    Raises:
        ConfigError: bad input (the caller prints it on one line and exits with 2).
    """
    from archtune.shrinking import shrink

    log = _logger(quiet)
    show(shrink(model, data, log=log, **options), json_output=json_output, report=report, log=log)


def shrink_trial_command(
    study: str, storage: str, *, json_output: bool = False, quiet: bool = False, **options: Any
) -> None:
    """Run :func:`archtune.shrink_trial` on ``study``'s trial and print as ``shrink`` does.

    Raises:
        ConfigError: bad input; StudyStateError: no such study or trial, not built-in.
    """
    from archtune.shrinking import shrink_trial

    log = _logger(quiet)
    result = shrink_trial(study, storage=storage, log=log, **options)
    show(result, json_output=json_output, report=None, log=log)


def _logger(quiet: bool) -> Callable[[str], None]:
    def log(line: str) -> None:
        if not quiet:
            err.print(line, highlight=False, soft_wrap=True)

    return log


def show(
    result: ShrinkResult, *, json_output: bool, report: Path | None, log: Callable[[str], None]
) -> None:
    """Print the Pareto table and the chosen line (or one JSON document); record the baseline
    in the study and, with ``report``, write its HTML report."""
    if result.storage is not None:
        _record_baseline(result, result.storage)
    if report is not None and result.storage is not None:
        from archtune.report import write_report

        write_report(result.study_name, report, storage=result.storage)
        log(f"report written to {report}")
    if json_output:
        print(result.to_json())
        return
    out.print(pareto_table(result))
    out.print(_chosen_line(result), highlight=False, soft_wrap=True)


def _record_baseline(result: ShrinkResult, storage: str) -> None:
    """Keep the baseline's numbers in the study, for ``archtune report``."""
    import optuna

    baseline = result.baseline
    study = optuna.load_study(study_name=result.study_name, storage=storage)
    study.set_user_attr(
        "archtune.baseline",
        {
            "label": f"baseline {baseline.network.get('name') or ''}".strip(),
            "metrics": {
                "val_accuracy": baseline.val_accuracy,
                "test_accuracy": baseline.test_accuracy,
                "params": baseline.params,
                "flops": baseline.flops,
                "latency_ms": baseline.latency_ms,
            },
            "config": {},
        },
    )


def demo_command(
    workers: int = 2,
    seed: int = 0,
    output: Path | None = None,
    json_output: bool = False,
    quiet: bool = False,
) -> None:
    """``archtune demo``: the reference CNN shrunk on ``mnist-sample`` (a few minutes on 2 CPUs).

    The demo's own files go to the current directory, replacing those of an earlier demo:
    the study (``shrink-demo.db``), the chosen model (``output``, default ``shrink-demo.onnx``)
    and the report (``shrink-demo-report.html``).
    """
    database = Path("shrink-demo.db")
    database.unlink(missing_ok=True)
    shrink_command(
        DEMO_MODEL,
        DEMO_DATA,
        storage=f"sqlite:///{database}",
        report=Path("shrink-demo-report.html"),
        n_workers=workers,
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
        ("val acc", "right"),
        ("test acc (95% interval)", "right"),
        ("change on test", "right"),
        ("params", "right"),
        ("FLOPs", "right"),
        ("latency ms", "right"),
        ("reduction", "right"),
        ("epochs", "right"),
        ("structure", "left"),
    )
    for header, justify in headers:
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in result.rows():
        table.add_row(*_cells(result, row))
    return table


def _cells(result: ShrinkResult, row: Candidate) -> list[str]:
    low, high = row.test_interval
    change, change_low, change_high = row.change_interval
    return [
        "★" if row is result.chosen else "",
        row.label,
        _percent(row.val_accuracy),
        f"{_percent(row.test_accuracy)} ({100 * low:.1f}-{100 * high:.1f})",
        ""
        if row is result.baseline
        else f"{_change(change)} ({100 * change_low:+.1f} to {100 * change_high:+.1f})",
        f"{row.params:,}",
        f"{row.flops:,}",
        f"{row.latency_ms:.3f}",
        f"{result.reduction(row):.1f}x",
        f"{row.epochs:.0f}" if row is not result.baseline else str(result.baseline_epochs),
        row.structure,
    ]


def _chosen_line(result: ShrinkResult) -> str:
    chosen = result.chosen
    where = f"; exported to {result.exported}" if result.exported is not None else ""
    spent = (
        f"{result.epochs_spent:.0f} epochs = "
        f"{result.epochs_spent / max(1, result.baseline_epochs):.1f} baseline trainings"
    )
    data = f"inputs {result.preprocessing}"
    if chosen is result.baseline:
        return (
            f"chosen: the baseline (no cheaper candidate within "
            f"{_change(result.max_drop).lstrip('+')} of its validation accuracy){where}; "
            f"{spent}; {data}"
        )
    return (
        f"chosen: {chosen.label}, {result.reduction(chosen):.1f}x fewer {result.objective} "
        f"({chosen.params:,} params), validation accuracy {_percent(chosen.val_accuracy)} "
        f"against the baseline's {_percent(result.baseline.val_accuracy)}; test: "
        f"{result.verdict}{where}; {spent}, {result.wall_time_s:.0f} s; {data}"
    )
