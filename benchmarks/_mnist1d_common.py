"""What every runner of the mnist1d suites shares: the trial record, the launch rule (the
budget), a reporter, archtune's objective and space, one thread per trial (see
``benchmarks/_mnist1d.py`` for the suites)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archtune._reporter import Decision
from archtune.space import Space

#: Epochs of a trial that is never stopped.
MAX_EPOCHS = 40
#: The size axis's end, ``log10(params) / log10(P_REF)`` = 1: the largest network of the space
#: on mnist1d (depth 4, width 128, taper 2, kernel 7, no pooling, residual, batch norm, flatten
#: readout; the largest over every choice at the ends of the ranges, see the tests).
P_REF = 5_921_418
DATA = {"dataset": "mnist1d"}
MODEL = {"family": "cnn1d"}
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class TrialRecord:
    """One trained trial: its configuration, training seed and final numbers."""

    config: dict[str, Any]
    seed: int
    epochs: int
    val_accuracy: float | None
    params: int
    test_accuracy: float | None = None


@dataclass
class Budget:
    """The launch rule (see the module's docstring), for trials in one process."""

    total: int
    max_epochs: int
    finished: int = 0
    running: dict[object, int] = field(default_factory=dict)

    @property
    def used(self) -> int:
        return self.finished + sum(self.running.values())

    def decide(self) -> str:
        """``launch``, ``wait`` (a running trial may free budget) or ``done``."""
        if self.used >= self.total:
            return "done"
        if self.finished + self.max_epochs * (len(self.running) + 1) <= self.total:
            return "launch"
        return "wait" if self.running else "launch"


class EpochReporter:
    """archtune's ``Reporter``: calls ``on_epoch(step, metrics)``, which says whether to stop."""

    def __init__(
        self, number: int, seed: int, on_epoch: Callable[[int, Mapping[str, float]], bool]
    ) -> None:
        self._number, self._seed, self._on_epoch = number, seed, on_epoch
        self._stop = False

    @property
    def trial_number(self) -> int:
        return self._number

    @property
    def seed(self) -> int | None:
        return self._seed

    @property
    def should_stop(self) -> bool:
        return self._stop

    def report(self, step: int, **metrics: float) -> Decision:
        self._stop = self._on_epoch(step, metrics)
        return Decision.STOP if self._stop else Decision.CONTINUE


def setup(max_epochs: int) -> tuple[Any, Space]:
    """The objective and space archtune's built-in training makes (same for every method)."""
    from archtune.training import setup_training

    setup = setup_training(DATA, MODEL, {"epochs": max_epochs})
    return setup.objective, setup.space


def params_of(objective: Any, config: Mapping[str, Any]) -> int:
    return int(objective.precheck(config)["params"])


def one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def train_for(config: Mapping[str, Any], seed: int, epochs: int, max_epochs: int) -> TrialRecord:
    """Train ``config`` with ``seed`` for ``epochs`` epochs (its recipe spans ``max_epochs``)."""
    objective, _ = setup(max_epochs)
    reporter = EpochReporter(0, seed, lambda step, _: step >= epochs)
    metrics = objective(dict(config), reporter)
    return TrialRecord(
        dict(config),
        seed,
        int(metrics["epochs"]),
        float(metrics["val_accuracy"]),
        int(metrics["params"]),
        float(metrics["test_accuracy"]),
    )


@contextlib.contextmanager
def one_thread_env() -> Any:
    """Child processes start torch with one thread (as archtune's workers do)."""
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    old = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, "1"))
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
