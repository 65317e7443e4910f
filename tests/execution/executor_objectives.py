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
    ``raise`` raises ``ValueError``; ``kill`` SIGKILLs its own process; ``checkpoint``
    resumes from ``reporter.restore()``, reports ``score = step`` up to ``config["steps"]``
    and checkpoints ``{"step": step}`` after each, SIGKILLing its own process after the
    checkpoint of ``config["kill_at"]`` when it restored nothing; ``read`` returns the step of
    ``restore(from_trial=config["from_trial"])`` (-1: none).
    """
    mode = config["mode"]
    if mode == "checkpoint":
        state = reporter.restore()  # type: ignore[attr-defined]
        start = 0 if state is None else int(state["step"])
        for step in range(start + 1, int(config["steps"]) + 1):
            reporter.report(step, score=float(step))
            reporter.checkpoint({"step": step})  # type: ignore[attr-defined]
            if state is None and step == config.get("kill_at"):
                os.kill(os.getpid(), signal.SIGKILL)
        return {"score": float(config["steps"]), "resumed_from": float(start)}
    if mode == "read":
        found = reporter.restore(from_trial=int(config["from_trial"]))  # type: ignore[attr-defined]
        return {"score": -1.0 if found is None else float(found["step"])}
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
