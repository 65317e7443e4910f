"""Raw arrays as a source gives them, before splitting: :class:`RawData` and its checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from archtune.data._dataset import Task
from archtune.data._errors import DatasetError

__all__ = ["ARRAY_KEYS", "RawData", "raw_from_mapping"]

Array = npt.NDArray[np.generic]

ARRAY_KEYS = ("x", "y", "x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
"""The keys a mapping of arrays (a ``.npz`` file, a function's result) may hold."""


@dataclass(frozen=True)
class RawData:
    """Unsplit arrays from one source.

    Attributes:
        name: The dataset's name for messages and :attr:`Dataset.name`.
        x: The inputs of the pool that the loader splits (all samples without predefined split).
        y: The labels or targets of the pool.
        task: The task when the source knows it; ``None`` infers it from ``y``'s dtype.
        x_val: A predefined validation split's inputs, or ``None``.
        y_val: A predefined validation split's labels, or ``None``.
        x_test: A predefined test split's inputs, or ``None``.
        y_test: A predefined test split's labels, or ``None``.
    """

    name: str
    x: Array
    y: Array
    task: Task | None = None
    x_val: Array | None = None
    y_val: Array | None = None
    x_test: Array | None = None
    y_test: Array | None = None

    def __post_init__(self) -> None:
        _check_pair(self.name, "x", self.x, "y", self.y)
        shape = self.x.shape[1:]
        for split in ("val", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if (x is None) != (y is None):
                raise DatasetError(
                    f"{self.name}: x_{split} and y_{split} must be given together, "
                    f"got only {'x' if y is None else 'y'}_{split}"
                )
            if x is None:
                continue
            _check_pair(self.name, f"x_{split}", x, f"y_{split}", y)
            if x.shape[1:] != shape:
                raise DatasetError(
                    f"{self.name}: x_{split} must have the sample shape of x, {shape}, "
                    f"got {x.shape[1:]}"
                )


def _check_pair(name: str, x_key: str, x: Array, y_key: str, y: Array) -> None:
    if x.dtype.kind not in "biuf":
        raise DatasetError(
            f"{name}: {x_key} must hold numbers, got dtype {x.dtype}. "
            "Encode text or categorical features as numbers first."
        )
    if x.ndim < 2:
        raise DatasetError(
            f"{name}: {x_key} must have shape (n_samples, *sample_shape), got shape {x.shape}. "
            "For one feature per sample, pass x.reshape(-1, 1)."
        )
    if y.ndim not in (1, 2):
        raise DatasetError(
            f"{name}: {y_key} must have shape (n_samples,) or (n_samples, n_targets), "
            f"got shape {y.shape}"
        )
    if x.shape[0] != y.shape[0]:
        raise DatasetError(
            f"{name}: {x_key} and {y_key} must have the same number of samples, "
            f"got {x.shape[0]} and {y.shape[0]}"
        )
    if x.shape[0] == 0:
        raise DatasetError(f"{name}: {x_key} must hold at least one sample, got none")
    if not np.isfinite(x.astype(np.float64, copy=False)).all():
        raise DatasetError(
            f"{name}: {x_key} must be finite, got NaN or infinite values. "
            "Impute or drop those samples first."
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        raise DatasetError(
            f"{name}: {y_key} must be finite, got NaN or infinite values. Drop those samples."
        )


def raw_from_mapping(name: str, arrays: Mapping[str, object], *, task: Task | None) -> RawData:
    """Build :class:`RawData` from a mapping with the keys of :data:`ARRAY_KEYS`.

    Accepted layouts: ``x``/``y`` (``X`` for ``x`` works too), optionally with ``x_val``/``y_val``
    and ``x_test``/``y_test``; or ``x_train``/``y_train`` with the same optional splits.
    """
    keys = {("x" if k == "X" else k): k for k in arrays}
    unknown = sorted(k for k in keys if k not in ARRAY_KEYS)
    if unknown:
        raise DatasetError(
            f"{name}: unknown array keys {unknown}; expected 'x' (or 'X') and 'y', or "
            "'x_train' and 'y_train', each optionally with 'x_val'/'y_val' and "
            "'x_test'/'y_test'. Remove or rename the other arrays."
        )
    if "x" in keys and "x_train" in keys:
        raise DatasetError(f"{name}: give either 'x' or 'x_train', not both")
    pool = "x" if "x" in keys else "x_train"
    label = "y" if pool == "x" else "y_train"
    if pool not in keys or label not in keys:
        raise DatasetError(
            f"{name}: must hold the arrays 'x' and 'y' (or 'x_train' and 'y_train'), "
            f"got {sorted(arrays)}"
        )
    if pool == "x" and "y_train" in keys:
        raise DatasetError(f"{name}: 'y_train' needs 'x_train', got 'x'; rename one of them")

    def get(key: str) -> Array | None:
        if key not in keys:
            return None
        value = arrays[keys[key]]
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as exc:  # ragged lists and the like
            raise DatasetError(f"{name}: {key!r} must be an array, got {type(value)!r}") from exc
        if arr.dtype.kind == "O":
            raise DatasetError(
                f"{name}: {key!r} must be an array of numbers or strings, got Python objects"
            )
        return arr

    x, y = get(pool), get(label)
    if x is None or y is None:  # pragma: no cover - checked above
        raise DatasetError(f"{name}: missing arrays")
    return RawData(
        name=name,
        x=x,
        y=y,
        task=task,
        x_val=get("x_val"),
        y_val=get("y_val"),
        x_test=get("x_test"),
        y_test=get("y_test"),
    )
