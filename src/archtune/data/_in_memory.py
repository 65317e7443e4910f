"""Arrays given to ``tune(data=...)``, written to an ``.npz`` file the workers can load.

A search's workers are other processes (on a Ray cluster, other machines), and a study
records its data as a spec that ``archtune export`` and a resumed study load again. Arrays
in the caller's memory are neither, so ``tune()`` writes them once to a file named by a hash
of their contents: the same arrays give the same file, so a resumed study finds its data
unchanged, and the spec stays a path like any other ``.npz`` file.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from archtune.data._errors import DatasetError
from archtune.data._raw import ARRAY_KEYS

__all__ = ["arrays_of", "write_arrays"]


def _is_array(value: object) -> bool:
    return hasattr(value, "__array__") or isinstance(value, list | tuple)


def arrays_of(data: object) -> dict[str, Any] | None:
    """The arrays ``data`` holds by ``.npz`` key: ``(x, y)``, or a mapping of the keys of
    :data:`~archtune.data._raw.ARRAY_KEYS`; ``None`` where ``data`` is no such thing."""
    if isinstance(data, tuple | list) and len(data) == 2 and all(map(_is_array, data)):
        return {"x": data[0], "y": data[1]}
    if isinstance(data, Mapping) and data and all(k in ARRAY_KEYS for k in data):
        return dict(data)
    return None


def _plain(name: str, value: Any) -> np.ndarray[Any, Any]:
    """``value`` as an array an ``.npz`` file holds without pickling (text labels as str)."""
    array = np.asarray(value)
    if array.dtype != object:
        return array
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError):
        if name.startswith("y"):
            return array.astype(str)
        raise DatasetError(
            f"data: {name} holds values that are not numbers ({array.dtype}); features must "
            "be numeric: encode categories as numbers first"
        ) from None


def write_arrays(arrays: Mapping[str, Any], folder: Path | None) -> str:
    """Write ``arrays`` to ``folder/arrays-<hash>.npz`` (once) and return its path.

    ``folder`` ``None``: a temporary folder, removed when this process exits.
    """
    plain = {name: _plain(name, value) for name, value in sorted(arrays.items())}
    digest = hashlib.sha256()
    for name, array in plain.items():
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    folder = folder if folder is not None else _temporary_folder()
    path = folder / f"arrays-{digest.hexdigest()[:16]}.npz"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=folder, suffix=".npz.partial")
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **plain)  # type: ignore[arg-type]
        os.replace(partial, path)  # whole or not at all
    return str(path)


_TEMPORARY: list[Path] = []


def _temporary_folder() -> Path:
    if not _TEMPORARY:
        folder = Path(tempfile.mkdtemp(prefix="archtune-data-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _TEMPORARY.append(folder)
    return _TEMPORARY[0]
