"""The ``archtune`` command line, run as a user runs it: real subprocesses, real SQLite."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

pytestmark = pytest.mark.integration

ARCHTUNE = [sys.executable, "-m", "archtune"]


def write_config(path: Path, **changes: Any) -> Path:
    config: dict[str, Any] = {
        "name": "demo",
        "objective": "objectives:quadratic",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "objectives": {"score": "max"},
        "budget": {"trials": 6},
        "workers": 2,
        "sampler": "tpe",
        "scheduler": "none",
        "storage": f"sqlite:///{path.parent / 'archtune.db'}",
        "seed": 0,
    }
    config.update(changes)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def archtune(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ARCHTUNE, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def test_run_with_two_workers_completes_and_prints_the_best(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    config = write_config(tmp_path / "demo.yaml")
    done = archtune("run", str(config), env=cli_env)
    assert done.returncode == 0, done.stderr
    assert "study demo in sqlite:///" in done.stdout
    assert ": 6 complete" in done.stdout
    assert "best trials" in done.stdout
    assert "score (max)" in done.stdout

    listed = archtune("studies", "--storage", f"sqlite:///{tmp_path / 'archtune.db'}", env=cli_env)
    assert listed.returncode == 0, listed.stderr
    assert "demo" in listed.stdout
    assert "score (max)" in listed.stdout
    assert "6 complete" in listed.stdout

    again = archtune("run", str(config), env=cli_env)
    assert again.returncode == 2
    assert "study 'demo' already exists" in again.stderr
    assert "--resume" in again.stderr
    assert "Traceback" not in again.stderr


def test_run_uses_archtune_storage_where_its_config_names_none(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """``run`` and the commands that read studies find the same study through the variable;
    a config's own ``storage`` wins over it, and the log says so."""
    shared = f"sqlite:///{tmp_path / 'shared.db'}"
    env = cli_env | {"ARCHTUNE_STORAGE": shared}
    config = write_config(tmp_path / "demo.yaml", workers=1, budget={"trials": 2})
    text = yaml.safe_load(config.read_text())
    del text["storage"]
    config.write_text(yaml.safe_dump(text, sort_keys=False))

    done = archtune("run", str(config), env=env)
    assert done.returncode == 0, done.stderr
    assert f"study demo in {shared}" in done.stdout
    shown = archtune("show", "demo", env=env)  # no --storage: the variable
    assert shown.returncode == 0, shown.stderr
    assert "2 complete" in shown.stdout
    assert not (tmp_path / "archtune.db").exists()

    own = write_config(tmp_path / "own.yaml", name="own", workers=1, budget={"trials": 1})
    done = archtune("run", str(own), env=env)
    assert done.returncode == 0, done.stderr
    assert f"study own in sqlite:///{tmp_path / 'archtune.db'}" in done.stdout
    assert "ARCHTUNE_STORAGE names" in done.stderr


