"""Objectives for the executor tests; a module of its own so workers (processes, Ray actors)
import them by name."""

from __future__ import annotations

import os
import signal
from typing import Any

from archtune import Decision, Reporter


def conformance(config: dict[str, Any], reporter: Reporter) -> dict[str, float] | None:
    """What :class:`archtune.testing.ExecutorConformance` runs; ``config["mode"]`` picks:

    ``metrics`` returns ``{"score": x}``; ``steps`` reports ``score = step`` for
    ``config["steps"]`` steps and returns ``None`` (the last reported metrics) on STOP;
    ``raise`` raises ``ValueError``; ``kill`` SIGKILLs its own process.
    """
    mode = config["mode"]
    if mode == "metrics":
        return {"score": float(config["x"]), "twice": 2.0 * float(config["x"])}
    if mode == "steps":
        for step in range(int(config["steps"])):
            if reporter.report(step, score=float(step)) is Decision.STOP:
                return None
        return {"score": -1.0}
    if mode == "raise":
        raise ValueError(f"bad value {config['x']}")
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise KeyError(f"unknown mode {mode!r}")


def quadratic(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """A smooth objective with its optimum at x = 0.3; reports two steps."""
    x = float(config["x"])
    for step in range(2):
        reporter.report(step, score=-((x - 0.3) ** 2) - 0.1 / (step + 1))
    return {"score": -((x - 0.3) ** 2)}
