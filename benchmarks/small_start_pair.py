"""The cost ladder's smallest start with and without pooling and dropout, on any dataset.

A study of accuracy against parameters starts down its family's shrink ladder, and beside the
smallest step it trains the same network with its spare compute spent (no pooling between
blocks) (docs/samplers.md, "Smaller starts train as the small networks they are"). Whether
that twin or the pooled network is the better one depends on the data. This trains the
smallest step that spends compute, as the study queues it (the one-cycle recipe, its dropout
scaled to its size), with each combination of pooling (``max`` or ``none``) and dropout (the
study's or the default network's), for ``--epochs`` epochs on ``--seeds`` training seeds,
and prints validation and test accuracy.

    python -m benchmarks.small_start_pair [--dataset digits] [--family cnn2d] [--epochs 10]
        [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from benchmarks._mnist1d_common import EpochReporter


def main() -> None:
    import torch

    from archtune.config import build_experiment
    from archtune.training import setup_training

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", help="a built-in dataset")
    parser.add_argument("--family", default="cnn2d", help="a built-in family with pooling")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per network")
    args = parser.parse_args()
    torch.set_num_threads(1)
    data, model = {"dataset": args.dataset}, {"family": args.family}
    config: dict[str, Any] = {
        "name": "pair",
        "budget": {"trials": 1},
        "data": data,
        "model": model,
        "recipe": {"epochs": args.epochs},
        "objectives": {"val_accuracy": "max", "params": "min"},
    }
    starts = build_experiment(config, source="small_start_pair").starting_points
    spent = next((p for p in starts if p.get("model.pooling") == "none"), None)
    if spent is None:
        raise SystemExit(f"{args.family} on {args.dataset}: no start spends compute")
    setup = setup_training(data, model, {"epochs": args.epochs})
    default_dropout = next(p["model.dropout"] for p in starts if "model.dropout" in p)
    print(
        f"{args.dataset}, {args.family}: the smallest ladder start ({spent['model.width']} "
        f"filters, one-cycle), {args.epochs} epochs, {args.seeds} training seeds"
    )
    print("| pooling | dropout | params | validation (mean) | test per seed | test mean |")
    print("|---|---|---|---|---|---|")
    for pooling in ("none", "max"):
        for dropout in dict.fromkeys((spent["model.dropout"], default_dropout)):
            network = {**spent, "model.pooling": pooling, "model.dropout": dropout}
            validation, test, params = [], [], 0
            for seed in range(args.seeds):
                reporter = EpochReporter(0, seed, lambda step, _: step >= args.epochs)
                metrics = setup.objective(dict(network), reporter)
                validation.append(float(metrics["val_accuracy"]))
                test.append(float(metrics["test_accuracy"]))
                params = int(metrics["params"])
            per_seed = " / ".join(f"{a:.3f}" for a in test)
            print(
                f"| {pooling} | {dropout:g} | {params:,} | {statistics.mean(validation):.4f} | "
                f"{per_seed} | {statistics.mean(test):.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
