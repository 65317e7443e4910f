"""Parallel efficiency of the local executor: 40 one-second CPU-bound trials, 1 vs 2 workers.

Throughput is trials per second of wall time. archtune's own overhead is the wall time not
explained by the trials themselves: ``1 - sum(trial busy time) / (n_workers * wall)``.

    python -m benchmarks.parallel [--trials 40] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import archtune
from archtune import Fixed, Float
from benchmarks._objectives import calibrate, cpu_bound


def run(n_workers: int, n_trials: int, iterations: int, storage: str) -> tuple[float, float]:
    space = {"x": Float(0.0, 1.0), "iterations": Fixed(iterations)}
    start = time.perf_counter()
    result = archtune.tune(
        cpu_bound,
        space,
        objectives={"value": "min"},
        n_trials=n_trials,
        n_workers=n_workers,
        sampler="tpe",
        seed=0,
        storage=storage,
        study_name=f"parallel-{n_workers}",
    )
    wall = time.perf_counter() - start
    busy = sum(t.metrics["busy_s"] for t in result.trials)
    return wall, busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    iterations = calibrate(args.seconds)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_workers in (1, 2):
            storage = f"sqlite:///{Path(tmp) / f'p{n_workers}.db'}"
            wall, busy = run(n_workers, args.trials, iterations, storage)
            rows.append(
                (
                    n_workers,
                    wall,
                    args.trials / wall,
                    1 - busy / (n_workers * wall),
                    busy / args.trials,
                )
            )
    print(
        f"{args.trials} CPU-bound trials of ~{args.seconds:g} s, TPE, SQLite, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{'workers':>8}{'wall s':>9}{'trials/s':>10}{'speed-up':>10}{'overhead':>10}"
        f"{'s/trial':>9}"
    )
    for n_workers, wall, throughput, overhead, per_trial in rows:
        print(
            f"{n_workers:>8}{wall:>9.2f}{throughput:>10.3f}{throughput / rows[0][2]:>10.2f}"
            f"{overhead:>10.1%}{per_trial:>9.2f}"
        )
    print("targets: speed-up >= 1.8 with 2 workers; overhead <= 2% of wall time")


if __name__ == "__main__":
    main()
