"""Hand-picked ``cnn1d`` networks on mnist1d: what a person reaches in the suites' trial length.

The bar for the mnist1d-mo size goals (docs/benchmarks.md). Each network is the ``cnn1d``
default with the one-cycle recipe at 1e-2 (archtune's second starting point) and global average
pooling, with the changes its row names: another width, and for the last rows what a person
designing for the parameter count does (no pooling, so the feature maps keep their 40
positions, which under global average pooling costs no parameter; no dropout; a fourth block).
Every network is trained through the suites' own objective
(``benchmarks._mnist1d_common.train_for``) with several training seeds, and the table gives
its size and test accuracy per seed.

    python -m benchmarks.hand_picked [--epochs 40] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

import torch

from benchmarks._mnist1d_common import DATA, MODEL, train_for

_KEEP_RESOLUTION = {"model.pooling": "none", "model.dropout": 0.0}
#: Each network: its row label and its changes to the one-cycle start with global pooling.
NETWORKS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("width 16", {"model.width": 16}),
    ("width 28", {"model.width": 28}),
    ("width 16, no pooling", {"model.width": 16, "model.pooling": "none"}),
    ("width 16, no dropout", {"model.width": 16, "model.dropout": 0.0}),
    ("width 16, no pooling, no dropout", {"model.width": 16, **_KEEP_RESOLUTION}),
    (
        "depth 4, width 13, no pooling, no dropout",
        {"model.depth": 4, "model.width": 13, **_KEEP_RESOLUTION},
    ),
    (
        "depth 4, width 32, taper 0.75, no pooling, no dropout",
        {"model.depth": 4, "model.width": 32, "model.taper": 0.75, **_KEEP_RESOLUTION},
    ),
    (
        "depth 4, width 24, no pooling, no dropout",
        {"model.depth": 4, "model.width": 24, **_KEEP_RESOLUTION},
    ),
)


def main() -> None:
    from archtune.training import setup_training

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per network")
    args = parser.parse_args()
    torch.set_num_threads(1)
    setup = setup_training(DATA, MODEL, {"epochs": args.epochs})
    one_cycle = {**setup.starting_points[1], "model.readout": "gap"}
    print(f"cnn1d on mnist1d, {args.epochs} epochs, one-cycle at 1e-2, global average pooling")
    print("| network | params | test accuracy per seed | mean |")
    print("|---|---|---|---|")
    for label, changes in NETWORKS:
        config = {k: v for k, v in {**one_cycle, **changes}.items() if k in setup.space}
        runs = [train_for(config, seed, args.epochs, args.epochs) for seed in range(args.seeds)]
        accuracies = [r.test_accuracy or 0.0 for r in runs]
        per_seed = " / ".join(f"{a:.3f}" for a in accuracies)
        mean = statistics.mean(accuracies)
        print(f"| {label} | {runs[0].params:,} | {per_seed} | {mean:.4f} |", flush=True)


if __name__ == "__main__":
    main()
