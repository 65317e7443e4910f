"""Built-in datasets: shapes, splits, standardisation, seeds, names."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest

from archtune.data import Dataset, DatasetError, list_datasets, load_dataset

# name -> (input_shape, n_classes or None, total samples)
EXPECTED = {
    "digits": ((8, 8, 1), 10, 1797),
    "mnist-sample": ((28, 28, 1), 10, 5000),
    "mnist1d": ((40, 1), 10, 5000),
    "wine": ((13,), 3, 178),
    "breast-cancer": ((30,), 2, 569),
    "diabetes": ((10,), None, 442),
}


def test_list_datasets_names_every_builtin() -> None:
    assert set(list_datasets()) == set(EXPECTED)
    assert all(isinstance(d, str) and d for d in list_datasets().values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_loads_with_shapes_dtypes_and_splits(name: str) -> None:
    shape, n_classes, total = EXPECTED[name]
    ds = load_dataset(name, seed=0)
    assert ds.name == name
    assert ds.input_shape == shape
    assert ds.n_classes == n_classes
    assert ds.task == ("regression" if n_classes is None else "classification")
    assert ds.n_train + ds.n_val + ds.n_test == total
    for split in ("train", "val", "test"):
        x, y = ds.split(split)
        assert x.dtype == np.float32
        assert x.shape[1:] == shape
        assert len(x) == len(y) > 0
        assert not x.flags.writeable
        if n_classes is None:
            assert y.dtype == np.float32
        else:
            assert y.dtype == np.int64
            assert y.min() >= 0
            assert y.max() < n_classes
    if name == "mnist1d":  # predefined test split of the package; val from the rest
        assert ds.n_test == 1000
        assert ds.n_val == round(0.2 * 4000)
    else:
        assert ds.n_test == round(0.2 * total)
        assert ds.n_val == round(0.2 * total)


@pytest.mark.parametrize("name", ["digits", "wine", "breast-cancer", "mnist1d"])
def test_train_split_is_standardised_per_channel_or_feature(name: str) -> None:
    ds = load_dataset(name, seed=1)
    axes = tuple(range(ds.x_train.ndim - 1)) if ds.x_train.ndim >= 3 else (0,)
    mean = ds.x_train.astype(np.float64).mean(axis=axes)
    std = ds.x_train.astype(np.float64).std(axis=axes)
    np.testing.assert_allclose(mean, 0.0, atol=1e-5)
    # digits has constant border pixels only per pixel; per channel the std is 1
    np.testing.assert_allclose(std, 1.0, atol=1e-4)


def test_standardisation_statistics_come_from_the_train_split_only() -> None:
    raw = load_dataset("wine", seed=3, standardize=False)
    std = load_dataset("wine", seed=3)
    assert std.x_mean is not None
    assert std.x_scale is not None
    np.testing.assert_allclose(std.x_mean, raw.x_train.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(std.x_scale, raw.x_train.std(axis=0), rtol=1e-5)
    # the validation split is transformed with the train statistics, so it is not exactly 0
    np.testing.assert_allclose(std.x_val, std.preprocess(raw.x_val), rtol=1e-5, atol=1e-5)
    assert np.abs(std.x_val.mean(axis=0)).max() > 1e-3


def test_regression_targets_are_standardised_and_can_be_undone() -> None:
    raw = load_dataset("diabetes", seed=0, standardize=False)
    ds = load_dataset("diabetes", seed=0)
    assert abs(float(ds.y_train.mean())) < 1e-5
    assert ds.y_mean is not None
    np.testing.assert_allclose(ds.target_scale, raw.y_train.std(), rtol=1e-5)
    np.testing.assert_allclose(
        ds.y_val * ds.target_scale + ds.y_mean, raw.y_val, rtol=1e-4, atol=1e-3
    )
    assert raw.target_scale == 1.0


def test_same_seed_same_splits_other_seed_other_splits() -> None:
    a = load_dataset("digits", seed=7)
    b = load_dataset("digits", seed=7)
    c = load_dataset("digits", seed=8)
    for split in ("train", "val", "test"):
        np.testing.assert_array_equal(a.split(split)[0], b.split(split)[0])
        np.testing.assert_array_equal(a.split(split)[1], b.split(split)[1])
    assert not np.array_equal(a.y_val, c.y_val)


def test_splits_are_stratified() -> None:
    ds = load_dataset("breast-cancer", seed=0)
    overall = np.bincount(np.concatenate([ds.y_train, ds.y_val, ds.y_test])) / 569
    for y in (ds.y_train, ds.y_val, ds.y_test):
        # largest-remainder quotas: each class within one sample of its exact share
        assert np.all(np.abs(np.bincount(y, minlength=2) - overall * len(y)) <= 1.0)


def test_splits_are_disjoint() -> None:
    ds = load_dataset("wine", seed=0)
    rows = [tuple(r) for r in np.concatenate([ds.x_train, ds.x_val, ds.x_test]).round(5)]
    assert len(set(rows)) == 178


def test_names_are_case_and_separator_insensitive() -> None:
    assert load_dataset("Breast_Cancer").name == "breast-cancer"
    assert load_dataset(" MNIST1D ", max_samples=100).name == "mnist1d"


def test_max_samples_keeps_proportions_and_predefined_splits() -> None:
    ds = load_dataset("mnist-sample", max_samples=500, seed=0)
    assert (ds.n_train, ds.n_val, ds.n_test) == (300, 100, 100)
    assert np.bincount(ds.y_train, minlength=10).min() == 30  # stratified: 30 per class
    d1 = load_dataset("mnist1d", max_samples=500, seed=0)
    assert (d1.n_train, d1.n_val, d1.n_test) == (400, 100, 100)


def test_mnist1d_keeps_the_callers_global_rng_state() -> None:
    np.random.seed(123)
    random.seed(123)
    expected_np = np.random.random()
    expected_py = random.random()
    np.random.seed(123)
    random.seed(123)
    from archtune.data._builtin import BUILTIN_DATASETS

    BUILTIN_DATASETS["mnist1d"].loader.cache_clear()  # type: ignore[attr-defined]
    load_dataset("mnist1d", max_samples=50)
    assert np.random.random() == expected_np
    assert random.random() == expected_py


def test_builtin_task_cannot_be_overridden() -> None:
    with pytest.raises(DatasetError, match=r"diabetes.*regression.*classification"):
        load_dataset("diabetes", task="classification")


def test_repr_is_short_and_informative() -> None:
    ds = load_dataset("wine")
    assert isinstance(ds, Dataset)
    assert repr(ds) == (
        "Dataset(name='wine', n_classes=3, input_shape=(13,), n_train=106, n_val=36, n_test=36)"
    )


def test_importing_data_and_recipe_imports_no_framework_or_sklearn() -> None:
    code = (
        "import sys, archtune.data, archtune.recipe\n"
        "bad = [m for m in ('torch', 'sklearn', 'keras', 'tensorflow', 'mlxtend', 'mnist1d')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
