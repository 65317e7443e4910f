"""A user's data files: ``.npz`` archives and ``.csv`` tables with a named target column."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from archtune.data._dataset import Task
from archtune.data._errors import DatasetError
from archtune.data._raw import RawData, raw_from_mapping

__all__ = ["FILE_SUFFIXES", "load_csv", "load_npz"]

FILE_SUFFIXES = (".npz", ".csv")
_DEFAULT_TARGETS = ("target", "y", "label")
#: How a user names the label column, wherever they give the data.
_NAME_IT = (
    "Name the label column: target: in a config's data block, target= in Python, --label on "
    "the command line"
)


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise DatasetError(
            f"data file {str(path)!r} does not exist (or is not a file). "
            "Check the path; relative paths start at the current directory."
        )


def load_npz(path: Path, *, task: Task | None) -> RawData:
    """Read a ``.npz`` archive holding ``x``/``y`` (or ``X``/``y``) and optional splits."""
    _check_file(path)
    if not zipfile.is_zipfile(path):  # np.load would call any other bytes "pickled data"
        raise DatasetError(
            f"{path}: is corrupt or of another format: a .npz file is a zip archive of arrays "
            "(save it with np.savez)"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays: dict[str, Any] = {key: archive[key] for key in archive.files}
    except ValueError as exc:
        raise DatasetError(
            f"{path}: the archive holds Python objects, which archtune does not unpickle. "
            "Save plain numeric (or string) arrays with np.savez."
        ) from exc
    except (OSError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{path}: not a readable .npz archive ({exc})") from exc
    return raw_from_mapping(path.name, arrays, task=task)


def load_csv(path: Path, *, target: str | None, task: Task | None) -> RawData:
    """Read a ``.csv`` table with a header row; ``target`` names the label column.

    Without ``target``, a column named ``target``, ``y`` or ``label`` is used. Feature columns
    must be numeric. Integer or text targets mean classification, decimal ones regression,
    unless ``task`` says otherwise.
    """
    _check_file(path)
    with path.open(newline="", encoding="utf-8") as handle:
        sample = handle.read(8192)
        handle.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = list(csv.reader(handle, dialect))
    rows = [row for row in rows if row]
    if len(rows) < 2:
        raise DatasetError(f"{path}: must hold a header row and at least one data row")
    header = [h.strip() for h in rows[0]]
    if target is None:
        found = [name for name in _DEFAULT_TARGETS if name in header]
        if not found:
            raise DatasetError(
                f"{path}: no target column given and none named {list(_DEFAULT_TARGETS)}; "
                f"columns are {header}. {_NAME_IT}"
            )
        target = found[0]
    if target not in header:
        raise DatasetError(
            f"{path}: target column {target!r} not found; columns are {header}. {_NAME_IT}"
        )
    t = header.index(target)
    features: list[list[float]] = []
    labels: list[str] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DatasetError(
                f"{path}:{line}: must have {len(header)} fields like the header, got {len(row)}"
            )
        values: list[float] = []
        for col, cell in enumerate(row):
            if col == t:
                labels.append(cell.strip())
                continue
            try:
                values.append(float(cell))
            except ValueError:
                raise DatasetError(
                    f"{path}:{line}: column {header[col]!r} must be a number, got {cell!r}. "
                    "Encode categories as numbers and fill missing values first."
                ) from None
        features.append(values)
    if any(label == "" for label in labels):
        raise DatasetError(f"{path}: target column {target!r} has empty cells; drop those rows")
    return RawData(
        name=path.name, x=np.asarray(features, np.float64), y=_parse_labels(labels), task=task
    )


def _parse_labels(labels: list[str]) -> np.ndarray[Any, Any]:
    try:
        return np.asarray([int(v) for v in labels], np.int64)
    except ValueError:
        pass
    try:
        return np.asarray([float(v) for v in labels], np.float64)
    except ValueError:
        return np.asarray(labels, dtype=str)
