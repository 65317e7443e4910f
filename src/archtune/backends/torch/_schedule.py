"""Drive a PyTorch optimizer's learning rate step by step from an :class:`LRSchedule`."""

from __future__ import annotations

from typing import Any

import torch

from archtune.recipe import LRSchedule, Recipe

__all__ = ["StepScheduler", "make_scheduler"]


class StepScheduler:
    """Sets the optimizer's learning rate before every step, from the recipe's schedule.

    Call :meth:`step` after each ``optimizer.step()`` and :meth:`end_epoch` after each
    epoch's validation (``plateau`` needs the loss). Creating it sets the rate of step 0.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: LRSchedule) -> None:
        """Wrap ``optimizer``; its learning rate follows ``schedule``."""
        self.optimizer = optimizer
        self.schedule = schedule
        self._groups = optimizer.param_groups
        self._constant = schedule.is_constant
        self._step = 0
        self._lr = schedule.lr_at(0)
        self._apply(self._lr)

    @property
    def lr(self) -> float:
        """The learning rate of the next step."""
        return self._lr

    @property
    def step_count(self) -> int:
        """How many steps were taken."""
        return self._step

    def _apply(self, lr: float) -> None:
        for group in self._groups:
            group["lr"] = lr

    def step(self) -> None:
        """Advance one step and set the next step's learning rate."""
        self._step += 1
        if not self._constant:
            self._lr = self.schedule.lr_at(self._step)
            for group in self._groups:
                group["lr"] = self._lr

    def end_epoch(self, val_loss: float) -> None:
        """Report an epoch's validation loss (``plateau`` may lower the rate)."""
        self.schedule.end_epoch(val_loss)
        if self.schedule.recipe.schedule == "plateau":
            self._lr = self.schedule.lr_at(self._step)
            self._apply(self._lr)

    def state_dict(self) -> dict[str, Any]:
        """The step counter and the schedule's state."""
        return {"step": self._step, "schedule": self.schedule.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` and set the learning rate accordingly."""
        self._step = int(state["step"])
        self.schedule.load_state_dict(state["schedule"])
        self._lr = self.schedule.lr_at(self._step)
        self._apply(self._lr)


def make_scheduler(
    optimizer: torch.optim.Optimizer,
    recipe: Recipe,
    *,
    steps_per_epoch: int,
    epochs: int | None = None,
) -> StepScheduler:
    """Create the per-step scheduler of ``recipe`` (warm-up and schedule) for ``optimizer``.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=1.0)
        >>> sched = make_scheduler(opt, Recipe(lr=0.1, warmup_epochs=1), steps_per_epoch=4)
        >>> round(opt.param_groups[0]["lr"], 3)
        0.02
    """
    return StepScheduler(
        optimizer, LRSchedule(recipe, steps_per_epoch=steps_per_epoch, epochs=epochs)
    )
