"""Objectives for the population-based training tests; a module of its own so worker
processes can import them."""

from __future__ import annotations

import math
import time
from typing import Any

from archtune import CheckpointReporter, Decision


def ideal_lr(epoch: int) -> float:
    """The learning rate that gains most at ``epoch``: 0.1 for the first half, then 0.01."""
    return 0.1 if epoch <= 6 else 0.01


def schedule_matters(config: dict[str, Any], reporter: CheckpointReporter) -> dict[str, float]:
    """A "training" whose gain per epoch is largest when ``lr`` is the epoch's ideal: a fixed
    learning rate cannot be right for every epoch, a schedule can. Restores and checkpoints as
    a PBT member must."""
    state = reporter.restore() or {"epoch": 0, "score": 0.0}
    lr = float(config["lr"])
    for epoch in range(state["epoch"] + 1, int(config["epochs"]) + 1):
        time.sleep(float(config.get("delay", 0.0)))  # a slower "epoch" where a test needs one
        gain = 1.0 - abs(math.log10(lr) - math.log10(ideal_lr(epoch)))
        state = {"epoch": epoch, "score": state["score"] + gain}
        decision = reporter.report(epoch, score=state["score"])
        reporter.checkpoint(state)
        if decision is Decision.STOP:
            break
    return {"score": state["score"]}


def starts_over(config: dict[str, Any], reporter: CheckpointReporter) -> dict[str, float]:
    """Neither checkpoints nor restores (what PBT must refuse)."""
    score = 0.0
    for epoch in range(1, int(config["epochs"]) + 1):
        score += float(config["lr"])
        if reporter.report(epoch, score=score) is Decision.STOP:
            break
    return {"score": score}


def never_restores(config: dict[str, Any], reporter: CheckpointReporter) -> dict[str, float]:
    """Checkpoints but never restores: every segment starts again at epoch 1."""
    score = 0.0
    for epoch in range(1, int(config["epochs"]) + 1):
        score += float(config["lr"])
        decision = reporter.report(epoch, score=score)
        reporter.checkpoint({"epoch": epoch, "score": score})
        if decision is Decision.STOP:
            break
    return {"score": score}
