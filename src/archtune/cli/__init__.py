"""The ``archtune`` command line (Typer)."""

from archtune.cli._app import app, main

__all__ = ["app", "main"]
