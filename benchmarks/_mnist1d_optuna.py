"""The mnist1d suites' Optuna runner: ``optuna-tpe-hyperband`` and ``random``."""

from __future__ import annotations

import multiprocessing as mp
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks._mnist1d_common import (
    Budget,
    EpochReporter,
    TrialRecord,
    one_thread,
    one_thread_env,
    setup,
)


def _optuna_storage(path: Path) -> Any:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def _optuna_worker(
    method: str,
    seed: int,
    slot: int,
    path: str,
    max_epochs: int,
    total: int,
    shared: tuple[Any, Any, Any, Any],
) -> None:
    """One worker process: ask, train, tell, while the launch rule allows."""
    import optuna

    one_thread()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    lock, finished, running, active = shared
    objective, space = setup(max_epochs)
    sampler: optuna.samplers.BaseSampler
    pruner: optuna.pruners.BasePruner
    if method == "random":
        sampler, pruner = (
            optuna.samplers.RandomSampler(seed * 1000 + slot),
            optuna.pruners.NopPruner(),
        )
    else:
        sampler = optuna.samplers.TPESampler(seed=seed * 1000 + slot)
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max_epochs, reduction_factor=3
        )
    study = optuna.load_study(
        study_name="mnist1d", storage=_optuna_storage(Path(path)), sampler=sampler, pruner=pruner
    )
    while True:
        with lock:
            budget = Budget(total, max_epochs, finished.value)
            budget.running = {i: running[i] for i in range(len(running)) if active[i]}
            decision = budget.decide()
            if decision == "launch":
                active[slot], running[slot] = 1, 0
        if decision == "done":
            return
        if decision == "wait":
            time.sleep(0.2)
            continue
        trial = study.ask()
        config = space.sample(trial)

        def on_epoch(step: int, metrics: Mapping[str, float], trial: Any = trial) -> bool:
            with lock:
                running[slot] = step
            trial.report(metrics["val_accuracy"], step)
            return bool(trial.should_prune())

        reporter = EpochReporter(trial.number, seed + trial.number, on_epoch)
        try:
            metrics = objective(config, reporter)
        except Exception as exc:  # diverged (NaN loss) or could not be built: a failed trial
            trial.set_user_attr("epochs", int(running[slot]))
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            print(f"trial {trial.number} failed: {exc}", file=sys.stderr)
        else:
            trial.set_user_attr("metrics", {k: float(v) for k, v in metrics.items()})
            trial.set_user_attr("seed", seed + trial.number)
            trial.set_user_attr("config", dict(config))
            if reporter.should_stop:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, float(metrics["val_accuracy"]))
        with lock:
            finished.value += running[slot]
            active[slot], running[slot] = 0, 0


def run_optuna(
    method: str, seed: int, budget: int, max_epochs: int, workers: int, workdir: Path
) -> list[TrialRecord]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = workdir / f"{method}-{seed}.journal"
    path.unlink(missing_ok=True)
    optuna.create_study(study_name="mnist1d", storage=_optuna_storage(path), direction="maximize")
    ctx = mp.get_context("spawn")
    shared = (ctx.Lock(), ctx.Value("i", 0), ctx.Array("i", workers), ctx.Array("b", workers))
    with one_thread_env():
        procs = [
            ctx.Process(
                target=_optuna_worker,
                args=(method, seed, slot, str(path), max_epochs, budget, shared),
            )
            for slot in range(workers)
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"{method}: worker processes exited with {bad}")
    study = optuna.load_study(study_name="mnist1d", storage=_optuna_storage(path))
    records = []
    for trial in study.trials:
        metrics = trial.user_attrs.get("metrics")
        if metrics is None:
            epochs = int(trial.user_attrs.get("epochs", 0))
            if epochs:
                records.append(TrialRecord(dict(trial.params), seed, epochs, None, 0))
            continue
        records.append(
            TrialRecord(
                dict(trial.user_attrs["config"]),
                int(trial.user_attrs["seed"]),
                int(metrics["epochs"]),
                metrics["val_accuracy"],
                int(metrics["params"]),
                metrics["test_accuracy"],
            )
        )
    return records
