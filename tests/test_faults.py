"""Faults injected into running studies: nothing budgeted is lost.

The other kinds of fault have their own tests (a worker SIGKILLed: test_driver.py and
tests/execution/; the driver SIGKILLed or interrupted: test_cli.py; errors and NaN:
test_driver.py). This one restarts the database under a running study.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml

from archtune.search import _attrs as attrs
from archtune.testing import find_pg_bin, postgres_server, restart_postgres

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(find_pg_bin() is None, reason="PostgreSQL (initdb, pg_ctl) not installed"),
]


def test_a_database_restart_mid_study_loses_nothing(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    with postgres_server() as url:
        config = tmp_path / "p.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "name": "restart",
                    "objective": "objectives:slow",
                    "space": {
                        "x": {"type": "float", "low": 0.0, "high": 1.0},
                        "seconds": {"type": "fixed", "value": 0.3},
                    },
                    "objectives": {"score": "max"},
                    "budget": {"trials": 8},
                    "workers": 2,
                    "scheduler": "none",
                    "storage": url,
                    "seed": 0,
                }
            )
        )
        command = [sys.executable, "-m", "archtune", "run", str(config), "--quiet"]
        driver = subprocess.Popen(
            command, env=cli_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                trials = optuna.load_study(study_name="restart", storage=url).trials
            except KeyError:
                trials = []
            if sum(t.state == optuna.trial.TrialState.COMPLETE for t in trials) >= 2:
                break
            time.sleep(0.2)
        restart_postgres(url)
        driver.wait(timeout=300)  # it may finish or stop on the storage error
        resumed = subprocess.run(
            [*command, "--resume"], env=cli_env, capture_output=True, text=True, timeout=300
        )
        assert resumed.returncode == 0, resumed.stderr
        trials = optuna.load_study(study_name="restart", storage=url).trials
        ended = sum(attrs.counts_toward_budget(t) for t in trials)
        assert ended == 8  # every budgeted trial reached an end: none lost
        assert all(t.state != optuna.trial.TrialState.RUNNING for t in trials)
