"""The two consoles every command prints to: results on stdout, progress and logs on stderr."""

from __future__ import annotations

import sys

from rich.console import Console

__all__ = ["err", "out"]

# Wide enough for tables of trials when the output is a file or a pipe (CI logs).
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
