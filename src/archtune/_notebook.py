"""Live progress in a Jupyter notebook: one HTML block, updated in place.

The block is an IPython display with a ``display_id`` (``display(..., display_id=True)``, then
``handle.update(...)``): it needs nothing beyond IPython itself (no ipywidgets), it updates in
JupyterLab, Notebook and VS Code while the cell runs, and an executed notebook keeps its last
state as plain HTML. Outside a Jupyter kernel nothing here is used and IPython is never
imported.
"""

from __future__ import annotations

import html
import importlib
import sys
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from archtune.search import DriverStats

__all__ = ["LiveBlock", "ShrinkProgress", "TuneProgress", "import_tqdm_quietly", "in_notebook"]


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (a notebook cell), not a terminal."""
    if "IPython" not in sys.modules:  # never import IPython just to ask
        return False
    get_ipython = getattr(sys.modules["IPython"], "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def import_tqdm_quietly() -> None:
    """In a Jupyter kernel, import ``tqdm.auto`` without its "IProgress not found" warning.

    Optuna imports ``tqdm.auto`` for a progress bar that archtune never shows (archtune's own
    needs no ipywidgets); in a kernel without ipywidgets that import warns (``TqdmWarning:
    IProgress not found. Please update jupyter and ipywidgets``) in the user's cell. Imported
    here first, with that one warning ignored, it chooses the console bar as it would anyway,
    and Optuna's import finds it done. Outside a kernel, or once ``tqdm.auto`` is imported,
    nothing happens.
    """
    if "ipykernel.zmqshell" not in sys.modules or "tqdm.auto" in sys.modules:
        return
    try:
        tqdm_std: Any = importlib.import_module("tqdm.std")
    except ImportError:
        return  # no tqdm, so nothing to warn
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="IProgress not found", category=tqdm_std.TqdmWarning
        )
        importlib.import_module("tqdm.auto")


class LiveBlock:
    """An HTML progress block: a title, a bar of ``done`` out of ``total`` and a status line."""

    def __init__(self, title: str) -> None:
        self._title = title
        self._handle: Any = None

    def show(self, done: float, total: float | None, status: str) -> None:
        """Draw (the first time) or redraw the block."""
        ipython_display: Any = importlib.import_module("IPython.display")
        content = ipython_display.HTML(self.render(done, total, status))
        if self._handle is None:
            self._handle = ipython_display.display(content, display_id=True)
        else:
            self._handle.update(content)

    def render(self, done: float, total: float | None, status: str) -> str:
        """The block's HTML."""
        bar = (
            f'<progress value="{done:g}" max="{total:g}" style="width:16em"></progress> '
            f"{done:g}/{total:g}"
            if total
            else ""
        )
        return (
            f'<div class="archtune-progress"><b>{html.escape(self._title)}</b> {bar}'
            f"<br><span>{html.escape(status)}</span></div>"
        )


class TuneProgress:
    """A :class:`~archtune.search.ProgressSink` for ``tune()`` in a notebook."""

    def __init__(self, title: str = "archtune.tune") -> None:
        self._block = LiveBlock(title)

    def update(self, stats: DriverStats) -> None:
        counts = [f"{stats.running} running", f"{stats.complete} complete"]
        counts += [f"{stats.stopped} stopped"] if stats.stopped else []
        counts += [f"{stats.failed} failed"] if stats.failed else []
        counts += [f"{stats.infeasible} infeasible"] if stats.infeasible else []
        status = " · ".join(counts) + (f" · best {stats.best}" if stats.best else "")
        self._block.show(stats.done, stats.total, status)


class ShrinkProgress:
    """``shrink()``'s notebook display: epochs spent of the budget and the latest step."""

    def __init__(self, title: str = "archtune.shrink") -> None:
        self._block = LiveBlock(title)
        self._line = "starting"
        self._spent = 0.0
        self._total: float | None = None

    def log(self, line: str) -> None:
        """Show one step line (shrink's ``log``)."""
        self._line = line
        self._block.show(self._spent, self._total, line)

    def epochs(self, spent: float, total: float) -> None:
        """Move the bar: ``spent`` epochs of ``total``."""
        self._spent, self._total = round(spent, 1), total
        self._block.show(self._spent, self._total, self._line)
