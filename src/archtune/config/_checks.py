"""Checks done before a command stores anything: the storage opens, the output can be written.

(And the artifact folder, where trials keep their checkpoints, can be written.)

Each failure is a :class:`~archtune.ConfigError` of one line that names the URL or the path,
so the CLI prints it and exits with code 2 before any work (or any write) starts.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from archtune._errors import ConfigError
from archtune._redact import redact_url

__all__ = ["check_folder_writable", "check_storage", "check_writable", "shown_url"]

_STORAGE_FORMS = "sqlite:///path/to/file.db or postgresql+psycopg://user@host/database"
_SUPPORTED_SCHEMES = "sqlite, postgresql+psycopg (or postgresql), mysql+<driver>"
_CONNECT_TIMEOUT_S = 10


def shown_url(url: str) -> str:
    """The URL as messages show it: its password hidden."""
    return redact_url(url)


def check_storage(url: str | None, *, source: str = "storage", must_exist: bool = False) -> None:
    """Check that an Optuna storage URL can be opened, without creating anything.

    An SQLite file need not exist yet (unless ``must_exist``), but its folder must exist and
    take new files; an existing file must be an SQLite database. Any other database must
    accept a connection (within 10 seconds). ``None`` is an in-memory storage.

    Args:
        url: The storage URL.
        source: Where the URL came from, the first words of the message: ``--storage``,
            ``ARCHTUNE_STORAGE``, ``run.yaml: storage``, ``tune(): storage``.
        must_exist: Whether the SQLite file must exist already (commands that only read).

    Raises:
        ConfigError: one line naming the URL and what is wrong.
    """
    if url is None:
        return
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{source} must be a storage URL such as {_STORAGE_FORMS}, got {url!r}")
    import sqlalchemy.exc
    from sqlalchemy.engine import make_url

    shown = shown_url(url)
    try:
        parsed = make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError):
        raise ConfigError(
            f"{source} {shown!r} is not a storage URL; write {_STORAGE_FORMS}"
        ) from None
    try:
        parsed.get_dialect()
    except sqlalchemy.exc.NoSuchModuleError:
        raise ConfigError(
            f"{source} {shown!r} has an unknown scheme {parsed.drivername!r} (supported: "
            f"{_SUPPORTED_SCHEMES}); write {_STORAGE_FORMS}"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.host or parsed.port:
            raise ConfigError(
                f"{source} {shown!r} is not an SQLite URL (a file has no host); write "
                "sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        _check_sqlite(parsed.database, f"{source} {shown!r}", must_exist=must_exist)
        return
    _check_connects(parsed, f"{source} {shown!r}")


def _check_sqlite(database: str | None, where: str, *, must_exist: bool) -> None:
    if database in (None, "", ":memory:"):
        return  # in memory
    path = Path(database).expanduser()
    if path.is_dir():
        raise ConfigError(f"{where}: {path} is a folder, not a database file")
    if path.exists():
        _check_is_sqlite(path, where)
        if not must_exist:
            _check_folder_takes_files(path.parent, where)  # SQLite writes its journal there
        return
    if must_exist:
        raise ConfigError(f"{where}: the file {path} does not exist (no studies there yet)")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ConfigError(f"{where}: the folder {folder} {what}; create it or choose another path")
    _check_folder_takes_files(folder, where)


def _check_is_sqlite(path: Path, where: str) -> None:
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ConfigError(f"{where}: {path} cannot be opened ({exc})") from None
    try:
        connection.execute("PRAGMA schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        if _hot_journal(path):
            return  # its writer died mid-transaction (a killed driver): the next one rolls back
        raise ConfigError(f"{where}: {path} is not an SQLite database ({exc})") from None
    finally:
        connection.close()


def _hot_journal(path: Path) -> bool:
    """An SQLite file with a rollback journal beside it: a read-only probe cannot read it
    (SQLite must roll the journal back first), but a writer opens it normally."""
    try:
        with path.open("rb") as file:
            header = file.read(16)
    except OSError:
        return False
    return header == b"SQLite format 3\x00" and path.with_name(f"{path.name}-journal").exists()


def _check_folder_takes_files(folder: Path, where: str) -> None:
    """Create (and at once drop) an unnamed file in ``folder``: the one honest test."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"{where}: cannot create files in the folder {folder} ({reason}); choose a "
            "writable path"
        ) from None


