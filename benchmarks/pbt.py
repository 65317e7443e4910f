"""Population-based training: archtune's PBT against Ray Tune's and against archtune's search
with a fixed schedule, on the same network, recipe space, training code and epochs.

Every method trains archtune's built-in torch training of one network (``mnist1d``: the
``cnn1d`` default; ``mnist-sample``: the reference CNN ``cnn-32-64-64``) with SGD and momentum,
a constant base schedule, and the recipe space of the issue: ``lr`` (log 1e-3..0.3),
``momentum`` (0.5..0.99), ``weight_decay`` (log 1e-6..1e-2), ``label_smoothing`` (0..0.2).

- ``archtune-pbt``: ``scheduler: {name: pbt}`` with its defaults (population ``--population``,
  interval an eighth of the epochs, quantile 0.25, perturb by 0.8/1.2 with a quarter resampled),
  ``--workers`` workers, SQLite beside its checkpoints.
- ``ray-pbt``: Ray Tune's ``PopulationBasedTraining`` with the same population, interval,
  quantile, factors and resample probability, the same space, ``num_samples`` = population and
  ``ray.init(num_cpus=workers)``; the trainable runs archtune's training through a reporter that
  turns each epoch into ``tune.report(metrics, checkpoint=...)`` and restores from
  ``tune.get_checkpoint()``.
- ``archtune-search``: archtune's default search (``sampler: auto``, ``scheduler: auto``) over the
  same space with the constant schedule, ``budget.steps`` = population x epochs.

Each method's model is its best member or trial by validation accuracy; the table gives its
test accuracy (measured once, by the training that produced it), the epochs trained, and the
ratio to ``ray-pbt`` in the same run. ``replay``: the best archtune member's schedule exported as
``schedule: piecewise`` and trained again from scratch with the member's seed.

    python -m benchmarks.pbt --problem mnist1d --seeds 3 --population 8 --epochs 40
    python -m benchmarks.pbt --problem mnist-sample --seeds 3 --population 8 --epochs 12
"""

from __future__ import annotations

import argparse
import csv
import os
import pickle
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchmarks._table import table_head

PROBLEMS = {
    "mnist1d": ("mnist1d", {"family": "cnn1d", "space": "none"}),
    "mnist-sample": ("mnist-sample", "cnn-32-64-64"),
}
SPACE = {
    "lr": {"type": "float", "low": 1e-3, "high": 0.3, "log": True},
    "momentum": {"type": "float", "low": 0.5, "high": 0.99},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
    "label_smoothing": {"type": "float", "low": 0.0, "high": 0.2},
}
METHODS = ("archtune-pbt", "ray-pbt", "archtune-search")
_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    """One method's run."""

    problem: str
    method: str
    seed: int
    population: int
    epochs: int
    epochs_trained: int
    val_accuracy: float
    test_accuracy: float
    replay_test_accuracy: float | None
    wall_s: float


def _recipe(epochs: int) -> dict[str, Any]:
    return {"space": "none", "optimizer": "momentum", "epochs": epochs, **SPACE}


def _threads() -> None:
    import torch

    torch.set_num_threads(1)


# -- archtune ---------------------------------------------------------------------------------
def run_archtune(
    problem: str, method: str, seed: int, population: int, epochs: int, workers: int, work: Path
) -> Row:
    import archtune

    data, model = PROBLEMS[problem]
    scheduler: Any = {"name": "pbt"} if method == "archtune-pbt" else "auto"
    budget: dict[str, Any] = (
        {"n_trials": population}
        if method == "archtune-pbt"
        else {"n_trials": 999, "max_total_steps": population * epochs}
    )
    start = time.perf_counter()
    result = archtune.tune(
        data=data,
        model=model,
        recipe=_recipe(epochs),
        n_workers=workers,
        scheduler=scheduler,
        storage=f"sqlite:///{work / f'{method}-{seed}.db'}",
        study_name="run",
        seed=seed,
        **budget,
    )
    wall = time.perf_counter() - start
    trials = result.study.trials
    done = [
        t
        for t in trials
        if t.state.name == "COMPLETE" and "archtune.stopped_at" not in t.user_attrs
    ]
    best = max(done, key=lambda t: t.values[0])
    trained = sum(
        len(t.user_attrs.get("archtune.curve", []))
        - int(t.user_attrs.get("archtune.inherited_steps", 0))
        for t in trials
    )
    metrics = best.user_attrs["archtune.metrics"]
    replay = None
    if method == "archtune-pbt":
        replay = _replay(problem, result, best, epochs, seed, work)
    return Row(
        problem,
        method,
        seed,
        population,
        epochs,
        trained,
        float(metrics["val_accuracy"]),
        float(metrics["test_accuracy"]),
        replay,
        wall,
    )


