"""The reference CNN ``cnn-32-64-64`` and its halved form ``cnn-16-32-32`` on ``mnist-sample``.

Recipe: Adam, lr 1e-3, constant schedule, batch 64, PyTorch's default initialisation, 10 epochs,
on one CPU thread. ``mnist-sample`` is split 3,000 / 1,000 / 1,000 (train / val / test, data
seed 0); each network is trained with several training seeds (initialisation and shuffling)
and the table gives the mean accuracy after the last epoch, the spread over seeds and the
median seconds per epoch (training plus the validation pass).

    python -m benchmarks.reference_cnn [--epochs 10] [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import statistics

import torch

from archtune.arch import builtin_network, estimate_cost
from archtune.backends.torch import build_module, fit
from archtune.data import load_dataset
from archtune.recipe import Recipe
from benchmarks.trainer import cpu_model

NETWORKS = ("cnn-32-64-64", "cnn-16-32-32")
DATASET = "mnist-sample"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per network")
    parser.add_argument("--quick", action="store_true", help="2 epochs, 1 seed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    epochs, seeds = (2, 1) if args.quick else (args.epochs, args.seeds)
    recipe = Recipe(optimizer="adam", lr=1e-3, batch_size=64, epochs=epochs)
    dataset = load_dataset(DATASET, seed=0)
    print(
        f"{DATASET} ({dataset.n_train} train / {dataset.n_val} val / {dataset.n_test} test), "
        f"Adam lr {recipe.lr:g}, batch {recipe.batch_size}, {epochs} epochs, "
        f"training seeds 0..{seeds - 1}"
    )
    print(
        f"machine: {cpu_model()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread, Python {platform.python_version()}"
    )
    print(
        f"{'network':<14}{'params':>8}{'MFLOPs':>8}{'val acc':>9}{'test acc':>10}"
        f"{'test min-max':>15}{'s/epoch':>9}{'total s':>9}"
    )
    for name in NETWORKS:
        network = builtin_network(name)
        cost = estimate_cost(network)
        val, test, epoch_times, totals = [], [], [], []
        for seed in range(seeds):
            torch.manual_seed(seed)  # the module is built from the same seed each time
            result = fit(build_module(network), dataset, recipe, seed=seed, device="cpu")
            val.append(result.metrics["val_accuracy"])
            test.append(result.metrics["test_accuracy"])
            epoch_times += result.epoch_times
            totals.append(sum(result.epoch_times))
        spread = f"{min(test):.1%}-{max(test):.1%}"
        print(
            f"{name:<14}{cost.params:>8,}{cost.flops / 1e6:>8.2f}"
            f"{statistics.mean(val):>9.1%}{statistics.mean(test):>10.1%}{spread:>15}"
            f"{statistics.median(epoch_times):>9.2f}{statistics.mean(totals):>9.1f}"
        )
    print("accuracies are means over the seeds; s/epoch is the median over all epochs")


if __name__ == "__main__":
    main()
