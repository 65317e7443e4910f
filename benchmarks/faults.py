"""Studies under injected faults: nothing budgeted may be lost.

Each scenario runs a study of ``--trials`` trials of ``benchmarks._objectives.flaky`` (0.3 s
each) while faults are injected, and reads the outcome back from the storage:

- ``errors+nan``: the objective raises (10 %) or returns NaN (5 %): failed trials, counted;
- ``worker kills (local)`` / ``worker kills (ray)``: the objective SIGKILLs its own worker
  process (10 %): the trial is retried once, then failed;
- ``driver killed``: the driver is SIGKILLed after a third of the trials, then ``--resume``;
- ``database restart``: the PostgreSQL server is restarted mid-study; the driver stops on the
  storage error, then ``--resume`` (needs PostgreSQL; skipped when it is not installed).

The figures: trials budgeted, completed, retried (cut short by the machinery and run again),
failed with a reason, and lost (budgeted trials that never reached an end: must be 0).

    python -m benchmarks.faults [--trials 40] [--quick]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna
import yaml

from archtune.search import _attrs as attrs
from archtune.testing import find_pg_bin, postgres_server, restart_postgres

ROOT = Path(__file__).resolve().parent.parent


def _config(path: Path, name: str, storage: str, trials: int, **faults: float) -> Path:
    rates = {"p_raise": 0.0, "p_nan": 0.0, "p_kill": 0.0} | faults
    path.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "objective": "benchmarks._objectives:flaky",
                "space": {
                    "x": {"type": "float", "low": 0.0, "high": 1.0},
                    **{k: {"type": "fixed", "value": v} for k, v in rates.items()},
                },
                "objectives": {"value": "min"},
                "budget": {"trials": trials, "max_consecutive_failures": trials},
                "workers": 2,
                "max_retries": 1,
                "scheduler": "none",
                "storage": storage,
                "seed": 0,
            }
        )
    )
    return path


def _archtune(*args: str, wait: bool = True) -> Any:
    env = dict(os.environ, PYTHONPATH=str(ROOT), RAY_USAGE_STATS_ENABLED="0")
    command = [sys.executable, "-m", "archtune", "run", *args, "--quiet"]
    if wait:
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _ended(storage: str, name: str) -> int:
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        return 0
    return sum(attrs.counts_toward_budget(t) for t in study.get_trials(deepcopy=False))


def _wait_until(storage: str, name: str, n: int, limit_s: float = 300) -> None:
    deadline = time.monotonic() + limit_s
    while _ended(storage, name) < n and time.monotonic() < deadline:
        time.sleep(0.2)


def _figures(storage: str, name: str, budget: int) -> dict[str, int]:
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    state = optuna.trial.TrialState
    ended = sum(attrs.counts_toward_budget(t) for t in trials)
    return {
        "budgeted": budget,
        "completed": sum(t.state == state.COMPLETE for t in trials),
        "retried": sum(
            t.state == state.FAIL and not attrs.counts_toward_budget(t) for t in trials
        ),
        "failed": sum(
            t.state == state.FAIL
            and attrs.counts_toward_budget(t)
            and bool(t.user_attrs.get(attrs.TRIAL_ERROR))
            for t in trials
        ),
        "lost": budget - ended,
        "running": sum(t.state in (state.RUNNING, state.WAITING) for t in trials),
    }


def run_scenarios(trials: int, tmp: Path) -> list[tuple[str, dict[str, int]]]:
    rows: list[tuple[str, dict[str, int]]] = []
    sqlite = f"sqlite:///{tmp / 'faults.db'}"

    config = _config(tmp / "e.yaml", "errors", sqlite, trials, p_raise=0.1, p_nan=0.05)
    _archtune(str(config))
    rows.append(("errors+nan", _figures(sqlite, "errors", trials)))

    for executor in ("local", "ray"):
        name = f"kills-{executor}"
        config = _config(tmp / f"{name}.yaml", name, sqlite, trials, p_kill=0.1)
        done = _archtune(str(config), "--executor", executor)
        if done.returncode != 0:
            print(f"{name}: {done.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        rows.append((f"worker kills ({executor})", _figures(sqlite, name, trials)))

    config = _config(tmp / "d.yaml", "driver", sqlite, trials)
    driver = _archtune(str(config), wait=False)
    _wait_until(sqlite, "driver", trials // 3)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    _archtune(str(config), "--resume")
    rows.append(("driver killed", _figures(sqlite, "driver", trials)))

    bin_dir = find_pg_bin()
    if bin_dir is not None:
        with postgres_server() as url:
            config = _config(tmp / "p.yaml", "restart", url, trials)
            driver = _archtune(str(config), wait=False)
            _wait_until(url, "restart", trials // 3)
            restart_postgres(url)
            driver.wait(timeout=600)
            _archtune(str(config), "--resume")
            rows.append(("database restart", _figures(url, "restart", trials)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="12 trials per scenario")
    args = parser.parse_args()
    trials = 12 if args.quick else args.trials
    with tempfile.TemporaryDirectory() as tmp:
        rows = run_scenarios(trials, Path(tmp))
    columns = ("budgeted", "completed", "retried", "failed", "lost")
    print(f"{trials} trials of 0.3 s per scenario, 2 workers, max_retries 1")
    print(f"{'scenario':<24}" + "".join(f"{c:>11}" for c in columns))
    for name, figures in rows:
        print(f"{name:<24}" + "".join(f"{figures[c]:>11}" for c in columns))
    lost = sum(f["lost"] for _, f in rows)
    print(f"lost in all scenarios: {lost} (must be 0)")


if __name__ == "__main__":
    main()
