"""A model that comes with weights is judged on the data as its user prepared it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("keras")

from archtune.shrinking import shrink

DATA = {"dataset": "mnist-sample", "max_samples": 1000, "seed": 0}


def _raw_pixel_keras_model(path: Path) -> tuple[float, float]:
    """A Keras CNN (convolutions, batch norm) trained on [0, 1] pixels, as a user
    writes one; returns its own validation and test accuracy on those rows."""
    from archtune.backends.keras import import_keras
    from archtune.data import load_dataset

    keras = import_keras()
    keras.utils.set_random_seed(0)
    data = load_dataset("mnist-sample", max_samples=1000, seed=0, standardize=False)
    assert data.x_train.min() >= 0.0
    assert data.x_train.max() <= 1.0
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=8, batch_size=32, verbose=0)
    model.save(path)

    def accuracy(x: np.ndarray, y: np.ndarray) -> float:
        return float((np.argmax(model.predict(x, verbose=0), axis=-1) == y).mean())

    return accuracy(data.x_val, data.y_val), accuracy(data.x_test, data.y_test)


def test_shrink_baseline_equals_the_models_own_accuracy(tmp_path: Path) -> None:
    own_val, own_test = _raw_pixel_keras_model(tmp_path / "user.keras")
    assert own_val > 0.5  # the user's model works on the data as the user prepared it
    result = shrink(
        str(tmp_path / "user.keras"),
        DATA,
        epochs=1,
        finetune_epochs=1,
        budget=12,
        max_drop=0.05,
        output=tmp_path / "chosen.onnx",
    )
    assert result.preprocessing == "as given"
    assert result.baseline.train_time_s == 0.0  # evaluated, not trained
    assert result.baseline.val_accuracy == pytest.approx(own_val, abs=1e-9)
    assert result.baseline.test_accuracy == pytest.approx(own_test, abs=1e-9)
    assert result.to_dict()["preprocessing"] == "as given"


def test_standardizing_a_raw_pixel_model_is_asked_for_and_said(tmp_path: Path) -> None:
    """Asking for standardisation (``data: {name: ..., standardize: true}``) is allowed and
    said, with the statistics and the values' range; it is not the default."""
    own_val, _ = _raw_pixel_keras_model(tmp_path / "user.keras")
    lines: list[str] = []
    result = shrink(
        str(tmp_path / "user.keras"),
        {"name": "mnist-sample", "standardize": True, "max_samples": 1000, "seed": 0},
        epochs=1,
        finetune_epochs=1,
        budget=20,  # 600 training images stretch a search step to about 13 epochs
        max_drop=0.05,
        output=tmp_path / "chosen.onnx",
        log=lines.append,
    )
    assert result.preprocessing == "standardized"
    assert result.baseline.val_accuracy != pytest.approx(own_val, abs=1e-9)
    (data_line,) = [line for line in lines if line.startswith("data: ")]
    assert data_line.startswith(
        "data: mnist-sample, inputs standardised per channel with the training split's mean "
    )
    assert "(raw values 0 to 1; now -0.4" in data_line


def _poorly_trained_keras_model(path: Path) -> float:
    """The issue's model: convolutions, batch norm, global average pooling, trained by its
    user on [0, 1] pixels for too short a time; returns its own validation accuracy."""
    from archtune.backends.keras import import_keras
    from archtune.data import load_dataset

    keras = import_keras()
    keras.utils.set_random_seed(0)
    data = load_dataset("mnist-sample", max_samples=1000, seed=0, standardize=False)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(data.x_train, data.y_train, epochs=2, batch_size=32, verbose=0)
    model.save(path)
    predicted = np.argmax(model.predict(data.x_val, verbose=0), axis=-1)
    return float((predicted == data.y_val).mean())


def test_weights_that_score_near_chance_stop_shrink_with_the_preprocessing_said(
    tmp_path: Path,
) -> None:
    from archtune import ConfigError

    own_val = _poorly_trained_keras_model(tmp_path / "user.keras")
    assert own_val < 0.3  # near chance on its own data: the model is the problem
    with pytest.raises(ConfigError) as caught:
        shrink(str(tmp_path / "user.keras"), DATA, output=tmp_path / "chosen.onnx")
    message = str(caught.value)
    assert "\n" not in message
    assert f"the model's weights score {own_val:.1%} on the validation split, near chance" in (
        message
    )
    assert "its inputs were as given, not standardised (values 0 to 1)" in message
    assert "--standardize" in message
    assert "--train-baseline" in message
    assert not (tmp_path / "chosen.onnx").exists()


def test_the_cli_says_near_chance_in_one_line_and_exits_2(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from archtune.cli import app

    _poorly_trained_keras_model(tmp_path / "user.keras")
    result = CliRunner().invoke(
        app,
        ["shrink", str(tmp_path / "user.keras"), "--data", "mnist-sample", "--quiet"],
        env={"COLUMNS": "200"},
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("archtune: error: shrink: the model's weights score ")
    assert "near chance" in lines[0]
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("*.db"))  # refused before a study was stored
