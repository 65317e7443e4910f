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

Two more scenarios run archtune's built-in training (``cnn1d`` on ``mnist1d``, 8 epochs, a
checkpoint after every epoch in the study's artifact folder beside the SQLite file), whose
reruns must continue from their checkpoints:

- ``built-in, workers killed``: a few times, once some unfinished trial has checkpointed two
  epochs or more, the harness SIGKILLs every worker process (``max_retries: 3``);
- ``built-in, driver killed``: the driver is SIGKILLed once some unfinished trial has
  checkpointed three epochs or more, then ``--resume``.

Their figures: reruns; those whose attempt before surely checkpointed (it reported an epoch
after one; a trial cut short in its first epoch has nothing to resume from); those that resumed
from a checkpoint; the epochs they kept (not trained again); the epochs trained twice
(reported by the attempt before and again by the rerun: at most one per rerun, the epoch
between its report and its checkpoint; the epoch a kill interrupts is lost work, not counted);
epochs trained again although the attempt before had checkpointed them (must be 0: an epoch it
reported and went past, or, when the driver was killed and its record of the reports lost, one
kept with the checkpoint); and how many resumed trials ended with exactly the metrics of the
same trial trained without interruption (retrained here, in-process: same seed, one thread).

Two scenarios run population-based training (``scheduler: pbt``, 4 members of the same
built-in training, interval 2 epochs): workers SIGKILLed twice, and the driver SIGKILLed then
``--resume``. Figures: members budgeted, completed, segments paused, segments cut short and run
again, members lost (must be 0), and members whose curve holds every epoch exactly once
(``whole``: nothing lost, nothing counted twice).

    python -m benchmarks.faults [--trials 40] [--quick] [--only flaky|builtin|pbt]
"""

from __future__ import annotations

import argparse
import json
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


def _builtin_config(path: Path, name: str, storage: str, trials: int) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "data": {"dataset": "mnist1d"},
                "model": {"family": "cnn1d", "space": "none"},
                "recipe": {
                    "space": "none",
                    "epochs": _EPOCHS,
                    "lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
                },
                "objectives": {"val_accuracy": "max"},
                "budget": {"trials": trials, "max_consecutive_failures": trials},
                "workers": 2,
                "max_retries": 3,
                "sampler": "random",
                "scheduler": "none",
                "storage": storage,
                "seed": 0,
            }
        )
    )
    return path


def _workers_of(pid: int) -> list[int]:
    """The driver's worker processes (spawned; not multiprocessing's resource tracker)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    workers = []
    for child in (int(p) for p in out.stdout.split()):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            workers.append(child)
    return workers


_EPOCHS = 8


def _unfinished_saved(storage: str, name: str) -> list[int]:
    """How many epochs each trial lineage that has not trained every epoch checkpointed."""
    folder = Path(storage.removeprefix("sqlite:///")).with_suffix(".artifacts") / name
    counts = []
    for reports in folder.glob("trial-*/reports.json"):
        try:
            n = len(json.loads(reports.read_text()))
        except (OSError, ValueError):
            continue
        if n < _EPOCHS:
            counts.append(n)
    return counts


def _wait_for_saved(storage: str, name: str, driver: Any, epochs: int) -> bool:
    """Wait until an unfinished trial checkpointed ``epochs`` epochs; ``False``: it ended."""
    while driver.poll() is None:
        if any(n >= epochs for n in _unfinished_saved(storage, name)):
            return True
        time.sleep(0.1)
    return False


def _kill_workers(storage: str, name: str, driver: Any, n_strikes: int, every_s: float) -> int:
    """``n_strikes`` times, ``every_s`` apart, once an unfinished trial has checkpointed two
    epochs: SIGKILL every worker of ``driver``. Returns the processes killed."""
    killed = 0
    for _ in range(n_strikes):
        if not _wait_for_saved(storage, name, driver, 2):
            break
        for worker in _workers_of(driver.pid):
            os.kill(worker, signal.SIGKILL)
            killed += 1
        time.sleep(every_s)
    return killed


