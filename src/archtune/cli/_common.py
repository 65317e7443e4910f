"""What every command shares: the one-line error and exit, the storage URL's source, and the
read-only storage check."""

from __future__ import annotations

from contextvars import ContextVar
from typing import NoReturn

import typer
from rich.text import Text

from archtune._errors import ConfigError
from archtune.cli._console import err

__all__ = ["check_storage_exists", "fail", "record_storage_source", "storage_source"]

_SOURCES = {"ENVIRONMENT": "ARCHTUNE_STORAGE", "DEFAULT": "--storage (default)"}
_storage_source: ContextVar[str] = ContextVar("archtune_storage_source", default="--storage")


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``archtune: error: <message>`` on one line and exit with ``code``."""
    # The message is plain text: ``archtune[report]`` in it is not Rich markup.
    err.print(
        Text.assemble(("archtune: error:", "bold red"), " ", message),
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(code)


def record_storage_source(ctx: typer.Context, param: typer.CallbackParam, value: str) -> str:
    """The ``--storage`` option's callback: note where its value came from; return it as is."""
    source = ctx.get_parameter_source(param.name or "storage")
    _storage_source.set(_SOURCES.get(getattr(source, "name", ""), "--storage"))
    return value


def storage_source() -> str:
    """Where the running command's ``--storage`` came from, as its messages name it.

    ``ARCHTUNE_STORAGE`` when the environment variable gave it, ``--storage (default)`` when
    neither the option nor the variable did, else ``--storage``.
    """
    return _storage_source.get()


def check_storage_exists(storage: str) -> None:
    """Read-only commands must open the storage, and not create an empty SQLite file."""
    from archtune.config import check_storage

    try:
        check_storage(storage, source=storage_source(), must_exist=True)
    except ConfigError as exc:
        fail(str(exc))
