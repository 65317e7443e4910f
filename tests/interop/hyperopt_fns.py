"""Hyperopt ``fn`` functions for tests/interop/test_hyperopt.py (workers import them)."""

from __future__ import annotations

from typing import Any

from archtune import Decision
from archtune.interop.hyperopt import STATUS_FAIL, STATUS_OK, report


def nested_loss(point: dict[str, Any]) -> dict[str, Any]:
    """A loss over a conditional space: best with model 'mlp', units near 96, lr near 0.01."""
    import math

    model = point["model"]
    loss = (math.log10(point["lr"]) + 2) ** 2
    if model["kind"] == "mlp":
        loss += ((model["units"] - 96) / 64) ** 2
    else:
        loss += 0.5
    return {"loss": loss, "status": STATUS_OK, "units": model.get("units", 0)}


def fail_below(point: dict[str, Any]) -> Any:
    """``STATUS_FAIL`` for x < 0, a bare number otherwise."""
    if point["x"] < 0:
        return {"status": STATUS_FAIL, "failure": f"x={point['x']:.2f} is negative"}
    return (point["x"] - 0.5) ** 2


def reporting(point: dict[str, Any]) -> float:
    """Reports a falling loss for 9 epochs; stops when archtune says so."""
    loss = 1.0
    for epoch in range(1, 10):
        loss = (point["x"] - 0.3) ** 2 + 1.0 / epoch
        if report(epoch, loss=loss) is Decision.STOP:
            break
    return loss


def bad_status(point: dict[str, Any]) -> dict[str, Any]:
    """A result without Hyperopt's status."""
    return {"loss": 1.0}
