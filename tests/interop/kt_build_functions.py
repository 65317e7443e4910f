"""KerasTuner-style ``build(hp)`` functions for the tests (module level: workers import them)."""

from __future__ import annotations

from typing import Any


def build_mlp(hp: Any) -> Any:
    """A small MLP on digits (8x8x1), written as KerasTuner documents it."""
    import keras

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
    for i in range(hp.Int("layers", 1, 2)):
        units = hp.Int(f"units_{i}", 16, 70, step=16)  # 70 is off the grid: lowered to 64
        model.add(keras.layers.Dense(units, activation="relu"))
    if hp.Boolean("dropout"):
        rate = hp.Float("rate", 0.1, 0.5, parent_name="dropout", parent_values=[True])
        model.add(keras.layers.Dropout(rate))
    model.add(keras.layers.Dense(10, activation="softmax"))
    lr = hp.Float("lr", 1e-3, 3e-2, sampling="log")
    optimizer_name = hp.Choice("optimizer", ["adam", "sgd"])
    if optimizer_name == "sgd":
        with hp.conditional_scope("optimizer", "sgd"):
            momentum = hp.Float("momentum", 0.5, 0.95)
        optimizer = keras.optimizers.SGD(lr, momentum=momentum)
    else:
        optimizer = keras.optimizers.Adam(lr)
    model.compile(
        optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def build_uncompiled(hp: Any) -> Any:
    """Forgets ``model.compile``."""
    import keras

    units = hp.Int("units", 8, 16)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(units),
            keras.layers.Dense(10),
        ]
    )
