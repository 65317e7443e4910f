"""archtune in a real notebook: ``tests/notebooks/archtune_in_a_notebook.ipynb`` runs in an
IPython kernel (nbclient), and its outputs are what a user sees.

The notebook tunes an objective defined in a cell (sent to two worker processes by value),
shrinks a small network, and shows the report inline. The checks read the executed cells:
the live progress blocks (their last state), the results' HTML tables, their ``repr``, the
report's ``iframe``, and no error anywhere. A second, small notebook runs in a kernel without
ipywidgets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("torch")
pytest.importorskip("plotly")

NOTEBOOK = Path(__file__).parent / "notebooks" / "archtune_in_a_notebook.ipynb"
REPO_SRC = Path(__file__).resolve().parent.parent / "src"


def _html(outputs: list[Any]) -> list[str]:
    return [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]


def _stream(cell: Any, name: str) -> str:
    """What a cell wrote to ``stdout`` or ``stderr``."""
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == name)


def _text(outputs: list[Any]) -> str:
    parts = [o.get("text", "") for o in outputs if o["output_type"] == "stream"]
    parts += [o["data"].get("text/plain", "") for o in outputs if "data" in o]
    return "".join(parts)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    folder = tmp_path_factory.mktemp("notebook")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    _execute(notebook, folder, timeout=600)
    return notebook, folder


def _execute(notebook: Any, folder: Path, *, timeout: int) -> None:
    """Run every cell in a fresh kernel, in ``folder``, importing this checkout's archtune
    (as the test process does)."""
    path = os.pathsep.join([str(REPO_SRC), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "KERAS_BACKEND": "torch"}
    client = nbclient.NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute(env=env)


@pytest.mark.integration
def test_the_notebook_runs_without_an_error(executed: tuple[Any, Path]) -> None:
    notebook, _ = executed
    errors = [
        o
        for cell in notebook.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if o["output_type"] == "error"
    ]
    assert not errors, errors


@pytest.mark.integration
def test_tune_in_a_cell_shows_progress_and_a_table(executed: tuple[Any, Path]) -> None:
    notebook, _ = executed
    tune_cell, repr_cell = notebook.cells[3], notebook.cells[4]
    html = _html(tune_cell.outputs)
    progress = [h for h in html if "archtune-progress" in h]
    assert len(progress) == 1, html  # one block, updated in place
    assert 'value="6" max="6"' in progress[0]  # its last state: every trial done
    assert "6 complete" in progress[0]
    table = [h for h in html if "archtune-result" in h]
    assert len(table) == 1
    assert "<th>loss</th>" in table[0]
    assert "<th>x</th>" in table[0]
    assert "best 6 trials" in table[0]
    text = _text(repr_cell.outputs)
    assert "TuneResult(study=" in text
    assert "6 trials: 6 complete" in text
    assert "best #" in text
    assert "'kind': 'a'" in text  # the penalty-free choice won


@pytest.mark.integration
def test_shrink_in_a_cell_shows_progress_and_its_table(executed: tuple[Any, Path]) -> None:
    notebook, folder = executed
    html = _html(notebook.cells[5].outputs)
    progress = [h for h in html if "archtune-progress" in h]
    assert len(progress) == 1
    assert "chosen:" in progress[0]  # the last step line
    table = [h for h in html if "archtune-shrink" in h]
    assert len(table) == 1
    assert "<td>baseline</td>" in table[0]
    assert table[0].count("<tr") >= 3  # a header, the baseline and a smaller candidate
    assert "★" in table[0]
    assert "inputs standardized" in table[0]
    assert (folder / "digits-mlp.onnx").is_file()


@pytest.mark.integration
def test_the_report_shows_inline_and_is_saved(executed: tuple[Any, Path]) -> None:
    notebook, folder = executed
    html = _html(notebook.cells[6].outputs)
    assert len(html) == 1
    assert html[0].startswith("<iframe srcdoc=")
    saved = folder / "report.html"
    assert saved.is_file()
    assert saved.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


@pytest.mark.integration
def test_a_shrink_without_storage_still_has_its_report(executed: tuple[Any, Path]) -> None:
    notebook, folder = executed
    (html,) = _html(notebook.cells[7].outputs)
    assert html.startswith("<iframe srcdoc=")
    saved = (folder / "shrink-report.html").read_text(encoding="utf-8")
    assert "shrink-mlp-digits" in saved  # the shrink's own study, read from memory


#: A kernel as a user's without ipywidgets (whatever this environment has installed): tune,
#: then what the import left behind.
NO_WIDGETS = [
    "import sys, warnings\nsys.modules['ipywidgets'] = None",
    "import archtune\nfrom archtune import Float",
    "result = archtune.tune(\n"
    "    lambda config: {'loss': (config['x'] - 0.3) ** 2},\n"
    "    {'x': Float(0.0, 1.0)},\n"
    "    objectives={'loss': 'min'},\n"
    "    n_trials=2,\n"
    "    n_workers=1,\n"
    "    seed=0,\n"
    ")\n"
    "print(repr(result))",
    "print('filter left:', any('IProgress' in str(f[1]) for f in warnings.filters))\n"
    "print('tqdm.auto chose:', sys.modules['tqdm.autonotebook'].tqdm.__module__)",
]


@pytest.mark.integration
def test_tune_in_a_kernel_without_ipywidgets_shows_no_tqdm_warning(tmp_path: Path) -> None:
    """Optuna imports ``tqdm.auto``, which in a kernel without ipywidgets warns ``TqdmWarning:
    IProgress not found``; archtune shows no tqdm bar, so it must not bring that warning into
    the user's cells."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NO_WIDGETS])
    _execute(notebook, tmp_path, timeout=300)
    errors = [o for c in notebook.cells for o in c.outputs if o["output_type"] == "error"]
    assert not errors, errors
    stderr = "".join(_stream(cell, "stderr") for cell in notebook.cells)
    assert "IProgress" not in stderr
    assert "TqdmWarning" not in stderr
    assert "2 trials: 2 complete" in _stream(notebook.cells[2], "stdout")
    last = _stream(notebook.cells[3], "stdout")
    assert "filter left: False" in last  # the warning was ignored at the import only
    assert "tqdm.auto chose: tqdm.std" in last  # the console bar, as without archtune
