"""Write a study's HTML report."""

from __future__ import annotations

import os
from pathlib import Path

from archtune.search import TuneResult, load_result

__all__ = ["build_report", "write_report"]


def build_report(result: TuneResult) -> str:
    """The report of ``result`` as one self-contained HTML document.

    A shrink study (one with ``archtune.shrink.result``) opens with the shrink's own result:
    the chosen model it names is the one ``archtune shrink`` printed.

    Raises:
        MissingDependencyError: plotly is not installed (``pip install "archtune[report]"``).
    """
    from archtune._imports import require
    from archtune.report._figures import build_figures
    from archtune.report._html import render_html
    from archtune.report._shrink import shrink_objectives
    from archtune.report._summary import summarize

    offline = require("plotly.offline", extra="report", feature="archtune report")
    result = shrink_objectives(result)  # a shrink study without metric names
    summary = summarize(result)
    figures = build_figures(result, summary)
    return render_html(summary, figures, str(offline.get_plotlyjs()))


def write_report(
    study: str | TuneResult, path: str | os.PathLike[str], *, storage: str | None = None
) -> Path:
    """Write the report of ``study`` (a name in ``storage``, or a result) to ``path``.

    Raises:
        StudyStateError: no such study.
        ConfigError: a name without ``storage``.
    """
    from archtune._errors import ConfigError

    if isinstance(study, str):
        if storage is None:
            raise ConfigError(f"report of study {study!r}: a storage URL is needed")
        study = load_result(study, storage)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(build_report(study), encoding="utf-8")
    return target
