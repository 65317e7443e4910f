"""What every command shares: the one-line error and exit, and the read-only storage check."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.text import Text

from archtune._errors import ConfigError
from archtune.cli._console import err

__all__ = ["check_storage_exists", "fail"]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``archtune: error: <message>`` on one line and exit with ``code``."""
    # The message is plain text: ``archtune[report]`` in it is not Rich markup.
    err.print(
        Text.assemble(("archtune: error:", "bold red"), " ", message),
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(code)


def check_storage_exists(storage: str) -> None:
    """Read-only commands must open the storage, and not create an empty SQLite file."""
    from archtune.config import check_storage

    try:
        check_storage(storage, must_exist=True)
    except ConfigError as exc:
        fail(str(exc))
