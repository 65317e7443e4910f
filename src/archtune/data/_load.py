""":func:`load_dataset`: one entry point for built-in names, files, functions and arrays."""

from __future__ import annotations

import difflib
import functools
import importlib
import numbers
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeAlias

from archtune.data._builtin import BUILTIN_DATASETS, normalise_name
from archtune.data._dataset import Dataset, Task
from archtune.data._errors import DatasetError
from archtune.data._files import FILE_SUFFIXES, load_csv, load_npz
from archtune.data._raw import RawData, raw_from_mapping
from archtune.data._split import build_dataset

__all__ = ["DataSpec", "absolute_spec", "list_datasets", "load_dataset"]

DataSpec: TypeAlias = "str | os.PathLike[str] | tuple[Any, Any] | Mapping[str, Any]"
"""What :func:`load_dataset` accepts: a name, a path, ``"module:function"`` or arrays."""

_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_TASKS = ("classification", "regression")


def absolute_spec(spec: DataSpec) -> DataSpec:
    """``spec`` with a relative ``.npz``/``.csv`` path made absolute (from the current directory).

    What a study records must work from any directory (``archtune report``, ``export``);
    other specs are returned as they are.

    Example:
        >>> import os
        >>> absolute_spec("x.csv") == os.path.join(os.getcwd(), "x.csv")
        True
    """
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if isinstance(spec, str) and Path(spec).suffix.lower() in FILE_SUFFIXES:
        return os.path.abspath(os.path.expanduser(spec))
    return spec


def list_datasets() -> dict[str, str]:
    """Return the built-in datasets' names with a one-line description each."""
    return {name: d.description for name, d in BUILTIN_DATASETS.items()}


def _expected() -> str:
    return (
        f"a built-in dataset ({', '.join(BUILTIN_DATASETS)}), a .npz or .csv file, "
        "'module:function' returning arrays, an (x, y) tuple or a mapping of arrays"
    )


def _check_options(
    seed: int,
    val_fraction: float,
    test_fraction: float,
    task: str | None,
    max_samples: int | None,
) -> None:
    def fail(field: str, what: str, value: object) -> DatasetError:
        return DatasetError(f"load_dataset: {field} must be {what}, got {value!r}")

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise fail("seed", "an integer >= 0", seed)
    for field, value, low_ok in (
        ("val_fraction", val_fraction, False),
        ("test_fraction", test_fraction, True),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not (0 <= value < 1)
            or (value == 0 and not low_ok)
        ):
            bound = "0 <= x < 1" if low_ok else "0 < x < 1"
            raise fail(field, f"a number with {bound}", value)
    if val_fraction + test_fraction >= 1:
        raise DatasetError(
            "load_dataset: val_fraction + test_fraction must be < 1 to leave a train split, "
            f"got {val_fraction} + {test_fraction}"
        )
    if task is not None and task not in _TASKS:
        raise fail("task", f"one of {list(_TASKS)} or None", task)
    if max_samples is not None and (
        isinstance(max_samples, bool)
        or not isinstance(max_samples, numbers.Integral)
        or max_samples < 2
    ):
        raise fail("max_samples", "an integer >= 2 or None", max_samples)


def _from_callable(spec: str, task: Task | None) -> RawData:
    module_name, _, attr = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise DatasetError(
            f"data spec {spec!r}: cannot import module {module_name!r} ({exc}). "
            "Check the name and that its directory is on sys.path / PYTHONPATH."
        ) from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise DatasetError(
                f"data spec {spec!r}: module {module_name!r} has no attribute {attr!r}"
            )
        obj = getattr(obj, part)
    if not callable(obj):
        raise DatasetError(f"data spec {spec!r}: {attr!r} must be callable, got {type(obj)!r}")
    return _from_arrays(spec, obj(), task)


def _from_arrays(name: str, value: object, task: Task | None) -> RawData:
    if isinstance(value, Mapping):
        return raw_from_mapping(name, value, task=task)
    if isinstance(value, tuple | list) and len(value) == 2:
        return raw_from_mapping(name, {"x": value[0], "y": value[1]}, task=task)
    raise DatasetError(
        f"data {name!r} must give an (x, y) tuple or a mapping with keys 'x' and 'y' "
        f"(optionally x_val/y_val, x_test/y_test), got {type(value).__name__}"
    )


