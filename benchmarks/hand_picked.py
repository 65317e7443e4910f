"""Hand-picked ``cnn1d`` networks on mnist1d: what a person reaches in the suites' trial length.

The bar for the mnist1d-mo size goals (docs/benchmarks.md). Each network is the ``cnn1d``
default with the one-cycle recipe at 1e-2 (archtune's second starting point), global average
pooling and another width; it is trained through the suites' own objective
(``benchmarks._mnist1d_common.train_for``) with several training seeds, and the table gives its
size and test accuracy per seed.

    python -m benchmarks.hand_picked [--epochs 40] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics

import torch

from benchmarks._mnist1d_common import DATA, MODEL, train_for

#: Width of each network (the rest as described above).
WIDTHS = (16, 28)


def main() -> None:
    from archtune.training import setup_training

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per network")
    args = parser.parse_args()
    torch.set_num_threads(1)
    setup = setup_training(DATA, MODEL, {"epochs": args.epochs})
    one_cycle = dict(setup.starting_points[1])
    print(f"cnn1d on mnist1d, {args.epochs} epochs, one-cycle at 1e-2, global average pooling")
    print("| width | params | test accuracy per seed | mean |")
    print("|---|---|---|---|")
    for width in WIDTHS:
        config = {**one_cycle, "model.readout": "gap", "model.width": width}
        config = {k: v for k, v in config.items() if k in setup.space}
        runs = [train_for(config, seed, args.epochs, args.epochs) for seed in range(args.seeds)]
        accuracies = [r.test_accuracy or 0.0 for r in runs]
        per_seed = " / ".join(f"{a:.3f}" for a in accuracies)
        print(f"| {width} | {runs[0].params:,} | {per_seed} | {statistics.mean(accuracies):.4f} |")


if __name__ == "__main__":
    main()
