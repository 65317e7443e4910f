"""Data-fraction fidelity against epoch fidelity, the same search on the same budget.

Both runs search the ``cnn1d`` family and the default recipe on ``mnist1d`` for (val_accuracy
max, params min) with archtune's defaults (``sampler: auto``, ``scheduler: auto`` = MO-ASHA
with its guard), 2 workers, and the same budget of epoch-equivalents (``budget.steps``: passes
over the whole training split). They differ in what a rung cuts short: ``epochs`` judges a
trial after 1, 3, ... epochs of its ``--epochs``; ``data`` judges it after a complete training
(every epoch, the whole schedule) on 1/9, 1/3, ... of the training split, and a trial no rung
stops trains each stage in turn (docs/samplers.md, "Fidelity beyond epochs").

Score, as in the mnist1d-mo suite: the front of completed trials chosen on validation (no other
completed trial has both a better validation accuracy and fewer parameters), and the
hypervolume of its (1 - test accuracy, log10 params / log10 P) points, reference (1, 1),
P = 5,921,418 (the largest network of the space): larger is better.

    python -m benchmarks.fidelity [--epochs 9] [--budget 240] [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
from pathlib import Path
from typing import Any

import archtune
from archtune.search import TuneResult
from benchmarks.moasha import epochs_spent, hypervolume

P_REF = 5_921_418  # the largest network of the cnn1d space on mnist1d (benchmarks/run.py)


def run(fidelity: str, epochs: int, budget: int, seed: int, storage: str) -> TuneResult:
    return archtune.tune(
        data={"dataset": "mnist1d"},
        model={"family": "cnn1d"},
        recipe={"epochs": epochs},
        objectives={"val_accuracy": "max", "params": "min"},
        n_trials=10_000,  # the budget of steps ends the search
        max_total_steps=budget,
        n_workers=2,
        scheduler={"name": "auto", "fidelity": fidelity},
        seed=seed,
        storage=storage,
        study_name=f"{fidelity}-{seed}",
    )


def front(result: TuneResult) -> list[tuple[float, float, float]]:
    """``(val_accuracy, params, test_accuracy)`` of the completed trials no other beats on
    both validation accuracy and size."""
    done = [
        (
            float(t.metrics["val_accuracy"]),
            float(t.metrics["params"]),
            float(t.metrics["test_accuracy"]),
        )
        for t in result.trials
        if t.status == "complete"
    ]
    return [
        p
        for p in done
        if not any(q[0] >= p[0] and q[1] <= p[1] and (q[0], q[1]) != (p[0], p[1]) for q in done)
    ]


def front_hypervolume(points: list[tuple[float, float, float]]) -> float:
    """The hypervolume of the front's (test accuracy, params) points."""
    return hypervolume([(test, params) for _, params, test in points], P_REF)


def best_under(points: list[tuple[float, float, float]], limit: float) -> float:
    return max((test for _, params, test in points if params <= limit), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=9, help="epochs of a full trial")
    parser.add_argument("--budget", type=int, default=240, help="epoch-equivalents per search")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="budget 40, 1 seed")
    args = parser.parse_args()
    budget, seeds = (40, 1) if args.quick else (args.budget, args.seeds)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(seeds):
            storage = f"sqlite:///{Path(tmp) / 'fidelity.db'}"
            runs = {f: run(f, args.epochs, budget, seed, storage) for f in ("epochs", "data")}
            fronts = {f: front(r) for f, r in runs.items()}
            rows.append(
                {
                    "seed": seed,
                    "steps": [epochs_spent(runs[f]) for f in runs],
                    "trials": [len(runs[f].trials) for f in runs],
                    "stopped": [runs[f].counts.get("stopped", 0) for f in runs],
                    "hv": [front_hypervolume(fronts[f]) for f in runs],
                    "best": [max((p[2] for p in fronts[f]), default=0.0) for f in runs],
                    "3k": [best_under(fronts[f], 3000) for f in runs],
                }
            )
    print(
        f"cnn1d + default recipe on mnist1d, (val_accuracy max, params min), {args.epochs} epochs "
        f"per full trial, {budget} epoch-equivalents per search, 2 workers, scheduler auto "
        "(MO-ASHA); each pair: epochs / data"
    )
    print(
        f"{'seed':>4}{'steps':>11}{'trials':>9}{'stopped':>9}{'HV epochs':>11}{'HV data':>9}"
        f"{'data/ep':>8}{'best test':>14}{'best <=3k':>14}"
    )
    for row in rows:
        ratio = row["hv"][1] / row["hv"][0] if row["hv"][0] else math.inf
        print(
            f"{row['seed']:>4}{row['steps'][0]:>6}/{row['steps'][1]:<4}"
            f"{row['trials'][0]:>5}/{row['trials'][1]:<3}{row['stopped'][0]:>5}/{row['stopped'][1]:<3}"
            f"{row['hv'][0]:>11.4f}{row['hv'][1]:>9.4f}{ratio:>8.2f}"
            f"{row['best'][0]:>8.3f}/{row['best'][1]:.3f}{row['3k'][0]:>8.3f}/{row['3k'][1]:.3f}"
        )
    ratios = [r["hv"][1] / r["hv"][0] for r in rows if r["hv"][0]]
    print(f"mean hypervolume ratio data / epochs: {statistics.mean(ratios):.2f}")


if __name__ == "__main__":
    main()
