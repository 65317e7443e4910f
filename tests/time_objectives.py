"""Objectives of the time-limit and lease tests; a module of its own so workers import it."""

from __future__ import annotations

import time
from typing import Any

from archtune import Reporter


def hang_when_told(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Never returns when ``config["hang"]`` is true (a stuck data loader, a deadlock); else
    returns ``{"score": i}`` at once."""
    if config["hang"]:
        while True:
            time.sleep(1.0)
    return {"score": float(config["i"])}


def hang_at(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Never returns for ``i == 1``; quick for the others."""
    return hang_when_told({**config, "hang": config["i"] == 1}, reporter)
