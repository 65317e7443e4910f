"""Shrinking the reference CNN on ``mnist-sample``: reduction, accuracy and compute, 3 seeds;
pretrained (pruned baseline weights) against scratch starts at the same budget.

Each run is ``archtune.shrink("cnn-32-64-64", "mnist-sample", ...)`` with 2 workers. Compute is
counted in epochs: the baseline's training, every search epoch (from the study's learning
curves) and every retraining, divided by one baseline training (``--epochs`` epochs). The goal
in the issue: >= 10x fewer parameters than the baseline within 0.5 points of its test accuracy
(means over 3 seeds), with at most 10 baseline trainings of compute.

    python -m benchmarks.shrink [--seeds 3] [--trials 32] [--epochs 8] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

import optuna

import archtune


def run(init: str, seed: int, trials: int, epochs: int, tmp: Path) -> dict[str, Any]:
    storage = f"sqlite:///{tmp / 'shrink.db'}"
    name = f"{init}-{seed}"
    result = archtune.shrink(
        "cnn-32-64-64",
        "mnist-sample",
        trials=trials,
        epochs=epochs,
        init=init,
        storage=storage,
        name=name,
        workers=2,
        seed=seed,
        output=tmp / f"{name}.onnx",
    )
    study = optuna.load_study(study_name=name, storage=storage)
    search_epochs = sum(len(t.user_attrs.get("archtune.curve") or []) for t in study.trials)
    retrained = len(result.pareto) + (result.baseline_best_recipe is not None)
    total = epochs + search_epochs + retrained * epochs
    baseline = result.baseline
    within = [c for c in result.pareto if c.test_accuracy >= baseline.test_accuracy - 0.005]
    best_within = max((baseline.params / c.params for c in within), default=1.0)
    return {
        "init": init,
        "seed": seed,
        "baseline_acc": baseline.test_accuracy,
        "chosen_params": result.chosen.params,
        "reduction": baseline.params / result.chosen.params,
        "drop": baseline.test_accuracy - result.chosen.test_accuracy,
        "best_within": best_within,
        "smallest": min(c.params for c in result.pareto) if result.pareto else baseline.params,
        "compute": total / epochs,
        "wall_s": result.wall_time_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--inits", default="pretrained,scratch")
    parser.add_argument("--quick", action="store_true", help="1 seed, 8 trials, 2 epochs")
    args = parser.parse_args()
    seeds, trials, epochs = (1, 8, 2) if args.quick else (args.seeds, args.trials, args.epochs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for init in args.inits.split(","):
            for seed in range(seeds):
                rows.append(run(init, seed, trials, epochs, Path(tmp)))
    print(
        f"cnn-32-64-64 (93,322 params) shrunk on mnist-sample, {trials} trials, {epochs} "
        "epochs per full training, 2 workers, max drop 0.5 pt"
    )
    print(
        f"{'init':<11}{'seed':>5}{'base acc':>10}{'chosen':>9}{'reduction':>11}{'drop pt':>9}"
        f"{'max x within':>14}{'compute':>9}{'wall s':>8}"
    )
    for r in rows:
        print(
            f"{r['init']:<11}{r['seed']:>5}{r['baseline_acc']:>10.2%}{r['chosen_params']:>9,}"
            f"{r['reduction']:>10.1f}x{100 * r['drop']:>9.2f}{r['best_within']:>13.1f}x"
            f"{r['compute']:>8.1f}x{r['wall_s']:>8.0f}"
        )
    for init in args.inits.split(","):
        mine = [r for r in rows if r["init"] == init]
        print(
            f"{init}: mean reduction {statistics.mean(r['reduction'] for r in mine):.1f}x at "
            f"a mean drop of {100 * statistics.mean(r['drop'] for r in mine):.2f} pt, "
            f"compute {statistics.mean(r['compute'] for r in mine):.1f} baseline trainings"
        )


if __name__ == "__main__":
    main()
