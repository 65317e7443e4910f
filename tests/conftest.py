"""Shared fixtures: every test runs in its own temporary directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parent
REPO_ROOT = TESTS_DIR.parent

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a fresh directory so a default ``archtune.db`` never leaks between tests."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for ``archtune`` subprocesses: the tests' objectives are importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")])
    env["ARCHTUNE_TEST_MARKERS"] = str(tmp_path)
    env["COLUMNS"] = "200"
    return env
