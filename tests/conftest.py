"""Shared fixtures: every test runs in its own temporary directory."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
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


def ray_processes() -> list[str]:
    """Ray's daemons running on this machine (``raylet``, ``gcs_server``)."""
    import subprocess

    found = subprocess.run(
        ["pgrep", "-af", "raylet|gcs_server"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    return [line for line in found if "pgrep" not in line]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One small local Ray for a module (2 CPUs on 127.0.0.1; its workers import the tests'
    modules and archtune's source); no Ray process of ours may outlive it."""
    ray = pytest.importorskip("ray", reason="needs ray (pip install 'archtune[ray]')")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    paths = [TESTS_DIR, TESTS_DIR / "execution", TESTS_DIR / "interop", REPO_ROOT / "src"]
    others = set(ray_processes())  # another user's Ray on this machine is not ours to judge
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(map(str, paths))}},
        logging_level="WARNING",
    )
    try:
        yield
    finally:
        ray.shutdown()
    deadline = time.monotonic() + 30
    while set(ray_processes()) - others and time.monotonic() < deadline:
        time.sleep(0.5)
    stray = set(ray_processes()) - others
    assert not stray, f"stray Ray processes: {sorted(stray)}"
