"""What a trial sees of the driver: the :class:`Reporter` and the :class:`Decision` it returns.

This module sits at the bottom of the package (it imports nothing else of archtune), so
training code in ``archtune.backends`` and a user's own objective can both speak it.
"""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable

__all__ = ["Decision", "NullReporter", "Reporter"]


class Decision(enum.Enum):
    """The driver's answer to an intermediate report."""

    CONTINUE = "continue"
    STOP = "stop"


@runtime_checkable
class Reporter(Protocol):
    """Streams a trial's intermediate metrics to the driver.

    Example:
        >>> def train(config, reporter):
        ...     for epoch in range(config["epochs"]):
        ...         acc = 0.5 + epoch / 100
        ...         if reporter.report(epoch, val_accuracy=acc) is Decision.STOP:
        ...             break
        ...     return {"val_accuracy": acc}
    """

    @property
    def trial_number(self) -> int:
        """The Optuna trial number of the running trial."""
        ...

    @property
    def seed(self) -> int | None:
        """A seed for this trial, derived from the study's seed (``None`` when it has none)."""
        ...

    @property
    def should_stop(self) -> bool:
        """Whether the driver has asked this trial to stop."""
        ...

    def report(self, step: int, **metrics: float) -> Decision:
        """Send the metrics of ``step`` (an epoch, usually) and get the driver's decision."""
        ...


class NullReporter:
    """A reporter for running an objective outside a study: records reports, never stops."""

    def __init__(self, *, trial_number: int = 0, seed: int | None = None) -> None:
        self._trial_number = trial_number
        self._seed = seed
        self.history: list[tuple[int, dict[str, float]]] = []

    @property
    def trial_number(self) -> int:
        return self._trial_number

    @property
    def seed(self) -> int | None:
        return self._seed

    @property
    def should_stop(self) -> bool:
        return False

    def report(self, step: int, **metrics: float) -> Decision:
        self.history.append((step, dict(metrics)))
        return Decision.CONTINUE