def _resume_figures(storage: str, name: str) -> dict[str, int]:
    """How the reruns of a built-in study resumed (see the module's docstring)."""
    import torch

    from archtune import NullReporter
    from archtune.space import Space
    from archtune.training import TrainObjective

    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    objective = TrainObjective.from_record(study.user_attrs["archtune.builtin"])
    space = Space.from_dict(study.user_attrs[attrs.STUDY_SPACE])
    figures = {"reruns": 0, "saved": 0, "resumed": 0, "kept": 0, "twice": 0, "before": 0}
    figures["exact"] = 0
    torch.set_num_threads(1)
    for trial in trials:
        first, _ = attrs.lineage(trial)
        if first == trial.number:
            continue
        figures["reruns"] += 1
        curve = [row["step"] for row in trial.user_attrs.get(attrs.TRIAL_CURVE) or []]
        inherited = int(trial.user_attrs.get(attrs.TRIAL_INHERITED, 0))
        own = curve[inherited:]
        earlier = [t for t in trials if t.number < trial.number and attrs.lineage(t)[0] == first]
        previous = max(earlier, key=lambda t: t.number)
        reported = [row["step"] for row in previous.user_attrs.get(attrs.TRIAL_CURVE) or []]
        # An epoch the attempt before reported and then went past was checkpointed: each
        # epoch's checkpoint follows its report. A killed driver recorded nothing: the
        # reports kept with the lineage's checkpoint (inherited) are the checkpointed ones.
        saved = max(reported) - 1 if reported else max(curve[:inherited], default=0)
        reported = reported or curve[:inherited]
        figures["saved"] += saved > 0
        figures["kept"] += inherited
        figures["twice"] += sum(1 for step in own if step in reported)
        figures["before"] += sum(1 for step in own if step <= saved)
        if not inherited or trial.state != optuna.trial.TrialState.COMPLETE:
            continue
        figures["resumed"] += 1
        straight = objective(space.complete(trial.params), NullReporter(seed=first))
        metrics = trial.user_attrs[attrs.TRIAL_METRICS]
        keys = ("train_loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy")
        figures["exact"] += all(metrics[k] == straight[k] for k in keys)
    return figures


