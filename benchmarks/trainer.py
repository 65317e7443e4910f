"""Throughput of archtune's ``fit`` against a plain hand-written PyTorch loop.

Two workloads: an MLP (flatten, 64, 64, 10) on ``digits`` and the reference CNN
``cnn-32-64-64`` on ``mnist-sample``. Both methods get the same network built from the same
seed, the same standardised data tensors, Adam at lr 1e-3, batch 64, the same epochs, the same
per-epoch validation pass and a final test pass, so they do equal work (their final losses are
printed to show it). The two methods alternate over the repeats; samples/s counts training
samples (``n_train * epochs``) over the wall time of the whole call. One thread.

The target is judged on the best run of each method: other jobs on a shared machine only ever
slow a run down, so the fastest of several runs is the least disturbed estimate of each
method's speed. The ratio of the medians is printed too.

    python -m benchmarks.trainer [--repeats 7] [--epochs N] [--quick]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from archtune.arch import Dense, Flatten, Head, Network, builtin_network
from archtune.backends.torch import build_module, fit
from archtune.data import Dataset, load_dataset
from archtune.recipe import Recipe

SEED = 0
LR = 1e-3
BATCH_SIZE = 64
EVAL_BATCH_SIZE = 1024
TARGET = 0.95


@dataclass(frozen=True)
class Workload:
    """A network on a dataset, trained for a default number of epochs."""

    label: str
    dataset: str
    network: Callable[[], Network]
    epochs: int
    quick_epochs: int


def _mlp() -> Network:
    layers = (Flatten(), Dense(64, activation="relu"), Dense(64, activation="relu"))
    return Network((8, 8, 1), layers=layers, head=Head(10), name="mlp-64-64")


WORKLOADS = (
    Workload("mlp-64-64 / digits", "digits", _mlp, epochs=100, quick_epochs=10),
    Workload(
        "cnn-32-64-64 / mnist-sample",
        "mnist-sample",
        lambda: builtin_network("cnn-32-64-64"),
        epochs=3,
        quick_epochs=1,
    ),
)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _evaluate(module: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy, in batches of ``EVAL_BATCH_SIZE``, as ``fit`` does."""
    module.eval()
    loss, correct = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(x), EVAL_BATCH_SIZE):
            out = module(x[i : i + EVAL_BATCH_SIZE])
            yb = y[i : i + EVAL_BATCH_SIZE]
            loss += F.cross_entropy(out, yb, reduction="sum").item()
            correct += int((out.argmax(dim=1) == yb).sum())
    return loss / len(x), correct / len(x)


def run_plain(network: Network, dataset: Dataset, epochs: int) -> tuple[float, float]:
    """A plain PyTorch loop; returns (seconds, final validation loss)."""
    torch.manual_seed(SEED)
    module = build_module(network)
    start = time.perf_counter()
    x, y = torch.tensor(dataset.x_train), torch.tensor(dataset.y_train)
    xv, yv = torch.tensor(dataset.x_val), torch.tensor(dataset.y_val)
    xt, yt = torch.tensor(dataset.x_test), torch.tensor(dataset.y_test)
    optimizer = torch.optim.Adam(module.parameters(), lr=LR)
    criterion = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    n = len(x)
    val_loss = math.nan
    for _ in range(epochs):
        module.train()
        perm = torch.randperm(n, generator=gen)
        xs, ys = x[perm], y[perm]
        total = 0.0  # the epoch's training loss, as fit computes it
        for i in range(0, n, BATCH_SIZE):
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(module(xs[i : i + BATCH_SIZE]), ys[i : i + BATCH_SIZE])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(ys[i : i + BATCH_SIZE])
        val_loss, _ = _evaluate(module, xv, yv)
    _evaluate(module, xt, yt)
    return time.perf_counter() - start, val_loss


def run_fit(network: Network, dataset: Dataset, epochs: int) -> tuple[float, float]:
    """archtune's ``fit`` with the same recipe; returns (seconds, final validation loss)."""
    torch.manual_seed(SEED)
    module = build_module(network)
    recipe = Recipe(optimizer="adam", lr=LR, batch_size=BATCH_SIZE, epochs=epochs)
    start = time.perf_counter()
    result = fit(module, dataset, recipe, seed=SEED, device="cpu")
    return time.perf_counter() - start, result.metrics["val_loss"]


METHODS: dict[str, Callable[[Network, Dataset, int], tuple[float, float]]] = {
    "plain": run_plain,
    "fit": run_fit,
}


def measure(
    workload: Workload, epochs: int, repeats: int
) -> tuple[int, dict[str, list[float]], dict[str, float]]:
    """Samples/s of each method over ``repeats`` alternating runs, and their last val loss."""
    dataset = load_dataset(workload.dataset, seed=SEED)
    network = workload.network()
    for runner in METHODS.values():  # warm-up, not timed
        runner(network, dataset, 1)
    rates: dict[str, list[float]] = {name: [] for name in METHODS}
    val_loss: dict[str, float] = {}
    names = list(METHODS)
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:
            seconds, val_loss[name] = METHODS[name](network, dataset, epochs)
            rates[name].append(dataset.n_train * epochs / seconds)
    return dataset.n_train, rates, val_loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs per run (default: 100 MLP, 3 CNN)"
    )
    parser.add_argument("--quick", action="store_true", help="3 repeats, 10 / 1 epochs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    repeats = 3 if args.quick else args.repeats
    print(
        f"fit vs plain PyTorch loop: Adam lr {LR:g}, batch {BATCH_SIZE}, same seed, data, "
        f"per-epoch validation and final test pass; {repeats} alternating repeats"
    )
    print(
        f"machine: {cpu_model()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread, Python {platform.python_version()}"
    )
    print(
        f"{'workload':<29}{'n_train':>8}{'epochs':>7}{'method':>7}{'best/s':>9}"
        f"{'median/s':>10}{'val loss':>10}{'ratio best':>12}{'ratio median':>14}"
    )
    ratios: list[float] = []
    for workload in WORKLOADS:
        epochs = args.epochs or (workload.quick_epochs if args.quick else workload.epochs)
        n_train, rates, val_loss = measure(workload, epochs, repeats)
        best = {name: max(r) for name, r in rates.items()}
        median = {name: statistics.median(r) for name, r in rates.items()}
        ratios.append(best["fit"] / best["plain"])
        for name in ("plain", "fit"):
            print(
                f"{workload.label:<29}{n_train:>8}{epochs:>7}{name:>7}{best[name]:>9.0f}"
                f"{median[name]:>10.0f}{val_loss[name]:>10.4f}"
                f"{best[name] / best['plain']:>12.3f}{median[name] / median['plain']:>14.3f}"
            )
    measured = ", ".join(f"{r:.3f}x" for r in ratios)
    verdict = "met" if min(ratios) >= TARGET else "NOT met"
    print(f"target: fit >= {TARGET}x plain samples/s (best runs); measured {measured}: {verdict}")


if __name__ == "__main__":
    main()