def _check_connects(parsed: Any, where: str) -> None:
    import sqlalchemy
    import sqlalchemy.exc

    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() in ("postgresql", "mysql", "mariadb"):
        connect_args["connect_timeout"] = _CONNECT_TIMEOUT_S
    try:
        engine = sqlalchemy.create_engine(parsed, connect_args=connect_args)
    except ImportError as exc:
        raise ConfigError(
            f"{where}: its driver is not installed ({exc}){_driver_hint(parsed)}"
        ) from None
    except (sqlalchemy.exc.ArgumentError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where} is not a usable storage URL ({_first_line(exc)})") from None
    server = f"{parsed.host or 'localhost'}:{parsed.port or 'default port'}"
    try:
        with engine.connect():
            pass
    except sqlalchemy.exc.DBAPIError as exc:
        reason = _hidden(_first_line(exc.orig), parsed.password)
        raise ConfigError(f"{where}: cannot connect to {server} ({reason})") from None
    except (sqlalchemy.exc.SQLAlchemyError, OSError) as exc:
        reason = _hidden(_first_line(exc), parsed.password)
        raise ConfigError(f"{where}: cannot connect to {server} ({reason})") from None
    finally:
        engine.dispose()


def _hidden(text: str, password: Any) -> str:
    """``text`` with the URL's password (should a driver quote it) replaced by ``***``."""
    return text.replace(str(password), "***") if password else text


def _driver_hint(parsed: Any) -> str:
    if parsed.get_backend_name() == "postgresql":
        return '; use postgresql+psycopg://... with pip install "archtune[postgres]"'
    return ""


def _first_line(exc: BaseException | None) -> str:
    text = str(exc) if exc is not None else ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def check_writable(path: str | os.PathLike[str], *, option: str = "-o") -> Path:
    """Check that a file can be written at ``path`` before the work that produces it starts.

    Missing folders are fine when they can be created under the nearest existing one. Nothing
    is left behind: the test file has no name and is gone when the check returns.

    Returns:
        The path.

    Raises:
        ConfigError: one line naming the path and what is wrong.
    """
    target = Path(path).expanduser()
    where = f"{option} {path}"
    if target.is_dir():
        raise ConfigError(f"{where} is a folder; give a file name")
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"{where} cannot be written: {folder} is a file, not a folder")
    try:
        if target.exists():
            with open(target, "ab"):
                pass
        else:
            with tempfile.TemporaryFile(dir=folder):
                pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{where} cannot be written ({reason} in {folder})") from None
    return target


def check_folder_writable(path: str | os.PathLike[str], *, option: str = "artifacts") -> Path:
    """Check that files can be created in the folder ``path`` (made later if it is missing).

    A missing folder is fine when it can be created under the nearest existing one; nothing
    is left behind.

    Returns:
        The folder as an absolute path (relative paths are taken from the current directory).

    Raises:
        ConfigError: one line naming the field, the path and what is wrong.
    """
    if not isinstance(path, str | os.PathLike) or not str(path).strip():
        raise ConfigError(f"{option} must be the path of a folder, got {path!r}")
    folder = Path(path).expanduser().absolute()
    where = f"{option} {path}"
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{where} is a file, not a folder; give a folder's path")
    nearest = folder
    while not nearest.exists() and nearest != nearest.parent:
        nearest = nearest.parent
    if not nearest.is_dir():
        raise ConfigError(f"{where} cannot be created: {nearest} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=nearest):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(f"{where} cannot be written ({reason} in {nearest})") from None
    return folder
