"""The :class:`Dataset` every loader returns: split, standardised float32 arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Dataset", "SplitName", "Task"]

Task = Literal["classification", "regression"]
SplitName = Literal["train", "val", "test"]
Array = npt.NDArray[np.generic]


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A dataset split into train, validation and test arrays (read-only).

    Inputs are float32 and channels-last: ``(n, 28, 28, 1)`` for MNIST images, ``(n, 40, 1)``
    for MNIST-1D sequences, ``(n, 13)`` for tabular data. Labels are int64 class indices
    ``0 .. n_classes - 1`` for classification, float32 ``(n,)`` or ``(n, k)`` targets for
    regression. Standardisation statistics were fitted on the train split only.

    Attributes:
        name: The dataset's name, e.g. ``"digits"`` or the file's name.
        task: ``"classification"`` or ``"regression"``.
        x_train: Training inputs.
        y_train: Training labels or targets.
        x_val: Validation inputs.
        y_val: Validation labels or targets.
        x_test: Test inputs (``n = 0`` when the dataset was loaded with ``test_fraction=0``).
        y_test: Test labels or targets.
        input_shape: The shape of one input, channels-last, e.g. ``(8, 8, 1)``.
        n_classes: The number of classes; ``None`` for regression.
        classes: The original label of each class index; ``None`` for regression.
        x_mean: The mean subtracted from the inputs (``None`` when not standardised).
        x_scale: The scale the inputs were divided by (``None`` when not standardised).
        y_mean: The mean subtracted from regression targets (``None`` when not standardised).
        y_scale: The scale regression targets were divided by (``None`` when not standardised).
    """

    name: str
    task: Task
    x_train: Array
    y_train: Array
    x_val: Array
    y_val: Array
    x_test: Array
    y_test: Array
    input_shape: tuple[int, ...]
    n_classes: int | None = None
    classes: tuple[object, ...] | None = None
    x_mean: Array | None = None
    x_scale: Array | None = None
    y_mean: Array | None = None
    y_scale: Array | None = None

    @property
    def n_outputs(self) -> int:
        """The width of the model's output: ``n_classes``, or the number of targets."""
        if self.n_classes is not None:
            return self.n_classes
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])

    @property
    def is_classification(self) -> bool:
        """Whether the task is classification."""
        return self.task == "classification"

    @property
    def n_train(self) -> int:
        """The number of training samples."""
        return int(self.x_train.shape[0])

    @property
    def n_val(self) -> int:
        """The number of validation samples."""
        return int(self.x_val.shape[0])

    @property
    def n_test(self) -> int:
        """The number of test samples."""
        return int(self.x_test.shape[0])

    @property
    def target_scale(self) -> float:
        """The factor that turns a standardised regression error into the target's units.

        ``1.0`` for classification, unstandardised or multi-target data with several scales
        (errors of those stay in standardised units).
        """
        if self.y_scale is None or self.y_scale.size != 1:
            return 1.0
        return float(self.y_scale.reshape(()))

    def split(self, name: SplitName) -> tuple[Array, Array]:
        """Return ``(x, y)`` of the split ``"train"``, ``"val"`` or ``"test"``."""
        if name == "train":
            return self.x_train, self.y_train
        if name == "val":
            return self.x_val, self.y_val
        if name == "test":
            return self.x_test, self.y_test
        raise ValueError(f"split must be one of 'train', 'val', 'test', got {name!r}")

    def preprocess(self, x: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Standardise new raw inputs of shape ``(n, *input_shape)`` as this dataset was."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.shape[1:] != self.input_shape:
            raise ValueError(
                f"x must have shape (n, {', '.join(map(str, self.input_shape))}), got {arr.shape}"
            )
        if self.x_mean is not None and self.x_scale is not None:
            arr = (arr - self.x_mean.astype(np.float64)) / self.x_scale.astype(np.float64)
        return arr.astype(np.float32)

    def describe_inputs(self) -> str:
        """How the inputs were prepared and their scale, in words (for logs and messages).

        Example: ``standardised per channel with the training split's mean 0.13 and std
        0.31 (raw values 0 to 1; now -0.42 to 2.8)`` or ``as given (values 0 to 1)``.
        """
        low, high = _range(self.x_train)
        if self.x_mean is None or self.x_scale is None:
            return f"as given, not standardised (values {low:.3g} to {high:.3g})"
        mean = self.x_mean.astype(np.float64)
        scale = self.x_scale.astype(np.float64)
        raw = self.x_train.astype(np.float64) * scale + mean
        raw_low, raw_high = _range(raw)
        per = "per channel" if len(self.input_shape) >= 2 else "per feature"
        stats = (
            f"mean {float(mean.ravel()[0]):.3g} and std {float(scale.ravel()[0]):.3g}"
            if mean.size == 1
            else f"means and stds ({mean.size} of each)"
        )
        return (
            f"standardised {per} with the training split's {stats} (raw values "
            f"{raw_low:.3g} to {raw_high:.3g}; now {low:.3g} to {high:.3g})"
        )

    def __repr__(self) -> str:
        extra = f"n_classes={self.n_classes}" if self.n_classes is not None else "regression"
        return (
            f"Dataset(name={self.name!r}, {extra}, input_shape={self.input_shape}, "
            f"n_train={self.n_train}, n_val={self.n_val}, n_test={self.n_test})"
        )


def _range(x: Array) -> tuple[float, float]:
    if x.size == 0:
        return 0.0, 0.0
    # Rounded: raw values rebuilt from standardised float32 ones are off by ~1e-9.
    return round(float(np.min(x)), 5) + 0.0, round(float(np.max(x)), 5) + 0.0
