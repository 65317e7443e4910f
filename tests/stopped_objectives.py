"""Objectives of the stopped-trial tests; a module of its own so worker processes import it."""

from __future__ import annotations

from typing import Any

from archtune import Decision, Reporter

PEAK_EPOCH = 3
EPOCHS = 9


def peaks_mid_training(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Accuracy that rises to ``x`` at epoch 3, then falls to ``0.4 x`` at epoch 9 (overfitting).

    A trial stopped at epoch 3 shows a value that no finished trial ends with.
    """
    x = config["x"]
    value = 0.0
    for epoch in range(1, EPOCHS + 1):
        if epoch <= PEAK_EPOCH:
            value = x * epoch / PEAK_EPOCH
        else:
            value = x * (1 - 0.6 * (epoch - PEAK_EPOCH) / (EPOCHS - PEAK_EPOCH))
        if reporter.report(epoch, score=value) is Decision.STOP:
            break
    return {"score": value}