def run_builtin_scenarios(
    trials: int, tmp: Path
) -> list[tuple[str, dict[str, int], dict[str, int]]]:
    """The built-in training scenarios: workers killed, driver killed then resumed."""
    rows: list[tuple[str, dict[str, int], dict[str, int]]] = []
    sqlite = f"sqlite:///{tmp / 'builtin.db'}"

    config = _builtin_config(tmp / "bk.yaml", "builtin-kills", sqlite, trials)
    driver = _archtune(str(config), wait=False)
    kills = _kill_workers(sqlite, "builtin-kills", driver, n_strikes=trials // 4, every_s=6.0)
    driver.wait(timeout=1800)
    print(f"built-in, workers killed: {kills} worker processes SIGKILLed", file=sys.stderr)
    rows.append(
        (
            "built-in, workers killed",
            _figures(sqlite, "builtin-kills", trials),
            _resume_figures(sqlite, "builtin-kills"),
        )
    )

    config = _builtin_config(tmp / "bd.yaml", "builtin-driver", sqlite, trials)
    driver = _archtune(str(config), wait=False)
    _wait_for_saved(sqlite, "builtin-driver", driver, 3)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    _archtune(str(config), "--resume")
    rows.append(
        (
            "built-in, driver killed",
            _figures(sqlite, "builtin-driver", trials),
            _resume_figures(sqlite, "builtin-driver"),
        )
    )
    return rows


def _pbt_config(path: Path, name: str, storage: str, population: int) -> Path:
    data = yaml.safe_load(_builtin_config(path, name, storage, population).read_text())
    data["scheduler"] = {"name": "pbt", "interval": 2}
    path.write_text(yaml.safe_dump(data))
    return path


def _pbt_figures(storage: str, name: str, population: int) -> dict[str, int]:
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    state = optuna.trial.TrialState
    members = [t for t in trials if t.state == state.COMPLETE]
    whole = sum(
        [row["step"] for row in t.user_attrs.get(attrs.TRIAL_CURVE) or []]
        == list(range(1, _EPOCHS + 1))
        for t in members
    )
    return {
        "members": population,
        "completed": len(members),
        "paused": sum(attrs.was_paused(t) for t in trials),
        "retried": sum(
            t.state == state.FAIL and not attrs.counts_toward_budget(t) for t in trials
        ),
        "lost": population - len(members),
        "whole": whole,
    }


def run_pbt_scenarios(population: int, tmp: Path) -> list[tuple[str, dict[str, int]]]:
    """Population-based training: workers killed, driver killed then resumed."""
    rows: list[tuple[str, dict[str, int]]] = []
    sqlite = f"sqlite:///{tmp / 'pbt.db'}"
    config = _pbt_config(tmp / "pk.yaml", "pbt-kills", sqlite, population)
    driver = _archtune(str(config), wait=False)
    kills = _kill_workers(sqlite, "pbt-kills", driver, n_strikes=2, every_s=6.0)
    driver.wait(timeout=1800)
    print(f"pbt, workers killed: {kills} worker processes SIGKILLed", file=sys.stderr)
    rows.append(("pbt, workers killed", _pbt_figures(sqlite, "pbt-kills", population)))

    config = _pbt_config(tmp / "pd.yaml", "pbt-driver", sqlite, population)
    driver = _archtune(str(config), wait=False)
    _wait_for_saved(sqlite, "pbt-driver", driver, 3)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    _archtune(str(config), "--resume")
    rows.append(("pbt, driver killed", _pbt_figures(sqlite, "pbt-driver", population)))
    return rows


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
    parser.add_argument("--only", choices=("flaky", "builtin", "pbt"), help="one kind of scenario")
    args = parser.parse_args()
    trials = 12 if args.quick else args.trials
    rows: list[tuple[str, dict[str, int]]] = []
    builtin: list[tuple[str, dict[str, int], dict[str, int]]] = []
    population: list[tuple[str, dict[str, int]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "flaky"):
            rows = run_scenarios(trials, Path(tmp))
        if args.only in (None, "builtin"):
            builtin = run_builtin_scenarios(max(4, trials // 4), Path(tmp))
        if args.only in (None, "pbt"):
            population = run_pbt_scenarios(4, Path(tmp))
    columns = ("budgeted", "completed", "retried", "failed", "lost")
    if rows:
        print(f"{trials} trials of 0.3 s per scenario, 2 workers, max_retries 1")
        print(f"{'scenario':<26}" + "".join(f"{c:>11}" for c in columns))
        for name, figures in rows:
            print(f"{name:<26}" + "".join(f"{figures[c]:>11}" for c in columns))
    if builtin:
        print(
            f"\n{builtin[0][1]['budgeted']} trials of built-in training per scenario (cnn1d on "
            "mnist1d, 8 epochs, a checkpoint per epoch), 2 workers, max_retries 3"
        )
        print(f"{'scenario':<26}" + "".join(f"{c:>11}" for c in columns))
        for name, figures, _ in builtin:
            print(f"{name:<26}" + "".join(f"{figures[c]:>11}" for c in columns))
        resumed = ("reruns", "saved", "resumed", "kept", "twice", "before", "exact")
        print(f"{'reruns':<26}" + "".join(f"{c:>11}" for c in resumed))
        for name, _, figures in builtin:
            print(f"{name:<26}" + "".join(f"{figures[c]:>11}" for c in resumed))
        print(
            "saved: reruns whose attempt before surely checkpointed (it reported an epoch after "
            "one); resumed: reruns that continued from a checkpoint (>= saved); kept: epochs "
            "they did not train again; twice: epochs trained by two attempts; before: epochs "
            "up to a checkpoint trained again (must be 0); exact: resumed trials whose metrics "
            "equal an uninterrupted run's"
        )
    if population:
        print(
            "\n4 members of population-based training (the same built-in training, "
            "scheduler: pbt, interval 2 epochs), 2 workers, max_retries 3"
        )
        pbt_columns = ("members", "completed", "paused", "retried", "lost", "whole")
        print(f"{'scenario':<26}" + "".join(f"{c:>11}" for c in pbt_columns))
        for name, figures in population:
            print(f"{name:<26}" + "".join(f"{figures[c]:>11}" for c in pbt_columns))
        print("whole: members whose curve holds every epoch exactly once")
    lost = sum(f["lost"] for _, f in rows) + sum(f["lost"] for _, f, _ in builtin)
    lost += sum(f["lost"] for _, f in population)
    print(f"lost in all scenarios: {lost} (must be 0)")


if __name__ == "__main__":
    main()
