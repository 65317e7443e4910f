"""The reference MLPs, written as plain Keras, imported into archtune and trained.

Two models on 10 input features and 10 classes, as a Keras user writes them: two ReLU layers
of 64 units, and the halved version with 32. ``archtune.interop.from_keras`` turns each into a
network description with its Keras weights; the script prints both parameter counts (5,514
and 1,738), then trains each with archtune's PyTorch backend and prints its test accuracy.

Data: scikit-learn's digits (1,797 real 8x8 handwritten digits, 10 classes), reduced to 10
features by PCA. The reference MLPs take 10 features, and digits is the offline real dataset
with 10 classes; PCA keeps the directions of most variance (about three quarters of it with 10
components: the script prints the share), so the task stays learnable while the input matches
the models. The PCA is fitted on the training split only (no information from validation or
test data), and its outputs are standardised with the training split's statistics. Splits:
60/20/20, stratified, seeded.

Run it with ``python examples/reference_mlp.py --epochs 30`` (a few seconds).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

N_FEATURES = 10


def reference_mlps() -> dict[str, Any]:
    """The two reference MLPs as ``keras.Sequential`` models (Keras's default init)."""
    import keras

    def mlp(width: int, name: str) -> Any:
        return keras.Sequential(
            [
                keras.Input((N_FEATURES,)),
                keras.layers.Dense(width, activation="relu"),
                keras.layers.Dense(width, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ],
            name=name,
        )

    return {"mlp-64-64": mlp(64, "mlp_64_64"), "mlp-32-32": mlp(32, "mlp_32_32")}


def digits_pca(seed: int = 0) -> tuple[Any, float]:
    """Digits reduced to 10 PCA features (fitted on the train split), and the variance kept."""
    from sklearn.decomposition import PCA

    from archtune.data import Dataset, load_dataset

    digits = load_dataset("digits", seed=seed)
    flat = {name: digits.split(name)[0].reshape(-1, 64) for name in ("train", "val", "test")}
    pca = PCA(n_components=N_FEATURES, random_state=seed).fit(flat["train"])
    reduced = {name: pca.transform(x) for name, x in flat.items()}
    mean, scale = reduced["train"].mean(axis=0), reduced["train"].std(axis=0)
    x = {name: ((r - mean) / scale).astype(np.float32) for name, r in reduced.items()}
    return Dataset(
        name="digits-pca10",
        task="classification",
        x_train=x["train"],
        y_train=digits.y_train,
        x_val=x["val"],
        y_val=digits.y_val,
        x_test=x["test"],
        y_test=digits.y_test,
        input_shape=(N_FEATURES,),
        n_classes=digits.n_classes,
        classes=digits.classes,
    ), float(pca.explained_variance_ratio_.sum())


def main(argv: list[str] | None = None) -> None:
    """Import, count, train and evaluate the two reference MLPs; print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="seeds weights, splits, shuffling")
    args = parser.parse_args(argv)

    import keras
    import torch

    from archtune.backends.torch import fit
    from archtune.interop import from_keras
    from archtune.recipe import Recipe

    torch.set_num_threads(1)
    keras.utils.set_random_seed(args.seed)
    dataset, explained = digits_pca(args.seed)
    recipe = Recipe(
        weight_init="pretrained", optimizer="adam", lr=3e-3, batch_size=32, epochs=args.epochs
    )
    rows = []
    for name, model in reference_mlps().items():
        imported = from_keras(model, name=name)
        print(f"{name}: {imported.params:,} parameters")
        module = imported.build_torch()
        result = fit(
            module, dataset, recipe, seed=args.seed, pretrained_state=imported.state_dict()
        )
        rows.append((name, imported.params, result.metrics["test_accuracy"]))

    print(
        f"\ndigits, PCA to {N_FEATURES} features ({explained:.0%} of the variance), "
        f"{dataset.n_train} train / {dataset.n_test} test, {args.epochs} epochs"
    )
    print(f"{'model':<10} {'params':>7} {'test accuracy':>14}")
    for name, params, accuracy in rows:
        print(f"{name:<10} {params:>7,} {accuracy:>14.4f}")


if __name__ == "__main__":
    main()
