"""``archtune shrink`` through the command line, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.integration
def test_shrink_cli_prints_one_json_document_and_exports(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "archtune",
            "shrink",
            "cnn-16-32-32",
            "--data",
            "mnist-sample",
            "--trials",
            "3",
            "--epochs",
            "1",
            "--storage",
            f"sqlite:///{tmp_path / 's.db'}",
            "-o",
            str(tmp_path / "chosen.onnx"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    for key in ("baseline", "chosen", "pareto"):
        assert key in document
    for field in ("params", "flops", "latency_ms", "test_accuracy", "structure", "recipe"):
        assert field in document["chosen"]
        assert field in document["baseline"]
    assert document["baseline"]["params"] == 23_626
    assert document["chosen"]["params"] <= 23_626
    assert (tmp_path / "chosen.onnx").stat().st_size > 0

    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "archtune",
            "shrink",
            "cnn-16-32-32",
            "--data",
            "mnist-sample",
            "--storage",
            f"sqlite:///{tmp_path / 's.db'}",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert again.returncode == 2  # the study exists: never reused without --resume
    assert "--resume" in again.stderr
