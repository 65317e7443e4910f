"""``archtune model`` on a user's model: a ``.keras`` file or ``module:function``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def archtune_model(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(HERE), KERAS_BACKEND="torch")
    return subprocess.run(
        [sys.executable, "-m", "archtune", "model", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.integration
def test_model_reads_keras_files_and_factories(tmp_path: Path) -> None:
    done = archtune_model("model_factories:keras_reference_cnn")
    assert done.returncode == 0, done.stderr
    assert "parameters: analytic 93,322, PyTorch 93,322: they agree" in done.stdout

    done = archtune_model("model_factories:torch_reference_mlp", "--input-shape", "10")
    assert done.returncode == 0, done.stderr
    assert "parameters: analytic 5,514, PyTorch 5,514: they agree" in done.stdout

    import model_factories

    path = tmp_path / "cnn.keras"
    model_factories.keras_reference_cnn().save(path)
    done = archtune_model(str(path))
    assert done.returncode == 0, done.stderr
    assert "93,322" in done.stdout


@pytest.mark.integration
def test_model_errors_are_one_line() -> None:
    done = archtune_model("model_factories:torch_reference_mlp")
    assert done.returncode == 2
    assert "returned a PyTorch module: pass --input-shape" in done.stderr
    done = archtune_model("missing.keras")
    assert done.returncode == 2
    assert "model 'missing.keras': no such file" in done.stderr
