"""The Ray executor against the local executor: 40 one-second CPU-bound trials on 2 CPUs.

Both run the same study (TPE, SQLite) with two workers, one after the other in one process.
Ray is started first (as a running cluster would be) and its start-up is shown on its own;
the executor's wall time includes starting its actors. Throughput is trials per second of wall
time; overhead is ``1 - sum(trial busy time) / (n_workers * wall)``.

    python -m benchmarks.ray_executor [--trials 40] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from archtune import Fixed, Float
from archtune.config import build_experiment
from archtune.execution import BaseExecutor, LocalExecutor
from archtune.execution._ray import RayExecutor
from archtune.search import Driver
from benchmarks._objectives import calibrate, cpu_bound

N_WORKERS = 2


def run(executor: BaseExecutor, name: str, n_trials: int, iterations: int, storage: str) -> Any:
    """Run the study with ``executor``; return (wall seconds, summed trial busy seconds)."""
    data: dict[str, Any] = {
        "name": name,
        "objective": cpu_bound,
        "space": {"x": Float(0.0, 1.0), "iterations": Fixed(iterations)},
        "objectives": {"value": "min"},
        "budget": {"trials": n_trials},
        "workers": N_WORKERS,
        "sampler": "tpe",
        "scheduler": "none",
        "seed": 0,
        "storage": storage,
    }
    experiment = build_experiment(data, source="benchmark")
    start = time.perf_counter()
    result = Driver(experiment, executor=executor).run()
    wall = time.perf_counter() - start
    if result.counts != {"complete": n_trials}:
        raise RuntimeError(f"{name}: not every trial completed: {result.counts}")
    return wall, sum(t.metrics["busy_s"] for t in result.trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    iterations = calibrate(args.seconds)
    root = str(Path(__file__).resolve().parent.parent)
    began = time.perf_counter()
    ray.init(
        num_cpus=N_WORKERS,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        runtime_env={"env_vars": {"PYTHONPATH": root}},
        logging_level=logging.WARNING,
    )
    ray_start = time.perf_counter() - began
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            executors: list[tuple[str, BaseExecutor]] = [
                ("local", LocalExecutor(N_WORKERS)),
                ("ray", RayExecutor(N_WORKERS)),
            ]
            for name, executor in executors:
                storage = f"sqlite:///{Path(tmp) / f'{name}.db'}"
                wall, busy = run(executor, name, args.trials, iterations, storage)
                overhead = 1 - busy / (N_WORKERS * wall)
                rows.append((name, wall, args.trials / wall, overhead, busy / args.trials))
    finally:
        ray.shutdown()
    print(
        f"{args.trials} CPU-bound trials of ~{args.seconds:g} s, {N_WORKERS} workers, TPE, "
        f"SQLite, {os.cpu_count()} CPUs; Ray {ray.__version__} started in {ray_start:.1f} s "
        "(not counted)"
    )
    print(
        f"{'executor':>9}{'wall s':>9}{'trials/s':>10}{'ratio':>8}{'overhead':>10}{'s/trial':>9}"
    )
    for name, wall, throughput, overhead, per_trial in rows:
        print(
            f"{name:>9}{wall:>9.2f}{throughput:>10.3f}{throughput / rows[0][2]:>8.2f}"
            f"{overhead:>10.1%}{per_trial:>9.2f}"
        )
    print("ratio: throughput relative to the local executor (target >= 0.95)")


if __name__ == "__main__":
    main()
