"""Per-trial overhead of archtune's driver against Optuna's own ``study.optimize``.

Both run the same do-nothing objective over the same space with the same seeded TPE sampler
and a fresh SQLite storage each; archtune runs it in one worker process (the objective crosses
a process boundary), Optuna in its own process. Prints one table.

    python -m benchmarks.overhead [--trials 200] [--seed 0] [--repeats 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import optuna

import archtune
from archtune import Choice, Float, Int
from benchmarks._objectives import noop, value_of

SPACE = {"x": Float(0.0, 1.0), "n": Int(1, 64, log=True), "opt": Choice(["sgd", "adam"])}


def run_optuna(n_trials: int, seed: int, storage: str) -> float:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        n = trial.suggest_int("n", 1, 64, log=True)
        opt = trial.suggest_categorical("opt", ["sgd", "adam"])
        return value_of(x, n, opt)

    start = time.perf_counter()
    study = optuna.create_study(
        storage=storage, study_name="optuna", sampler=optuna.samplers.TPESampler(seed=seed)
    )
    study.optimize(objective, n_trials=n_trials)
    return time.perf_counter() - start


def run_archtune(n_trials: int, seed: int, storage: str) -> float:
    start = time.perf_counter()
    archtune.tune(
        noop,
        SPACE,
        objectives={"value": "min"},
        n_trials=n_trials,
        n_workers=1,
        sampler="tpe",
        seed=seed,
        storage=storage,
        study_name="archtune",
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    times: dict[str, list[float]] = {"optuna": [], "archtune": []}
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            for name, runner in (("optuna", run_optuna), ("archtune", run_archtune)):
                storage = f"sqlite:///{Path(tmp) / f'{name}-{repeat}.db'}"
                times[name].append(runner(args.trials, args.seed + repeat, storage))
    per_trial = {name: statistics.median(t) / args.trials * 1e3 for name, t in times.items()}
    print(
        f"per-trial overhead, {args.trials} trials of a no-op objective, TPE, SQLite, "
        f"median of {args.repeats} ({platform.processor() or platform.machine()}, "
        f"optuna {optuna.__version__})"
    )
    print(f"{'method':<28}{'total s':>10}{'ms/trial':>10}{'ratio':>8}")
    for name, label in (
        ("optuna", "optuna study.optimize"),
        ("archtune", "archtune tune, 1 worker"),
    ):
        total = statistics.median(times[name])
        print(
            f"{label:<28}{total:>10.2f}{per_trial[name]:>10.2f}"
            f"{per_trial[name] / per_trial['optuna']:>8.2f}"
        )
    ratio = per_trial["archtune"] / per_trial["optuna"]
    print(f"target: archtune <= 1.5x optuna; measured {ratio:.2f}x")


if __name__ == "__main__":
    main()
