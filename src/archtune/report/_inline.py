"""An HTML report as a value: shown inline in a notebook, saved or opened in a browser."""

from __future__ import annotations

import html
import os
import tempfile
import webbrowser
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HTMLReport", "report_of"]


@dataclass(frozen=True, repr=False)
class HTMLReport:
    """A self-contained HTML report (what ``result.report()`` returns).

    In a notebook the cell shows it inline (an ``iframe`` holding the document, so its
    scripts and styles stay apart from the notebook's). :meth:`save` writes the file;
    :meth:`open` shows it in the default web browser.

    Attributes:
        html: The document.
        path: Where it was written (``None`` until saved).
    """

    html: str
    path: Path | None = None

    def __repr__(self) -> str:
        where = f", saved to {self.path}" if self.path is not None else ", not saved"
        return f"HTMLReport({len(self.html):,} characters{where})"

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" '
            'style="width:100%;height:720px;border:1px solid #ddd"></iframe>'
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the document to ``path`` (folders are created) and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.html, encoding="utf-8")
        return target

    def open(self) -> Path:
        """Open the report in the default web browser (saving it to a temporary file first
        when it has no path); returns the file's path."""
        target = self.path
        if target is None:
            handle, name = tempfile.mkstemp(prefix="archtune-report-", suffix=".html")
            os.close(handle)
            target = self.save(name)
        webbrowser.open(target.resolve().as_uri())
        return target


def report_of(result: object, path: str | os.PathLike[str] | None, *, open_it: bool) -> HTMLReport:
    """Build the report of a :class:`~archtune.search.TuneResult`, save it to ``path`` if
    given, open it in a browser if asked."""
    from archtune.report._build import build_report
    from archtune.search import TuneResult

    if not isinstance(result, TuneResult):
        raise TypeError(f"report_of needs a TuneResult, got {type(result).__name__}")
    report = HTMLReport(build_report(result))
    if path is not None:
        report = HTMLReport(report.html, report.save(path))
    if open_it:
        report = HTMLReport(report.html, report.open())
    return report
