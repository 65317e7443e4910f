"""Each model family's default configuration trained on its natural dataset.

``cnn2d`` and ``resnet`` on ``mnist-sample``, ``cnn1d``, ``rnn`` and ``transformer`` on
``mnist1d``, ``mlp`` on ``digits`` (which it flattens). One fixed recipe per dataset (see
``RECIPES``): Adam, constant schedule, batch 64, PyTorch's default initialisation; lr 1e-3 for
30 epochs on ``digits`` and 10 on ``mnist-sample`` (as ``benchmarks.reference_cnn``), lr 3e-3 for
40 epochs on ``mnist1d`` (at 1e-3 the GRU needs about twice as many epochs). One CPU thread,
data seed 0, training seeds ``0 .. --seeds - 1``.

Beside the ``mnist1d`` rows stands the MNIST-1D paper's test accuracy (Greydanus, 2020:
logistic regression 32 %, MLP 68 %, CNN 94 %, GRU 91 %; no Transformer). Two extra rows train
a linear model and the ``mlp`` default on ``mnist1d`` against the paper's first two numbers.
The paper trains on 4,000 samples; here 800 of them are held out for validation.

    python -m benchmarks.families [--seeds 1] [--epochs-scale 1.0] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import statistics
from dataclasses import dataclass

import torch

from archtune.arch import Flatten, Head, Network, estimate_cost
from archtune.arch.families import FAMILIES, get_family
from archtune.backends.torch import build_module, fit
from archtune.data import Dataset, load_dataset
from archtune.recipe import Recipe
from benchmarks.trainer import cpu_model

#: The dataset each family's default configuration is made for (``Family.natural_dataset``
#: says ``"digits (flattened)"`` for ``mlp``; the family flattens the images itself).
NATURAL = {
    "mlp": "digits",
    "cnn2d": "mnist-sample",
    "resnet": "mnist-sample",
    "cnn1d": "mnist1d",
    "rnn": "mnist1d",
    "transformer": "mnist1d",
}
#: (learning rate, epochs) of the fixed recipe on each dataset.
RECIPES = {"digits": (1e-3, 30), "mnist-sample": (1e-3, 10), "mnist1d": (3e-3, 40)}
#: Test accuracy in the MNIST-1D paper's table, by the model it reports.
PAPER = {"linear": 0.32, "mlp": 0.68, "cnn1d": 0.94, "rnn": 0.91}


@dataclass(frozen=True)
class Row:
    """One trained model: the table's columns."""

    label: str
    dataset: str
    params: int
    flops: int
    lr: float
    epochs: int
    val_accuracy: float
    test_accuracy: float
    seconds_per_epoch: float
    seconds: float
    paper: float | None


def linear_network(dataset: Dataset) -> Network:
    """Logistic regression: flatten, then the softmax head."""
    return Network(
        dataset.input_shape, layers=(Flatten(),), head=Head(dataset.n_outputs), name="linear"
    )


def family_network(name: str, dataset: Dataset) -> Network:
    """The family's default configuration for ``dataset``'s shape and classes."""
    family = get_family(name)
    return family.build(
        family.default_config(),
        input_shape=dataset.input_shape,
        n_outputs=dataset.n_outputs,
        head_activation="softmax",
    )


def train(
    label: str, network: Network, dataset: Dataset, recipe: Recipe, seeds: int, paper: float | None
) -> Row:
    """Train ``network`` once per seed with ``recipe``; mean accuracies over seeds."""
    cost = estimate_cost(network)
    val, test, epoch_times, totals = [], [], [], []
    for seed in range(seeds):
        torch.manual_seed(seed)  # fit's default init does not redraw attention's in_proj
        result = fit(build_module(network), dataset, recipe, seed=seed, device="cpu")
        val.append(result.metrics["val_accuracy"])
        test.append(result.metrics["test_accuracy"])
        epoch_times += result.epoch_times
        totals.append(sum(result.epoch_times))
    return Row(
        label,
        dataset.name,
        cost.params,
        cost.flops,
        recipe.lr,
        recipe.epochs,
        statistics.mean(val),
        statistics.mean(test),
        statistics.median(epoch_times),
        statistics.mean(totals),
        paper,
    )


def print_row(row: Row) -> None:
    """One line of the table."""
    paper = f"{row.paper:.0%}" if row.paper is not None else "-"
    print(
        f"{row.label:<13}{row.dataset:<14}{row.params:>8,}{row.flops / 1e6:>8.3f}"
        f"{row.lr:>7g}{row.epochs:>7}{row.val_accuracy:>9.1%}{row.test_accuracy:>10.1%}"
        f"{paper:>7}{row.seconds_per_epoch:>9.3f}{row.seconds:>9.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1, help="training seeds per model")
    parser.add_argument(
        "--epochs-scale", type=float, default=1.0, help="multiply every dataset's epochs"
    )
    parser.add_argument("--quick", action="store_true", help="2 epochs, 1 seed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = 1 if args.quick else args.seeds
    datasets: dict[str, Dataset] = {}

    def data(name: str) -> tuple[Dataset, Recipe]:
        if name not in datasets:
            datasets[name] = load_dataset(name, seed=0)
        lr, epochs = RECIPES.get(name, (1e-3, 10))
        epochs = 2 if args.quick else max(1, round(epochs * args.epochs_scale))
        return datasets[name], Recipe(optimizer="adam", lr=lr, batch_size=64, epochs=epochs)

    print(
        "family defaults on their natural datasets: Adam, batch 64, constant schedule, "
        f"default init, lr and epochs per dataset; {seeds} training seed(s)"
    )
    print(
        f"machine: {cpu_model()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread, Python {platform.python_version()}"
    )
    print(
        f"{'model':<13}{'dataset':<14}{'params':>8}{'MFLOPs':>8}{'lr':>7}{'epochs':>7}"
        f"{'val acc':>9}{'test acc':>10}{'paper':>7}{'s/epoch':>9}{'total s':>9}"
    )
    for name in FAMILIES:
        dataset, recipe = data(NATURAL.get(name, get_family(name).natural_dataset))
        paper = PAPER.get(name) if dataset.name == "mnist1d" else None
        network = family_network(name, dataset)
        print_row(train(name, network, dataset, recipe, seeds, paper))
    dataset, recipe = data("mnist1d")
    print("reference rows on mnist1d:")
    print_row(train("linear", linear_network(dataset), dataset, recipe, seeds, PAPER["linear"]))
    mlp = family_network("mlp", dataset)
    print_row(train("mlp", mlp, dataset, recipe, seeds, PAPER["mlp"]))
    print(
        "paper: MNIST-1D test accuracy (Greydanus 2020); accuracies are means over seeds, "
        "s/epoch the median epoch (training and validation)"
    )
    print("default configurations:")
    for name, family in FAMILIES.items():
        config = ", ".join(
            f"{key.removeprefix('model.')}={value}"
            for key, value in family.default_config().items()
        )
        print(f"  {name}: {config}")


if __name__ == "__main__":
    main()
