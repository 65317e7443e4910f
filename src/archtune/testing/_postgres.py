"""A throwaway PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` in a temporary directory.

It listens on 127.0.0.1 only, on a free port, with trust authentication for one database, and
is stopped (by ``pg_ctl stop``) when the context ends. As root it runs the server as the
``postgres`` system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["find_pg_bin", "postgres_server", "restart_postgres"]

# url -> the pg_ctl command prefix for that server, while it runs (for restart_postgres).
_RUNNING: dict[str, list[str]] = {}

_CANDIDATE_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin")


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or ``None`` when PostgreSQL is absent."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    for directory in _CANDIDATE_DIRS:
        if (Path(directory) / "initdb").exists():
            return Path(directory)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def postgres_server(*, database: str = "archtune") -> Iterator[str]:
    """Start PostgreSQL and yield a SQLAlchemy URL (``postgresql+psycopg://...``) to ``database``.

    Raises:
        RuntimeError: PostgreSQL is not installed, or the server does not start.
    """
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (no initdb on PATH)")
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    root = Path(tempfile.mkdtemp(prefix="archtune-pg-"))
    data, log = root / "data", root / "server.log"
    if as_root:
        shutil.chown(root, user="postgres")
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    run(
        str(bin_dir / "initdb"),
        "-D",
        str(data),
        "-A",
        "trust",
        "-U",
        "archtune",
        "--no-sync",
        "-E",
        "UTF8",
    )
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off"
    try:
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        run(
            str(bin_dir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-U",
            "archtune",
            database,
        )
        url = f"postgresql+psycopg://archtune@127.0.0.1:{port}/{database}"
        _RUNNING[url] = [
            *prefix,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(log),
            "-w",
        ]
        yield url
    finally:
        _RUNNING.pop(f"postgresql+psycopg://archtune@127.0.0.1:{port}/{database}", None)
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def restart_postgres(url: str) -> None:
    """Restart the server :func:`postgres_server` started for ``url`` (fault injection).

    Raises:
        KeyError: no server of this process serves ``url``.
    """
    command = _RUNNING[url]
    subprocess.run(
        [*command, "-m", "fast", "restart"], check=True, capture_output=True, timeout=120
    )