def _replay(problem: str, result: Any, best: Any, epochs: int, seed: int, work: Path) -> float:
    """Train the best member's schedule again from scratch, as plain training."""
    import archtune
    from archtune.search._attrs import lineage
    from archtune.search._lineage import member_schedule, schedule_recipe

    member = lineage(best)[0]
    steps = member_schedule(result.study.trials, member)
    recipe = {
        "space": "none",
        "optimizer": "momentum",
        "epochs": epochs,
        **schedule_recipe(steps, list(SPACE)),
    }
    data, model = PROBLEMS[problem]
    again = archtune.tune(
        data=data,
        model=model,
        recipe=recipe,
        n_trials=1,
        storage=f"sqlite:///{work / f'replay-{seed}.db'}",
        study_name="replay",
        seed=seed + member,  # the member's own seed (archtune seeds a lineage by its number)
    )
    (trial,) = again.study.trials
    return float(trial.user_attrs["archtune.metrics"]["test_accuracy"])


# -- Ray Tune ---------------------------------------------------------------------------------
class RayReporter:
    """archtune's :class:`~archtune.CheckpointReporter` inside a Ray Tune function trainable.

    Each epoch's report is sent with the checkpoint saved after it (one ``tune.report`` per
    epoch, as Ray's PBT needs); the last epoch's carries the final test metrics too.
    """

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._pending: dict[str, float] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    trial_number = 0

    @property
    def seed(self) -> int:
        return self._seed

    should_stop = False
    keeps_checkpoints = True

    def report(self, step: int, **metrics: float) -> Any:
        from archtune import Decision

        self.flush()
        self._pending = {**metrics, "epoch": float(step)}
        return Decision.CONTINUE

    def checkpoint(self, state: Any) -> None:
        if self._folder is not None:
            self._folder.cleanup()
        self._folder = tempfile.TemporaryDirectory()
        with open(Path(self._folder.name, "state.pkl"), "wb") as file:
            pickle.dump(state, file, pickle.HIGHEST_PROTOCOL)

    def restore(self, *, from_trial: int | None = None) -> Any:
        from ray import tune

        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            return None
        with checkpoint.as_directory() as folder, open(Path(folder, "state.pkl"), "rb") as file:
            return pickle.load(file)

    def flush(self, extra: Mapping[str, float] | None = None) -> None:
        from ray import tune

        if self._pending is None:
            return
        metrics = {**self._pending, **(extra or {})}
        folder = self._folder
        self._pending, self._folder = None, None
        if folder is None:
            tune.report(metrics)
            return
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder.name))
        folder.cleanup()


def _ray_trainable(config: dict[str, Any]) -> None:
    from archtune.training import setup_training

    _threads()
    data, model = PROBLEMS[config["_problem"]]
    blocks = {"network": model} if isinstance(model, str) else model
    setup = setup_training({"dataset": data}, blocks, _recipe(int(config["_epochs"])))
    trial = {k: v for k, v in config.items() if not k.startswith("_")}
    full = _complete(setup.space, trial)
    reporter = RayReporter(int(config["_seed"]))
    metrics = setup.objective(full, reporter)  # type: ignore[arg-type]
    tests = {k: float(v) for k, v in metrics.items() if k.startswith("test_")}
    reporter.flush(tests)


