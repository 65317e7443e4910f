"""``report``, ``export``, ``dashboard`` and the ``--json`` views (registered in ``_app``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from archtune._errors import ArchtuneError
from archtune.cli._common import check_storage_exists, fail

__all__ = [
    "dashboard_command",
    "export_command",
    "report_command",
    "result_json",
    "show_json",
    "studies_json",
]


def _print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def report_command(study: str, storage: str, output: Path | None = None) -> Path:
    """Write the study's HTML report (default ``<study>-report.html``); print where."""
    from archtune.cli._console import out
    from archtune.config import check_writable
    from archtune.report import write_report

    check_storage_exists(storage)
    target = output if output is not None else Path(f"{study}-report.html")
    try:
        check_writable(target)
        written = write_report(study, target, storage=storage)
    except ArchtuneError as exc:
        fail(str(exc))
    out.print(f"report of study {study} written to {written}", highlight=False, soft_wrap=True)
    return written


def export_command(
    study: str,
    storage: str,
    format: str,
    output: Path,
    trial: int | None = None,
    pick: tuple[str, str] | None = None,
) -> None:
    """Retrain a trial of a built-in training study and write it as ONNX/TorchScript/Keras."""
    from archtune.cli._console import err, out
    from archtune.config import check_writable
    from archtune.report._export import builtin_objective, export_trial
    from archtune.search import load_result

    check_storage_exists(storage)
    drop: str | None = None
    if pick is not None and pick[0] is not None:
        if pick[0] != "smallest-within":
            fail(f"--pick takes `smallest-within DROP` (e.g. smallest-within 1%), got {pick[0]!r}")
        drop = pick[1]
    try:
        check_writable(output)  # before the retraining
        builtin_objective(load_result(study, storage), "export")  # one it can retrain
    except ArchtuneError as exc:
        fail(str(exc))
    err.print(f"retraining the trial of study {study} ...", highlight=False)
    try:
        done = export_trial(
            study, output, format=format, storage=storage, trial=trial, smallest_within=drop
        )
    except ArchtuneError as exc:
        fail(str(exc))
    metric_text = ", ".join(
        f"{k} {v:.4g}" for k, v in done.metrics.items() if k.startswith(("val_", "test_"))
    )
    out.print(
        f"trial {done.trial.number} written to {done.path} ({done.format}); reloaded outputs "
        f"match within {done.max_abs_diff:.2g}; retrained{_on(done.threads)}: {metric_text}; "
        f"the file {done.preprocessing}",
        highlight=False,
        soft_wrap=True,
    )


def _on(threads: int | None) -> str:
    """`` on N thread(s) as its worker`` where the study recorded the count."""
    if threads is None:
        return ""
    return f" on {threads} thread{'s' if threads != 1 else ''} as its worker"


def dashboard_command(storage: str, port: int = 8080) -> None:
    """Serve the storage with optuna-dashboard on 127.0.0.1 until Ctrl-C."""
    from archtune.cli._console import out
    from archtune.report._dashboard import serve_dashboard

    check_storage_exists(storage)

    def announce(url: str) -> None:
        out.print(f"optuna-dashboard on {url} (Ctrl-C to stop)", highlight=False)

    try:
        serve_dashboard(storage, port=port, announce=announce)
    except ArchtuneError as exc:
        fail(str(exc))
    out.print("dashboard stopped", highlight=False)


def studies_json(storage: str) -> None:
    """Print ``{schema, storage, studies: [...]}``."""
    import optuna

    from archtune.report._json import studies_document
    from archtune.search import TuneResult

    check_storage_exists(storage)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    results = [
        TuneResult.from_study(optuna.load_study(study_name=name, storage=storage))
        for name in optuna.get_all_study_names(storage)
    ]
    _print_json(studies_document(results, storage=storage))


def show_json(study: str, storage: str, top: int = 10) -> None:
    """Print one study's document (see docs/report.md)."""
    from archtune.search import load_result

    check_storage_exists(storage)
    try:
        result = load_result(study, storage)
    except ArchtuneError as exc:
        fail(str(exc))
    result_json(result, storage, top=top)


def result_json(result: Any, storage: str | None, top: int = 10) -> None:
    """Print the document of a :class:`~archtune.search.TuneResult` (``run --json``)."""
    from archtune.report._json import result_document

    _print_json(result_document(result, top=top, storage=storage))
