"""The Keras callback that drives a recipe's training: :class:`ReporterCallback`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from archtune._errors import DivergedError
from archtune._reporter import Decision, Reporter
from archtune.backends.keras._keras import import_keras
from archtune.recipe import LRSchedule

keras = import_keras()
Callback: Any = keras.callbacks.Callback

__all__ = ["ReporterCallback"]


class ReporterCallback(Callback):  # type: ignore[misc]
    """Sets each step's learning rate, watches the loss, evaluates, reports and stops.

    - Before every step the optimizer's rate becomes ``schedule.lr_at(step)`` (warm-up and
      schedule, as in the PyTorch backend); after each epoch the schedule is told the
      validation loss (``plateau``).
    - A NaN or infinite loss raises :class:`archtune.DivergedError` with the epoch and step.
    - After each epoch it calls ``reporter.report(epoch, train_loss=..., val_loss=...,
      val_accuracy=... | val_mse=..., val_mae=..., lr=...)`` with ``epoch`` counted from 1,
      and stops training when the answer is :attr:`Decision.STOP` (or when
      ``reporter.should_stop`` is true).

    Attributes:
        history: One dict per epoch: ``epoch``, the metrics and ``epoch_time``.
        epoch_times: Seconds per epoch (training and validation).
        n_steps: Optimizer steps taken.
        stopped_early: Whether the reporter stopped training before ``epochs``.
        metrics: The last epoch's metrics.
    """

    def __init__(
        self,
        schedule: LRSchedule,
        validate: Callable[[], dict[str, float]],
        *,
        reporter: Reporter | None = None,
        epochs: int,
    ) -> None:
        """Create the callback.

        Args:
            schedule: Gives each step's learning rate.
            validate: Returns the validation metrics (``val_loss`` first) of the model now.
            reporter: Receives each epoch's metrics; ``None`` reports nothing.
            epochs: The number of epochs the training runs.
        """
        super().__init__()
        self.schedule = schedule
        self.validate = validate
        self.reporter = reporter
        self.epochs = epochs
        self.history: list[dict[str, float]] = []
        self.epoch_times: list[float] = []
        self.metrics: dict[str, float] = {}
        self.n_steps = 0
        self.stopped_early = False
        self._lr: float | None = None
        self._start = 0.0
        self._epoch_steps = 0

    def _set_lr(self, lr: float) -> None:
        model = self.model
        if hasattr(model, "jax_state_sync"):  # JAX keeps variables in a state between syncs
            model.jax_state_sync()
        model.optimizer.learning_rate = lr
        self._lr = lr

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._start = time.perf_counter()
        self._epoch_steps = 0

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        lr = self.schedule.lr_at(self.n_steps)
        if lr != self._lr:
            self._set_lr(lr)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        # Keras logs the running mean of the epoch's losses: it turns non-finite at the
        # first non-finite step.
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            raise DivergedError(
                epoch=len(self.history) + 1,
                step=self._epoch_steps,
                loss=loss,
                lr=self.schedule.lr_at(self.n_steps),
            )
        self.n_steps += 1
        self._epoch_steps += 1

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        number = epoch + 1
        last_lr = self.schedule.lr_at(max(self.n_steps - 1, 0))
        val = self.validate()
        if not math.isfinite(val["val_loss"]):
            raise DivergedError(
                epoch=number, step=self._epoch_steps - 1, loss=val["val_loss"], lr=last_lr
            )
        self.schedule.end_epoch(val["val_loss"])
        train_loss = float((logs or {})["loss"])
        self.metrics = {"train_loss": train_loss, **val, "lr": last_lr}
        elapsed = time.perf_counter() - self._start
        self.epoch_times.append(elapsed)
        self.history.append({"epoch": float(number), **self.metrics, "epoch_time": elapsed})
        if self.reporter is None:
            return
        decision = self.reporter.report(number, **self.metrics)
        if (decision is Decision.STOP or self.reporter.should_stop) and number < self.epochs:
            self.stopped_early = True
            self.model.stop_training = True
