"""What a trial sees of the driver: the :class:`Reporter` and the :class:`Decision` it returns.

This module sits at the bottom of the package (it imports nothing else of archtune), so
training code in ``archtune.backends`` and a user's own objective can both speak it.

Checkpoints are an extension: :class:`CheckpointReporter` adds ``checkpoint``/``restore`` to
:class:`Reporter`, which stays as it was, so a reporter written before checkpoints existed
still passes ``isinstance(reporter, Reporter)``. Code that checkpoints asks
``isinstance(reporter, CheckpointReporter)`` first (see :func:`checkpoints_of`).
"""

from __future__ import annotations

import enum
import pickle
from collections.abc import MutableMapping
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "WARMUP_METRIC",
    "CheckpointReporter",
    "Decision",
    "NullReporter",
    "Reporter",
    "checkpoints_of",
]

WARMUP_METRIC = "warmup"
"""A reported metric: 1 while the trial's learning rate is still rising to its peak (a warm-up,
the first part of a one-cycle schedule), absent or 0 after. Early-stopping schedulers do not
judge a trial during its warm-up, and judge it at its first report after one that passed a
rung: its accuracy while the rate rises says little about where it will end. Built-in torch
training reports it; an objective of your own may."""


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


@runtime_checkable
class CheckpointReporter(Reporter, Protocol):
    """A :class:`Reporter` that also saves and restores the trial's state.

    The reporter archtune gives objectives (local and Ray workers) and :class:`NullReporter`
    are ones. A trial saves its state with :meth:`checkpoint` (say after each epoch) and, when
    it starts, asks :meth:`restore` whether an earlier attempt of the same trial left one: a
    trial whose worker died, or whose driver was stopped, runs again and continues from there.

    Example:
        >>> def train(config, reporter):
        ...     state = reporter.restore() or {"epoch": 0, "weights": 0.0}
        ...     for epoch in range(state["epoch"] + 1, config["epochs"] + 1):
        ...         state = {"epoch": epoch, "weights": state["weights"] + 1.0}
        ...         decision = reporter.report(epoch, score=state["weights"])
        ...         reporter.checkpoint(state)  # after the report
        ...         if decision is Decision.STOP:
        ...             break
        ...     return {"score": state["weights"]}
    """

    @property
    def keeps_checkpoints(self) -> bool:
        """Whether :meth:`checkpoint` keeps anything (``False``: no artifact store is set)."""
        ...

    def checkpoint(self, state: Any) -> None:
        """Save ``state`` (any picklable object) as this trial's latest checkpoint.

        Only the latest is kept. ``state`` is serialised during the call, so later changes to
        the objects in it do not reach the checkpoint (an implementation must copy or pickle
        it at once). Without an artifact store this does nothing (one warning per process
        names the setting).
        """
        ...

    def restore(self, *, from_trial: int | None = None) -> Any | None:
        """The state of the latest :meth:`checkpoint` of this trial, or of ``from_trial``.

        This trial's own state includes what an earlier attempt of it saved (a rerun after its
        worker died, or after the driver was stopped and resumed). ``from_trial=n`` reads
        trial ``n``'s latest checkpoint: what population-based training's exploit step uses
        to copy a stronger member. ``None`` when there is none, or no artifact store.
        """
        ...


def checkpoints_of(reporter: Reporter | None) -> CheckpointReporter | None:
    """``reporter`` when it keeps checkpoints, else ``None`` (no store, or an older reporter)."""
    if isinstance(reporter, CheckpointReporter) and reporter.keeps_checkpoints:
        return reporter
    return None


class NullReporter:
    """A reporter for running an objective outside a study: records reports, never stops.

    Checkpoints are kept in memory, pickled (so a later change to the saved objects does not
    change the checkpoint), in ``checkpoints``: pass one mapping to several reporters to let
    them read each other's with ``restore(from_trial=n)``.
    """

    def __init__(
        self,
        *,
        trial_number: int = 0,
        seed: int | None = None,
        checkpoints: MutableMapping[int, bytes] | None = None,
    ) -> None:
        self._trial_number = trial_number
        self._seed = seed
        self.history: list[tuple[int, dict[str, float]]] = []
        self.checkpoints: MutableMapping[int, bytes] = {} if checkpoints is None else checkpoints

    @property
    def trial_number(self) -> int:
        return self._trial_number

    @property
    def seed(self) -> int | None:
        return self._seed

    @property
    def should_stop(self) -> bool:
        return False

    @property
    def keeps_checkpoints(self) -> bool:
        return True

    def report(self, step: int, **metrics: float) -> Decision:
        self.history.append((step, dict(metrics)))
        return Decision.CONTINUE

    def checkpoint(self, state: Any) -> None:
        self.checkpoints[self._trial_number] = pickle.dumps(state, pickle.HIGHEST_PROTOCOL)

    def restore(self, *, from_trial: int | None = None) -> Any | None:
        blob = self.checkpoints.get(self._trial_number if from_trial is None else from_trial)
        return None if blob is None else pickle.loads(blob)
