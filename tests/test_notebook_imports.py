"""archtune in a Jupyter kernel without ipywidgets: no tqdm warning in the user's cells.

Optuna imports ``tqdm.auto``, which in a kernel without ipywidgets warns ``TqdmWarning:
IProgress not found. Please update jupyter and ipywidgets``; archtune shows no tqdm bar, so the
warning is noise that it must not bring into the notebook.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

REPO_SRC = Path(__file__).resolve().parent.parent / "src"

CELLS = [
    # The kernel as a user's without ipywidgets, whatever this environment has installed.
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


def _streams(cell: Any, name: str) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == name)


@pytest.mark.integration
def test_tune_in_a_kernel_without_ipywidgets_shows_no_tqdm_warning(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    path = os.pathsep.join([str(REPO_SRC), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "KERAS_BACKEND": "torch"}
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env=env)
    errors = [o for c in notebook.cells for o in c.outputs if o["output_type"] == "error"]
    assert not errors, errors
    stderr = "".join(_streams(cell, "stderr") for cell in notebook.cells)
    assert "IProgress" not in stderr
    assert "TqdmWarning" not in stderr
    assert "2 trials: 2 complete" in _streams(notebook.cells[2], "stdout")
    last = _streams(notebook.cells[3], "stdout")
    assert "filter left: False" in last  # the warning was ignored at the import only
    assert "tqdm.auto chose: tqdm.std" in last  # the console bar, as without archtune
