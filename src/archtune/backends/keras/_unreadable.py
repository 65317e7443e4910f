"""Why a model file that exists cannot be loaded by Keras, in one line."""

from __future__ import annotations

import zipfile
from pathlib import Path

__all__ = ["describe_unreadable"]

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def describe_unreadable(path: str | Path, exc: BaseException) -> str:
    """Say what is wrong with a file Keras could not load (it exists: never "not found").

    Keras reports a file it cannot open as a zip archive as "File not found", which misleads
    when the file is there. A ``.keras`` file is a zip archive with ``config.json`` in it; a
    legacy ``.h5`` file starts with the HDF5 signature.
    """
    file = Path(path)
    try:
        with file.open("rb") as handle:
            head = handle.read(8)
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if not head:
        return "is empty (0 bytes): save the model again with model.save('model.keras')"
    if head.startswith(_HDF5_SIGNATURE):
        return f"is an HDF5 file that Keras cannot load ({_first_line(exc)})"
    if not zipfile.is_zipfile(file):
        return (
            "is corrupt or of another format: a .keras file is a zip archive (save the model "
            "with model.save('model.keras'))"
        )
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError) as error:
        return f"is a corrupt zip archive ({error})"
    if broken is not None:
        return f"is a corrupt zip archive (entry {broken!r} fails its checksum)"
    if "config.json" not in names:
        return "is a zip archive but not a Keras model (it has no config.json)"
    return f"is a Keras archive that Keras cannot load ({_first_line(exc)})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