def test_show_lists_the_best_the_counts_and_each_failure(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    config = write_config(
        tmp_path / "f.yaml",
        name="failing",
        objective="objectives:fail_when_negative",
        space={"x": {"type": "float", "low": -1.0, "high": 1.0}},
        sampler="random",
        budget={"trials": 10, "max_consecutive_failures": 10},
    )
    assert archtune("run", str(config), "--quiet", env=cli_env).returncode == 0
    shown = archtune(
        "show", "failing", "--storage", f"sqlite:///{tmp_path / 'archtune.db'}", env=cli_env
    )
    assert shown.returncode == 0, shown.stderr
    assert "failed trials" in shown.stdout
    assert "RuntimeError: boom at x=-" in shown.stdout
    study = optuna.load_study(
        study_name="failing", storage=f"sqlite:///{tmp_path / 'archtune.db'}"
    )
    n_failed = sum(t.state == optuna.trial.TrialState.FAIL for t in study.trials)
    assert f"{n_failed} failed" in shown.stdout
    missing = archtune(
        "show", "nope", "--storage", f"sqlite:///{tmp_path / 'archtune.db'}", env=cli_env
    )
    assert missing.returncode == 2
    assert "no study named 'nope'" in missing.stderr
    assert "failing" in missing.stderr


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"budget": {"trials": -3}}, "budget.trials must be an integer >= 1, got -3"),
        ({"budget": {"trials": "ten"}}, "budget.trials must be an integer >= 1, got 'ten'"),
        (
            {"workerz": 2},
            "workerz is not a known field (did you mean 'workers'?); allowed: name, objective, "
            "space",
        ),
        (
            {"budget": {"trials": 3, "timout": "1m"}},
            "budget.timout is not a known field (did you mean 'timeout'?); allowed: trials, "
            "timeout, trial_timeout, steps, max_consecutive_failures",
        ),
        (
            {"space": {"x": {"type": "float", "low": 1.0, "high": 0.0}}},
            "space.x.low must be <= high, got low=1, high=0",
        ),
        (
            {"space": {"x": {"type": "float", "low": 0.0, "high": 1.0, "log": True}}},
            "space.x.low must be > 0 when log is true, got 0",
        ),
        (
            {"space": {"x": {"type": "float", "low": 0.1, "high": 1.0, "when": {"opt": "sgd"}}}},
            "space.x.when refers to unknown parameter 'opt'; known: ",
        ),
        (
            {"objective": "objectives:no_such_function"},
            "objective 'objectives:no_such_function' cannot be imported: AttributeError: module "
            "'objectives' has no attribute 'no_such_function'",
        ),
        (
            {"objective": "no_such_module:train"},
            "objective 'no_such_module:train' cannot be imported: ModuleNotFoundError",
        ),
        (
            {"sampler": "bayes"},
            "sampler must be one of 'auto', 'random', 'tpe', 'gp', 'light-gp', 'cmaes', "
            "'nsga2', 'qmc', 'grid' or 'bruteforce', got 'bayes'",
        ),
        ({"objectives": {"score": "up"}}, "objectives.score must be max or min, got 'up'"),
        (
            {"budget": {"trials": 3, "timeout": "soon"}},
            "budget.timeout must be a duration such as 90s, 10m or 1h30m, got 'soon'",
        ),
        (
            {"objective": "objectives:missing_metric"},
            "objectives names 'score', but the objective returned accuracy",
        ),
        (  # brackets in a message are text, not Rich markup (as in `archtune[report]`)
            {"sampler": "[report]"},
            "'nsga2', 'qmc', 'grid' or 'bruteforce', got '[report]'",
        ),
    ],
)
def test_bad_config_is_one_line_and_exit_code_2(
    tmp_path: Path, cli_env: dict[str, str], changes: dict[str, Any], message: str
) -> None:
    config = write_config(tmp_path / "quickstart.yaml", **changes)
    done = archtune("run", str(config), "--quiet", env=cli_env)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"archtune: error: {config}: "), lines[0]
    assert message in lines[0]


