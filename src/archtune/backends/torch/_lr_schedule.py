"""Drive a PyTorch optimizer's learning rate step by step from an :class:`LRSchedule`."""

from __future__ import annotations

from typing import Any

import torch

from archtune.recipe import LRSchedule, Recipe

__all__ = ["StepLRScheduler", "make_lr_scheduler"]


class StepLRScheduler:
    """Sets the optimizer's learning rate before every step, from the recipe's schedule.

    Call :meth:`step` after each ``optimizer.step()`` and :meth:`end_epoch` after each
    epoch's validation (``plateau`` needs the loss). Creating it sets the rate of step 0.

    With ``schedule: piecewise`` it also sets, before each epoch's first step, the epoch's
    values of :meth:`LRSchedule.values_at_epoch`: ``momentum`` in every parameter group
    (for the optimizers that have one), ``weight_decay`` in the groups whose parameters all
    have two or more dimensions (:func:`~archtune.backends.torch.make_optimizer`'s decayed
    group; the others keep 0) and ``label_smoothing`` on ``criterion`` (a
    :class:`torch.nn.CrossEntropyLoss`). Creating it and :meth:`load_state_dict` set the
    values of the epoch they start in, so a resumed run trains with the same ones.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        schedule: LRSchedule,
        *,
        criterion: torch.nn.Module | None = None,
    ) -> None:
        """Wrap ``optimizer``; its learning rate (and ``criterion``'s smoothing) follow
        ``schedule``."""
        self.optimizer = optimizer
        self.schedule = schedule
        self.criterion = criterion
        self._constant = schedule.is_constant
        self._per_epoch = schedule.recipe.schedule == "piecewise"
        self._step = 0
        self._lr = schedule.lr_at(0)
        self._apply(self._lr)
        self._apply_epoch()

    @property
    def lr(self) -> float:
        """The learning rate of the next step."""
        return self._lr

    @property
    def step_count(self) -> int:
        """How many steps were taken."""
        return self._step

    @property
    def _groups(self) -> list[dict[str, Any]]:
        # Never kept: ``optimizer.load_state_dict`` (a resume) replaces the group dicts.
        return self.optimizer.param_groups

    def _apply(self, lr: float) -> None:
        for group in self._groups:
            group["lr"] = lr

    def _apply_epoch(self) -> None:
        """Set the momentum, weight decay and label smoothing of the next step's epoch."""
        if not self._per_epoch:
            return
        values = self.schedule.values_at_epoch(self._step // self.schedule.steps_per_epoch)
        momentum = values.get("momentum")
        for group in self._groups:
            params = group["params"]
            decays = all(p.ndim >= 2 for p in params)
            group["weight_decay"] = values["weight_decay"] if decays else 0.0
            if momentum is not None and "momentum" in group:
                group["momentum"] = momentum
                if momentum > 0 and isinstance(self.optimizer, torch.optim.RMSprop):
                    _momentum_buffers(self.optimizer, params)
        if isinstance(self.criterion, torch.nn.CrossEntropyLoss):
            self.criterion.label_smoothing = values["label_smoothing"]

    def step(self) -> None:
        """Advance one step and set the next step's learning rate."""
        self._step += 1
        if not self._constant:
            self._lr = self.schedule.lr_at(self._step)
            for group in self._groups:
                group["lr"] = self._lr
        if self._per_epoch and self._step % self.schedule.steps_per_epoch == 0:
            self._apply_epoch()

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
        """Restore :meth:`state_dict` and set the learning rate (and the epoch's values)."""
        self._step = int(state["step"])
        self.schedule.load_state_dict(state["schedule"])
        self._lr = self.schedule.lr_at(self._step)
        self._apply(self._lr)
        self._apply_epoch()


def _momentum_buffers(optimizer: torch.optim.Optimizer, params: list[torch.Tensor]) -> None:
    """Give RMSprop's started parameters a zero momentum buffer: RMSprop creates one only
    at a parameter's first step, and only when the momentum is positive then."""
    for p in params:
        state = optimizer.state.get(p)
        if state and "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)


def make_lr_scheduler(
    optimizer: torch.optim.Optimizer,
    recipe: Recipe,
    *,
    steps_per_epoch: int,
    epochs: int | None = None,
    criterion: torch.nn.Module | None = None,
) -> StepLRScheduler:
    """Create the per-step scheduler of ``recipe`` (warm-up and schedule) for ``optimizer``.

    ``criterion``: the training loss whose label smoothing ``piecewise`` sets per epoch.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=1.0)
        >>> sched = make_lr_scheduler(opt, Recipe(lr=0.1, warmup_epochs=1), steps_per_epoch=4)
        >>> round(opt.param_groups[0]["lr"], 3)
        0.02
    """
    return StepLRScheduler(
        optimizer,
        LRSchedule(recipe, steps_per_epoch=steps_per_epoch, epochs=epochs),
        criterion=criterion,
    )
