"""The reference examples run end to end and print the four reference parameter counts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("keras")
pytest.importorskip("torch")
pytest.importorskip("sklearn")


def run_example(name: str) -> str:
    env = dict(os.environ, KERAS_BACKEND="torch", OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "examples" / name), "--epochs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def accuracies(output: str) -> dict[str, float]:
    rows = re.findall(r"^(\S+)\s+[\d,]+\s+(0\.\d+|1\.0+)", output, flags=re.MULTILINE)
    return {name: float(value) for name, value in rows}


@pytest.mark.integration
def test_reference_cnn_example_prints_counts_and_accuracies() -> None:
    output = run_example("reference_cnn.py")
    assert "cnn-32-64-64: 93,322 parameters" in output
    assert "cnn-16-32-32: 23,626 parameters" in output
    found = accuracies(output)
    assert set(found) == {"cnn-32-64-64", "cnn-16-32-32"}
    assert all(value > 0.5 for value in found.values())  # one epoch on 3,000 real digits


@pytest.mark.integration
def test_reference_mlp_example_prints_counts_and_accuracies() -> None:
    output = run_example("reference_mlp.py")
    assert "mlp-64-64: 5,514 parameters" in output
    assert "mlp-32-32: 1,738 parameters" in output
    found = accuracies(output)
    assert set(found) == {"mlp-64-64", "mlp-32-32"}
    assert all(value > 0.3 for value in found.values())  # one epoch; chance is 0.1
