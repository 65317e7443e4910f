"""PostgreSQL storage: a real server (``initdb``/``pg_ctl`` on 127.0.0.1), started per session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from archtune.testing import find_pg_bin, postgres_server

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(find_pg_bin() is None, reason="PostgreSQL (initdb, pg_ctl) not installed"),
]

ARCHTUNE = [sys.executable, "-m", "archtune"]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


def _config(path: Path, name: str, url: str, **changes: Any) -> Path:
    config: dict[str, Any] = {
        "name": name,
        "objective": "objectives:slow",
        "space": {
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            "seconds": {"type": "fixed", "value": 0.3},
        },
        "objectives": {"score": "max"},
        "budget": {"trials": 6},
        "workers": 2,
        "scheduler": "none",
        "storage": url,
        "seed": 0,
    } | changes
    path.write_text(yaml.safe_dump(config))
    return path


def test_two_studies_run_at_once_against_one_database(
    tmp_path: Path, cli_env: dict[str, str], postgres_url: str
) -> None:
    first = _config(tmp_path / "a.yaml", "alpha", postgres_url)
    second = _config(
        tmp_path / "b.yaml",
        "beta",
        postgres_url,
        space={
            "x": {"type": "float", "low": 5.0, "high": 6.0},
            "seconds": {"type": "fixed", "value": 0.3},
        },
    )
    drivers = [
        subprocess.Popen(
            [*ARCHTUNE, "run", str(c), "--quiet"], env=cli_env, stderr=subprocess.PIPE, text=True
        )
        for c in (first, second)
    ]
    for driver in drivers:
        _, err = driver.communicate(timeout=300)
        assert driver.returncode == 0, err
    for name, (low, high) in (("alpha", (0.0, 1.0)), ("beta", (5.0, 6.0))):
        study = optuna.load_study(study_name=name, storage=postgres_url)
        assert len(study.trials) == 6
        assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
        assert all(low <= t.params["x"] <= high for t in study.trials)  # no cross-talk

    listed = subprocess.run(
        [*ARCHTUNE, "studies", "--storage", postgres_url],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert "alpha" in listed.stdout
    assert "beta" in listed.stdout
    shown = subprocess.run(
        [*ARCHTUNE, "show", "beta", "--storage", postgres_url],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert "6 complete" in shown.stdout


def test_a_killed_driver_resumes_from_postgres(
    tmp_path: Path, cli_env: dict[str, str], postgres_url: str
) -> None:
    config = _config(tmp_path / "k.yaml", "killed", postgres_url, budget={"trials": 8})
    driver = subprocess.Popen(
        [*ARCHTUNE, "run", str(config), "--quiet"],
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                study = optuna.load_study(study_name="killed", storage=postgres_url)
                done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
                if len(done) >= 2:
                    break
            except KeyError:
                pass
            time.sleep(0.2)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
    finally:
        if driver.poll() is None:
            driver.kill()
    resumed = subprocess.run(
        [*ARCHTUNE, "run", str(config), "--resume", "--quiet"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    study = optuna.load_study(study_name="killed", storage=postgres_url)
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 8
    assert optuna.trial.TrialState.RUNNING not in states
