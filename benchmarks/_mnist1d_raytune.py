"""The mnist1d suites' Ray Tune runner: ``raytune-asha-optuna`` (and ``start_local_ray``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archtune.space import Fixed, Space
from benchmarks._mnist1d_common import (
    ROOT,
    Budget,
    EpochReporter,
    TrialRecord,
    one_thread,
    params_of,
    setup,
)


def _ray_trial(config: dict[str, Any]) -> None:
    """One Ray Tune trial: train and report every epoch (ASHA stops it by ending it)."""
    from ray import tune

    one_thread()
    max_epochs = int(config["epochs"])
    objective, _ = setup(max_epochs)
    params = params_of(objective, config)
    seed = int(config.pop("_seed"))

    def on_epoch(step: int, metrics: Mapping[str, float]) -> bool:
        tune.report({"val_accuracy": float(metrics["val_accuracy"]), "params": params})
        return False

    objective(config, EpochReporter(0, seed, on_epoch))


class _DefineByRun:
    """Ray's ``OptunaSearch`` space: archtune's own sampling; returns the fixed values."""

    def __init__(self, space: Space) -> None:
        self.space = space

    def __call__(self, trial: Any) -> dict[str, Any]:
        config = self.space.sample(trial)
        return {k: v for k, v in config.items() if isinstance(self.space[k], Fixed)}


def _ray_search_class() -> Any:
    """``OptunaSearch`` that keeps the launch rule (defined lazily: Ray is optional).

    The class is published as this module's ``_RayBudgetSearch`` so that Ray can pickle it.
    """
    cls = globals().get("_RayBudgetSearch")
    if cls is not None:
        return cls
    from ray.tune.search import Searcher
    from ray.tune.search.optuna import OptunaSearch

    class _RayBudgetSearch(OptunaSearch):
        state: Budget
        seen: dict[str, dict[str, Any]]
        seed0: int

        def suggest(self, trial_id: str) -> dict[Any, Any] | None:
            decision = self.state.decide()
            if decision == "done":
                return Searcher.FINISHED  # type: ignore[return-value]  # Ray's marker
            if decision == "wait":
                return None
            config = super().suggest(trial_id)
            if isinstance(config, dict):
                self.state.running[trial_id] = 0
                number = len(self.seen)
                self.seen[trial_id] = {"config": dict(config), "seed": self.seed0 + number}
                config = {**config, "_seed": self.seed0 + number}
            return config

        def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
            super().on_trial_result(trial_id, result)
            self.state.running[trial_id] = int(result["training_iteration"])
            self.seen[trial_id]["last"] = result

        def on_trial_complete(
            self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
        ) -> None:
            # A trial that the scheduler stops on a result reaches here without
            # on_trial_result for that result.
            super().on_trial_complete(trial_id, result, error)
            epochs = self.state.running.pop(trial_id, 0)
            if result and "training_iteration" in result and "val_accuracy" in result:
                epochs = max(epochs, int(result["training_iteration"]))
                self.seen[trial_id]["last"] = result
            self.state.finished += epochs

    globals()["_RayBudgetSearch"] = _RayBudgetSearch
    return _RayBudgetSearch


def start_local_ray(workers: int) -> None:
    """A local Ray of ``workers`` CPUs whose workers import this repository, one thread each."""
    import ray

    env = {
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "OMP_NUM_THREADS": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    ray.init(
        num_cpus=workers,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": env},
    )


def run_ray(
    seed: int, budget: int, max_epochs: int, workers: int, workdir: Path
) -> list[TrialRecord]:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import optuna
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _, space = setup(max_epochs)
    search = _ray_search_class()(
        space=_DefineByRun(space), metric="val_accuracy", mode="max", seed=seed
    )
    search.state, search.seen, search.seed0 = Budget(budget, max_epochs), {}, seed
    scheduler = ASHAScheduler(max_t=max_epochs)
    start_local_ray(workers)
    try:
        tuner = tune.Tuner(
            _ray_trial,
            tune_config=tune.TuneConfig(
                metric="val_accuracy",
                mode="max",
                search_alg=search,
                scheduler=scheduler,
                num_samples=-1,
                max_concurrent_trials=workers,
            ),
            run_config=tune.RunConfig(
                name=f"ray-{seed}", storage_path=str(workdir / "ray"), verbose=0
            ),
        )
        tuner.fit()
    finally:
        ray.shutdown()
    records = []
    for item in search.seen.values():
        last = item.get("last")
        if last is None:
            continue
        records.append(
            TrialRecord(
                item["config"],
                item["seed"],
                int(last["training_iteration"]),
                float(last["val_accuracy"]),
                int(last["params"]),
            )
        )
    return records
