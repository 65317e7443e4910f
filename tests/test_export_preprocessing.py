"""An exported ONNX file takes raw rows: the preprocessing and the class names travel with it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
pytest.importorskip("sklearn")

import archtune
from archtune.data import load_dataset
from archtune.report._export import (
    CLASSES_KEY,
    PREPROCESSING_KEY,
    export_trial,
    fold_preprocessing,
)

MODEL = {"family": "mlp", "space": "none", "depth": 1, "width": 32}
RECIPE = {"space": "none", "epochs": 8, "lr": 0.01, "batch_size": 32}


def _write_csv(path: Path, x: np.ndarray, y: list[object]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"f{i}" for i in range(x.shape[1])] + ["target"])
        for row, label in zip(x, y, strict=True):
            writer.writerow([repr(float(v)) for v in row] + [label])
    return path


def _session(path: Path) -> tuple[object, dict[str, str]]:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session, dict(session.get_modelmeta().custom_metadata_map)


def _run(session: object, x: np.ndarray) -> np.ndarray:
    feed = session.get_inputs()[0].name  # type: ignore[attr-defined]
    (out,) = session.run(None, {feed: x.astype(np.float32)})  # type: ignore[attr-defined]
    return np.asarray(out)


def _tune(tmp_path: Path, data: dict[str, object], objectives: dict[str, str]) -> str:
    storage = f"sqlite:///{tmp_path / 'csv.db'}"
    archtune.tune(
        data=data,
        model=MODEL,
        recipe=RECIPE,
        objectives=objectives,
        n_trials=1,
        n_workers=1,
        storage=storage,
        study_name="csv",
        seed=0,
    )
    return storage


def test_onnx_of_a_csv_model_takes_raw_rows_and_names_its_classes(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    names = [str(bunch.target_names[t]) for t in bunch.target]  # "malignant" / "benign"
    data_file = _write_csv(tmp_path / "cancer.csv", bunch.data, names)
    storage = _tune(tmp_path, {"dataset": str(data_file)}, {"val_accuracy": "max"})

    done = export_trial("csv", tmp_path / "m.onnx", format="onnx", storage=storage)
    assert "takes raw inputs" in done.preprocessing
    assert "2 classes" in done.preprocessing
    # ... and what raw means: the standardisation used and the values' range.
    assert "the study's inputs were standardised per feature with the training split's" in (
        done.preprocessing
    )
    assert "(raw values 0 to 4.25e+03;" in done.preprocessing

    # The rows as the user has them: the same seeded split, not standardised.
    raw = load_dataset(data_file, standardize=False, seed=0)
    assert float(np.abs(raw.x_test).max()) > 100  # raw scales (areas in the thousands)
    session, meta = _session(done.path)
    predicted = _run(session, raw.x_test).argmax(axis=1)
    accuracy = float(np.mean(predicted == raw.y_test))
    assert accuracy == pytest.approx(done.metrics["test_accuracy"], abs=1e-6)
    assert accuracy > 0.9

    # The file says what it contains.
    assert json.loads(meta[CLASSES_KEY]) == ["benign", "malignant"]
    record = json.loads(meta[PREPROCESSING_KEY])
    assert record["inputs"] == "raw"
    assert record["standardized"] is True
    assert record["x_mean_shape"] == [30]
    assert record["x_scale_shape"] == [30]

    # The command's last line says what the file contains.
    from typer.testing import CliRunner

    from archtune.cli import app

    args = ["export", "csv", "--format", "onnx", "-o", str(tmp_path / "c.onnx")]
    result = CliRunner().invoke(app, [*args, "--storage", storage], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "the file takes raw inputs (the standardisation (x - mean) / scale" in result.stdout
    assert "names the 2 classes" in result.stdout
    assert "retrained on 1 thread as its worker: " in result.stdout  # the trial's model again


def test_onnx_of_a_regression_answers_in_the_targets_units(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True, scaled=False)
    data_file = _write_csv(tmp_path / "diabetes.csv", x, [repr(float(v)) for v in y])
    storage = _tune(tmp_path, {"dataset": str(data_file)}, {"val_mse": "min"})

    done = export_trial("csv", tmp_path / "r.onnx", format="onnx", storage=storage)
    raw = load_dataset(data_file, standardize=False, seed=0)
    session, meta = _session(done.path)
    predicted = _run(session, raw.x_test)[:, 0].astype(np.float64)
    mse = float(np.mean((predicted - raw.y_test.astype(np.float64)) ** 2))
    assert mse == pytest.approx(done.metrics["test_mse"], rel=1e-4)
    assert CLASSES_KEY not in meta
    assert "targets in the data's units" in json.loads(meta[PREPROCESSING_KEY])["outputs"]


def test_fold_preprocessing_on_a_plain_graph(tmp_path: Path) -> None:
    """The reusable function: any one-input ONNX graph, channels-last statistics."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["inputs"], ["logits"])],
        "g",
        [helper.make_tensor_value_info("inputs", TensorProto.FLOAT, ["n", 2, 2, 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 2, 2, 3])],
    )
    path = tmp_path / "id.onnx"
    onnx.save(helper.make_model(graph), str(path))
    mean = np.array([[[1.0, 2.0, 3.0]]])  # (1, 1, channels), as images are standardised
    scale = np.array([[[2.0, 4.0, 8.0]]])
    text = fold_preprocessing(path, mean, scale, classes=["a", "b", "c"])
    assert "raw inputs" in text
    session, meta = _session(path)
    x = np.arange(24, dtype=np.float32).reshape(2, 2, 2, 3)
    np.testing.assert_allclose(_run(session, x), (x - mean) / scale, rtol=1e-6)
    assert json.loads(meta[CLASSES_KEY]) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="does not broadcast"):
        fold_preprocessing(path, np.zeros(5), np.ones(5))