def _complete(space: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    return space.complete({name: params[name] for name in space if name in params})


def run_ray(
    problem: str, seed: int, population: int, epochs: int, workers: int, work: Path
) -> Row:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import ray
    from ray import tune
    from ray.tune.schedulers import PopulationBasedTraining
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from archtune.search._pbt import default_interval
    from benchmarks._mnist1d import start_local_ray

    random.seed(seed)
    domains = {
        "lr": tune.loguniform(1e-3, 0.3),
        "momentum": tune.uniform(0.5, 0.99),
        "weight_decay": tune.loguniform(1e-6, 1e-2),
        "label_smoothing": tune.uniform(0.0, 0.2),
    }
    scheduler = PopulationBasedTraining(
        time_attr="training_iteration",
        perturbation_interval=default_interval(epochs),
        hyperparam_mutations=domains,
        quantile_fraction=0.25,
        resample_probability=0.25,
        perturbation_factors=(1.2, 0.8),
    )
    space = {
        **domains,
        "_problem": problem,
        "_epochs": epochs,
        "_seed": tune.randint(0, 1_000_000),
    }
    start_local_ray(workers)
    start = time.perf_counter()
    try:
        tuner = tune.Tuner(
            _ray_trainable,
            param_space=space,
            tune_config=tune.TuneConfig(
                metric="val_accuracy",
                mode="max",
                scheduler=scheduler,
                num_samples=population,
                search_alg=BasicVariantGenerator(random_state=seed),
            ),
            run_config=tune.RunConfig(
                name=f"ray-pbt-{seed}", storage_path=str(work / "ray"), verbose=0
            ),
        )
        results = tuner.fit()
    finally:
        ray.shutdown()
    wall = time.perf_counter() - start
    finals = [r.metrics for r in results if r.metrics and "test_accuracy" in r.metrics]
    best = max(finals, key=lambda m: m["val_accuracy"])
    # One report per epoch trained (a restored trial reports the epochs it trains again).
    trained = sum(len(r.metrics_dataframe) for r in results if r.metrics_dataframe is not None)
    return Row(
        problem,
        "ray-pbt",
        seed,
        population,
        epochs,
        int(trained),
        float(best["val_accuracy"]),
        float(best["test_accuracy"]),
        None,
        wall,
    )


# -- the table --------------------------------------------------------------------------------
def _table(rows: list[Row]) -> str:
    by: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        by.setdefault((row.problem, row.method), []).append(row)
    lines = table_head(
        [
            "problem",
            "method",
            "test acc (mean)",
            "per seed",
            "/ ray-pbt",
            "replay test acc",
            "epochs trained",
            "wall s",
            "seeds",
        ]
    )
    for (problem, method), group in sorted(by.items()):
        ray = {r.seed: r.test_accuracy for r in by.get((problem, "ray-pbt"), [])}
        ratios = [r.test_accuracy / ray[r.seed] for r in group if r.seed in ray]
        ratio = f"{statistics.mean(ratios):.4f}" if ratios and method != "ray-pbt" else "-"
        replays = [r.replay_test_accuracy for r in group if r.replay_test_accuracy is not None]
        replay = f"{statistics.mean(replays):.4f}" if replays else "-"
        lines.append(
            f"| {problem} | {method} | {statistics.mean(r.test_accuracy for r in group):.4f} | "
            f"{' / '.join(f'{r.test_accuracy:.3f}' for r in sorted(group, key=lambda r: r.seed))}"
            f" | {ratio} | {replay} | {statistics.mean(r.epochs_trained for r in group):.0f} | "
            f"{statistics.mean(r.wall_s for r in group):.0f} | {len(group)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", choices=sorted(PROBLEMS), action="append")
    parser.add_argument("--method", choices=METHODS, action="append")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--population", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=_ROOT / "benchmarks" / "results")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    path = args.out / "pbt.csv"
    rows = [Row(**_typed(r)) for r in csv.DictReader(path.open())] if path.exists() else []
    if not args.table_only:
        _threads()
        for problem in args.problem or ["mnist1d"]:
            for seed in range(args.seeds):
                for method in args.method or METHODS:
                    with tempfile.TemporaryDirectory() as folder:
                        work = Path(folder)
                        if method == "ray-pbt":
                            row = run_ray(
                                problem, seed, args.population, args.epochs, args.workers, work
                            )
                        else:
                            row = run_archtune(
                                problem,
                                method,
                                seed,
                                args.population,
                                args.epochs,
                                args.workers,
                                work,
                            )
                    rows = [
                        r
                        for r in rows
                        if (r.problem, r.method, r.seed, r.epochs)
                        != (problem, method, seed, args.epochs)
                    ]
                    rows.append(row)
                    _write(path, rows)
                    print(
                        f"{problem} {method} seed {seed}: test {row.test_accuracy:.4f}", flush=True
                    )
    print(
        f"# {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print(_table(rows))


def _typed(raw: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, kind in Row.__annotations__.items():
        value = raw[name]
        if value == "":
            out[name] = None
        elif "int" in kind:
            out[name] = int(value)
        elif "float" in kind:
            out[name] = float(value)
        else:
            out[name] = value
    return out


def _write(path: Path, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(Row.__annotations__))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in asdict(row).items()})


if __name__ == "__main__":
    main()
