"""Prediction and evaluation of a ``keras.Model`` on arrays or a dataset's split."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from archtune._errors import ConfigError
from archtune.backends.keras._keras import import_keras
from archtune.data import Dataset, SplitName

keras = import_keras()

__all__ = ["TaskData", "evaluate", "evaluate_arrays", "input_dtype", "predict", "task_data"]


def input_dtype(model: Any) -> str:
    """The dtype of the model's input (``"float32"``, or an integer type for token ids)."""
    inputs = getattr(model, "inputs", None)
    dtype = getattr(inputs[0], "dtype", None) if inputs else None
    return str(dtype) if dtype else "float32"


def predict(model: Any, x: npt.ArrayLike, *, batch_size: int = 1024) -> npt.NDArray[np.float32]:
    """The model's outputs (logits or predictions) for channels-last inputs ``x``, in batches.

    Inputs must be preprocessed like the training data (``Dataset.preprocess``); token ids
    stay integers.
    """
    dtype = input_dtype(model)
    xs = np.asarray(x)
    xs = xs.astype(dtype if "int" in dtype else np.float32, copy=False)
    outs = [
        np.asarray(model.predict_on_batch(xs[i : i + batch_size]), dtype=np.float32)
        for i in range(0, len(xs), batch_size)
    ]
    if not outs:
        return np.zeros((0,), dtype=np.float32)
    return np.concatenate(outs)


def evaluate_arrays(
    model: Any,
    x: npt.NDArray[Any],
    y: npt.NDArray[Any],
    *,
    classification: bool,
    prefix: str,
    batch_size: int = 1024,
    target_scale: float = 1.0,
) -> dict[str, float]:
    """Metrics of ``model`` on ``(x, y)``, named as the PyTorch backend names them.

    Classification: ``<prefix>_loss`` (cross-entropy on the logits, no label smoothing) and
    ``<prefix>_accuracy``. Regression: ``<prefix>_loss`` (the MSE the model is trained on),
    ``<prefix>_mse`` and ``<prefix>_mae`` in the target's units (``target_scale``).
    """
    n = len(x)
    if n == 0:
        return {}
    out = predict(model, x, batch_size=batch_size).astype(np.float64)
    if classification:
        labels = np.asarray(y, dtype=np.int64)
        shifted = out - out.max(axis=1, keepdims=True)
        log_z = np.log(np.exp(shifted).sum(axis=1))
        loss = float(np.mean(log_z - shifted[np.arange(n), labels]))
        accuracy = float(np.mean(out.argmax(axis=1) == labels))
        return {f"{prefix}_loss": loss, f"{prefix}_accuracy": accuracy}
    diff = out.reshape(np.shape(y)) - np.asarray(y, dtype=np.float64)
    mse = float(np.mean(np.square(diff)))
    return {
        f"{prefix}_loss": mse,
        f"{prefix}_mse": mse * target_scale**2,
        f"{prefix}_mae": float(np.mean(np.abs(diff))) * target_scale,
    }


@dataclass(frozen=True)
class TaskData:
    """A dataset's training targets in the shape the model's loss needs.

    Attributes:
        classification: Whether the task is classification (logits, cross-entropy).
        y_train: One-hot float32 labels (classification) or targets shaped like the output.
    """

    classification: bool
    y_train: npt.NDArray[np.float32]


def task_data(model: Any, dataset: Dataset) -> TaskData:
    """Check the model's output against ``dataset`` and shape the training targets.

    Raises:
        ConfigError: An empty train or validation split, or an output of the wrong shape.
    """
    if dataset.n_train == 0 or dataset.n_val == 0:
        raise ConfigError(
            f"dataset {dataset.name!r} must have non-empty train and val splits, got "
            f"n_train={dataset.n_train}, n_val={dataset.n_val}"
        )
    try:
        out_shape = tuple(predict(model, dataset.x_train[:2]).shape[1:])
    except Exception as exc:
        shape = ", ".join(map(str, dataset.input_shape))
        raise ConfigError(
            f"the model cannot take the dataset's inputs of shape (batch, {shape}) "
            f"(channels-last): {exc}"
        ) from exc
    shown = ", ".join(map(str, out_shape))
    if dataset.n_classes is not None:
        if out_shape != (dataset.n_classes,):
            raise ConfigError(
                f"the model must return logits of shape (batch, {dataset.n_classes}) for "
                f"{dataset.name!r}, got (batch, {shown})"
            )
        labels = dataset.y_train.astype(np.int64)
        one_hot = np.eye(dataset.n_classes, dtype=np.float32)[labels]
        return TaskData(True, one_hot)
    k = dataset.n_outputs
    if out_shape != (k,):
        raise ConfigError(
            f"the model must return predictions of shape (batch, {k}) for {dataset.name!r}, "
            f"got (batch, {shown})"
        )
    y = dataset.y_train.astype(np.float32).reshape(dataset.n_train, k)
    return TaskData(False, y)


def evaluate(
    model: Any, dataset: Dataset, *, split: SplitName = "test", batch_size: int = 1024
) -> dict[str, float]:
    """Evaluate ``model`` on a split of ``dataset`` (see :func:`evaluate_arrays`).

    Example:
        ``evaluate(model, ds, split="val")`` gives ``{"val_loss": ..., "val_accuracy": ...}``.
    """
    x, y = dataset.split(split)
    return evaluate_arrays(
        model,
        x,
        y,
        classification=dataset.n_classes is not None,
        prefix=split,
        batch_size=batch_size,
        target_scale=dataset.target_scale,
    )