def test_missing_field_and_broken_yaml(tmp_path: Path, cli_env: dict[str, str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("name: x\nobjective: objectives:quadratic\n")
    done = archtune("run", str(config), env=cli_env)
    assert done.returncode == 2
    assert f"{config}: budget is required" in done.stderr
    config.write_text("name: x\nobjective: objectives:quadratic\nbudget: {trials: 1}\n")
    done = archtune("run", str(config), env=cli_env)
    assert done.returncode == 2
    assert f"{config}: space is required with `objective`" in done.stderr
    config.write_text("name: [unclosed\n")
    done = archtune("run", str(config), env=cli_env)
    assert done.returncode == 2
    assert f"{config}: line 2, column 1: invalid YAML" in done.stderr
    done = archtune("run", str(tmp_path / "absent.yaml"), env=cli_env)
    assert done.returncode == 2
    assert "absent.yaml: no such file" in done.stderr


def _states(db: Path, study: str) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT t.state, COUNT(*) FROM trials t JOIN studies s ON s.study_id = t.study_id "
            "WHERE s.study_name = ? GROUP BY t.state",
            (study,),
        ).fetchall()
    return {state: n for state, n in rows}


def _wait_for_complete(db: Path, study: str, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            try:
                if _states(db, study).get("COMPLETE", 0) >= n:
                    return
            except sqlite3.OperationalError:
                pass  # tables not created yet
        time.sleep(0.1)
    raise AssertionError(f"fewer than {n} complete trials after {timeout} s")


def _slow_config(tmp_path: Path, name: str, trials: int = 8) -> Path:
    return write_config(
        tmp_path / f"{name}.yaml",
        name=name,
        objective="objectives:slow",
        space={
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            "seconds": {"type": "fixed", "value": 0.6},
        },
        budget={"trials": trials},
    )


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def test_driver_killed_then_resume_completes_every_budgeted_trial(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    config = _slow_config(tmp_path, "killed")
    db = tmp_path / "archtune.db"
    driver = subprocess.Popen(
        [*ARCHTUNE, "run", str(config), "--quiet"],
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_complete(db, "killed", 2)
        workers = _children(driver.pid)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=10)
    finally:
        if driver.poll() is None:
            driver.kill()
    deadline = time.monotonic() + 10  # workers die with their driver
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [
        w
        for w in workers
        if Path(f"/proc/{w}/stat").exists()
        and Path(f"/proc/{w}/stat").read_text().split()[2] != "Z"
    ]
    assert _states(db, "killed").get("RUNNING", 0) >= 1  # the stale trials a dead driver left

    resumed = archtune("run", str(config), "--resume", "--quiet", env=cli_env)
    assert resumed.returncode == 0, resumed.stderr
    states = _states(db, "killed")
    assert states.get("COMPLETE") == 8  # every budgeted trial complete
    assert "RUNNING" not in states
    assert "WAITING" not in states
    study = optuna.load_study(study_name="killed", storage=f"sqlite:///{db}")
    interrupted = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert interrupted
    assert all(t.user_attrs["archtune.failure"] == "interrupted" for t in interrupted)
    rerun = {t.user_attrs.get("archtune.retry_of") for t in study.trials} - {None}
    assert rerun == {t.number for t in interrupted}  # each cut-short trial ran again


def test_ctrl_c_marks_running_trials_and_resume_finishes(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    config = _slow_config(tmp_path, "interrupted")
    db = tmp_path / "archtune.db"
    driver = subprocess.Popen(
        [*ARCHTUNE, "run", str(config)],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_complete(db, "interrupted", 1)
        driver.send_signal(signal.SIGINT)
        _, stderr = driver.communicate(timeout=30)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 130, stderr
    assert "--resume" in stderr
    states = _states(db, "interrupted")
    assert "RUNNING" not in states  # the storage is consistent
    resumed = archtune("run", str(config), "--resume", "--quiet", env=cli_env)
    assert resumed.returncode == 0, resumed.stderr
    assert _states(db, "interrupted").get("COMPLETE") == 8


def test_resume_refuses_a_study_another_driver_is_running(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    config = _slow_config(tmp_path, "busy", trials=100)  # still running when the second starts
    driver = subprocess.Popen(
        [*ARCHTUNE, "run", str(config), "--quiet"],
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_complete(tmp_path / "archtune.db", "busy", 1)
        second = archtune("run", str(config), "--resume", "--quiet", env=cli_env)
        assert second.returncode == 2
        assert f"is run by a live driver on host {socket.gethostname()} (pid {driver.pid}," in (
            " ".join(second.stderr.split())
        )
    finally:
        driver.kill()
        driver.wait()


def test_a_csv_label_column_is_named_on_the_command_line(tmp_path: Path) -> None:
    from sklearn.datasets import load_wine
    from typer.testing import CliRunner

    from archtune.cli import app

    wine = load_wine()
    pairs = zip(wine.data, wine.target, strict=True)
    rows = [",".join([*map(str, x), f"kind{y}"]) for x, y in pairs]
    header = ",".join([*(f"f{i}" for i in range(wine.data.shape[1])), "cultivar"])
    csv = tmp_path / "wine.csv"
    csv.write_text("\n".join([header, *rows]) + "\n")
    args = ["lr-find", "--data", str(csv), "--model", "mlp", "--steps", "20"]
    unnamed = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert unnamed.exit_code == 2
    assert "--label on the command line" in unnamed.stderr
    named = CliRunner().invoke(app, [*args, "--label", "cultivar"], env={"COLUMNS": "300"})
    assert named.exit_code == 0, named.output
    assert "suggested learning rate" in named.stdout


def test_export_of_a_study_of_your_own_function_is_one_line_before_any_retraining(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    config = write_config(tmp_path / "demo.yaml", budget={"trials": 2}, workers=1)
    assert archtune("run", str(config), "--quiet", env=cli_env).returncode == 0
    storage = f"sqlite:///{tmp_path / 'archtune.db'}"
    done = archtune(
        "export",
        "demo",
        "--storage",
        storage,
        "--format",
        "onnx",
        "-o",
        str(tmp_path / "m.onnx"),
        env=cli_env,
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr  # no "retraining ..." before the refusal
    assert "export rebuilds only built-in training studies" in lines[0]
