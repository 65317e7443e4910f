"""Seconds per epoch of the reference CNN on ``mnist-sample``: the Keras backend (Keras 3 on
PyTorch) against the PyTorch backend, with the same recipe, in one run.

Both backends build ``cnn-32-64-64`` from the same description and train it with the same
recipe (Adam, lr 1e-3, constant schedule, batch 64) on the same split, one CPU thread; each
epoch includes the validation pass. The two alternate over ``--repeats`` runs; the table gives
the median seconds per epoch (the first epoch of each run is left out as warm-up), the final
test accuracy, and the ratio to PyTorch. A third row trains the same Keras model with plain
``model.compile`` + ``model.fit`` (no archtune), to separate Keras's own cost from archtune's.

    KERAS_BACKEND=torch python -m benchmarks.keras_vs_torch [--epochs 3] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch

from archtune.arch import builtin_network
from archtune.backends import get_backend
from archtune.data import load_dataset
from archtune.recipe import Recipe
from benchmarks.trainer import cpu_model

NETWORK = "cnn-32-64-64"
DATASET = "mnist-sample"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2 epochs, 1 repeat")
    args = parser.parse_args()
    torch.set_num_threads(1)
    epochs, repeats = (2, 1) if args.quick else (args.epochs, args.repeats)
    recipe = Recipe(optimizer="adam", lr=1e-3, batch_size=64, epochs=epochs)
    dataset = load_dataset(DATASET, seed=0)
    network = builtin_network(NETWORK)
    backends = {name: get_backend(name) for name in ("torch", "keras")}
    import keras

    print(
        f"{NETWORK} on {DATASET} ({dataset.n_train} train), Adam lr {recipe.lr:g}, batch "
        f"{recipe.batch_size}, {epochs} epochs x {repeats} runs; machine: {cpu_model()}, "
        f"torch {torch.__version__}, keras {keras.__version__} on "
        f"{keras.backend.backend()}, 1 thread, Python {platform.python_version()}"
    )
    times: dict[str, list[float]] = {name: [] for name in backends}
    accuracy: dict[str, list[float]] = {name: [] for name in backends}
    for repeat in range(repeats):
        for name, backend in backends.items():
            model = backend.build(network, seed=repeat)
            result = backend.fit(model, dataset, recipe, seed=repeat)
            times[name] += result.epoch_times[1:] or result.epoch_times
            accuracy[name].append(result.metrics["test_accuracy"])
        model = backends["keras"].build(network, seed=repeat)
        seconds, acc = _plain_keras_fit(keras, model, dataset, epochs)
        times.setdefault("keras plain fit", []).extend(seconds[1:] or seconds)
        accuracy.setdefault("keras plain fit", []).append(acc)
    print(f"{'backend':<16}{'params':>9}{'s/epoch':>9}{'test acc':>10}{'ratio':>8}")
    base = statistics.median(times["torch"])
    for name in times:
        per_epoch = statistics.median(times[name])
        backend = backends["torch" if name == "torch" else "keras"]
        params = backend.count_params(backend.build(network))
        print(
            f"{name:<16}{params:>9,}{per_epoch:>9.3f}{statistics.mean(accuracy[name]):>10.2%}"
            f"{per_epoch / base:>8.2f}"
        )


def _plain_keras_fit(
    keras: Any, model: Any, dataset: Any, epochs: int
) -> tuple[list[float], float]:
    """Keras's own compile + fit on the same model and data; seconds per epoch, test accuracy."""
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.fit(
            dataset.x_train,
            dataset.y_train,
            batch_size=64,
            epochs=1,
            verbose=0,
            validation_data=(dataset.x_val, dataset.y_val),
        )
        seconds.append(time.perf_counter() - start)
    _, accuracy = model.evaluate(dataset.x_test, dataset.y_test, verbose=0)
    return seconds, float(accuracy)


if __name__ == "__main__":
    main()