def _resolve(spec: DataSpec, *, target: str | None, task: Task | None) -> RawData:
    if not isinstance(spec, str | os.PathLike) and target is not None:
        raise DatasetError("load_dataset: target= only applies to .csv files; remove it")
    if isinstance(spec, Mapping | tuple | list):
        return _from_arrays("arrays", spec, task)
    if not isinstance(spec, str | os.PathLike):
        raise DatasetError(f"data spec must be {_expected()}; got {type(spec).__name__}")
    text = os.fspath(spec)
    suffix = Path(text).suffix.lower()
    if suffix in FILE_SUFFIXES or isinstance(spec, os.PathLike):
        path = Path(text).expanduser()
        if suffix not in FILE_SUFFIXES:
            raise DatasetError(
                f"data file {text!r} must end in .npz or .csv, got {suffix or 'no suffix'!r}"
            )
        if suffix == ".csv":
            return load_csv(path, target=target, task=task)
        if target is not None:
            raise DatasetError(f"data spec {text!r}: target= only applies to .csv files")
        return load_npz(path, task=task)
    if target is not None:
        raise DatasetError(f"data spec {text!r}: target= only applies to .csv files")
    name = normalise_name(text)
    if name in BUILTIN_DATASETS:
        raw = BUILTIN_DATASETS[name].loader()
        if task is not None and task != raw.task:
            raise DatasetError(
                f"data spec {text!r}: the built-in dataset is {raw.task}, got task={task!r}"
            )
        return raw
    if _CALLABLE.match(text):
        return _from_callable(text, task)
    close = difflib.get_close_matches(name, list(BUILTIN_DATASETS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DatasetError(f"data spec {text!r} is not {_expected()}.{hint}")


def load_dataset(
    spec: DataSpec,
    *,
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    standardize: bool = True,
    task: Task | None = None,
    target: str | None = None,
    max_samples: int | None = None,
) -> Dataset:
    """Load a dataset and split it into standardised train, validation and test arrays.

    Args:
        spec: A built-in name (see :func:`list_datasets`; case and ``_``/``-`` do not
            matter), a ``.npz`` file (arrays ``x``/``y`` or ``X``/``y``, optionally with
            ``x_val``/``y_val``, ``x_test``/``y_test``; or ``x_train``/``y_train`` with those),
            a ``.csv`` file with a header row, ``"package.module:function"`` returning
            ``(x, y)`` or such a mapping, or the ``(x, y)`` tuple or mapping itself.
        seed: Seeds the splits; the same seed gives the same splits.
        val_fraction: The validation share of the samples without a predefined split.
        test_fraction: The test share of the samples without a predefined split (0 allowed).
        standardize: Standardise inputs (per feature, or per channel for images and
            sequences) and regression targets with statistics of the train split.
        task: ``"classification"`` or ``"regression"``; inferred when ``None`` (float targets
            mean regression, integer or text labels classification).
        target: The label column of a ``.csv`` file (default: ``target``, ``y`` or ``label``).
        max_samples: Use at most this many samples of the pool, drawn stratified; predefined
            splits are cut in proportion. Handy for fast tests and low-fidelity trials.

    Returns:
        The :class:`Dataset`.

    Raises:
        DatasetError: The spec, a file or the arrays are invalid; the message says the fix.
        MissingDependencyError: A built-in dataset needs a package that is not installed.

    Example:
        >>> ds = load_dataset("digits", seed=0)
        >>> ds.input_shape, ds.n_classes
        ((8, 8, 1), 10)
    """
    _check_options(seed, val_fraction, test_fraction, task, max_samples)
    raw = _resolve(spec, target=target, task=task)
    return build_dataset(
        raw,
        seed=int(seed),
        val_fraction=float(val_fraction),
        test_fraction=float(test_fraction),
        standardize=bool(standardize),
        task=task,
        max_samples=None if max_samples is None else int(max_samples),
    )


@functools.lru_cache(maxsize=4)
def load_cached(data: tuple[tuple[str, Any], ...]) -> Dataset:
    """:func:`load_dataset` once per process (workers run many trials on the same data).

    ``data``: its keyword arguments as sorted pairs, the spec under ``dataset``.
    """
    kwargs = dict(data)
    return load_dataset(kwargs.pop("dataset"), **kwargs)
