"""The learning rate of every step: :class:`LRSchedule`, framework-free.

Backends ask it for the learning rate of each step and tell it each epoch's validation loss
(for ``plateau``); the same numbers then drive PyTorch and Keras. ``piecewise`` also sets
momentum, weight decay and label smoothing per epoch (:meth:`LRSchedule.values_at_epoch`).
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from archtune.recipe._recipe import _MOMENTUM_OPTIMIZERS, PIECEWISE_VALUES, Recipe

__all__ = ["LRSchedule"]


class LRSchedule:
    """The per-step learning rate of a recipe: an optional linear warm-up, then its schedule.

    With ``W`` warm-up steps, step ``t < W`` uses ``lr0 * (t + 1) / (W + 1)``, where ``lr0``
    is the schedule's first rate, so the ramp is linear and ends at ``lr0`` on step ``W``.
    The schedule's clock ``u = t - W`` starts after the warm-up; ``U`` is the number of steps
    left. With ``lr`` the recipe's rate and ``spe`` the steps per epoch:

    - ``constant``: ``lr``.
    - ``step``: ``lr * step_gamma ** floor(u / (step_size * spe))``.
    - ``exponential``: ``lr * exp_gamma ** (u / spe)``.
    - ``cosine``: ``min_lr + (lr - min_lr) * (1 + cos(pi * u / U)) / 2``: ``min_lr`` at ``U``.
    - ``one_cycle``: cosine rise from ``lr / div_factor`` to ``lr`` over ``pct_start * U``
      steps, then cosine fall to ``lr / div_factor / final_div_factor`` at ``U``.
    - ``plateau``: ``max(min_lr, lr * plateau_factor ** k)`` after ``k`` reductions; a
      reduction happens when :meth:`end_epoch` saw ``plateau_patience`` epochs in a row whose
      validation loss did not improve on the best by more than ``plateau_threshold``
      (relative).
    - ``piecewise`` (no warm-up): every step of epoch ``floor(t / spe)`` uses the ``lr`` of
      the last point whose ``epoch`` is at most that epoch; :meth:`values_at_epoch` gives
      the momentum, weight decay and label smoothing of each epoch the same way.

    Steps past the end keep the last rate.

    Example:
        >>> s = LRSchedule(Recipe(lr=0.1, schedule="step", step_size=2), steps_per_epoch=10)
        >>> s.lr_at(19), s.lr_at(20)
        (0.1, 0.05)
    """

    def __init__(self, recipe: Recipe, *, steps_per_epoch: int, epochs: int | None = None) -> None:
        """Create the schedule.

        Args:
            recipe: The recipe whose ``lr``, ``schedule`` (``piecewise``: its points) and
                ``warmup_epochs`` it follows.
            steps_per_epoch: Optimizer steps per epoch (1 for full-batch ``gd``).
            epochs: The training length (default: ``recipe.epochs``).
        """
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        self.recipe = recipe
        self.steps_per_epoch = steps_per_epoch
        self.epochs = recipe.epochs if epochs is None else epochs
        self.total_steps = self.epochs * steps_per_epoch
        self.warmup_steps = min(round(recipe.warmup_epochs * steps_per_epoch), self.total_steps)
        self._main_steps = max(1, self.total_steps - self.warmup_steps)
        self._n_reductions = 0
        self._best = math.inf
        self._bad_epochs = 0
        fixed: dict[str, float] = {
            "weight_decay": recipe.weight_decay,
            "label_smoothing": recipe.label_smoothing,
        }
        if recipe.optimizer in _MOMENTUM_OPTIMIZERS:
            fixed["momentum"] = recipe.effective_momentum
        self._fixed = fixed  # the values besides lr of the schedules other than piecewise
        self._starts: list[int] = []  # the points' epochs
        self._values: list[dict[str, float]] = []  # every value from each point on
        for point in recipe.piecewise or ():
            fixed = {**fixed, **point.values()}
            self._starts.append(point.epoch)
            self._values.append({k: fixed[k] for k in PIECEWISE_VALUES if k in fixed})

    @property
    def is_constant(self) -> bool:
        """Whether every step has the same rate (constant schedule, no warm-up)."""
        return self.recipe.schedule == "constant" and self.warmup_steps == 0

    def lr_at(self, step: int) -> float:
        """The learning rate of global step ``step`` (0-based, counted over all epochs)."""
        w = self.warmup_steps
        if step < w:
            return self._main(0) * (step + 1) / (w + 1)
        return self._main(min(step - w, self._main_steps))

    def values_at_epoch(self, epoch: int) -> dict[str, float]:
        """The values that hold during ``epoch`` (0-based; later epochs keep the last ones).

        ``lr`` is the rate of the epoch's first step (every step's with ``piecewise``);
        ``weight_decay`` and ``label_smoothing``, and ``momentum`` for the optimizers that
        have one (``sgd``, ``momentum``, ``nesterov``, ``rmsprop``), are the recipe's own,
        or, with ``piecewise``, the last points' that set them.

        Example:
            >>> r = Recipe(optimizer="momentum", epochs=10, schedule="piecewise", piecewise=[
            ...     {"epoch": 0, "lr": 0.1}, {"epoch": 5, "lr": 0.01, "momentum": 0.5}])
            >>> LRSchedule(r, steps_per_epoch=3).values_at_epoch(5)
            {'lr': 0.01, 'momentum': 0.5, 'weight_decay': 0.0, 'label_smoothing': 0.0}
        """
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        if not self._starts:
            values = {**self._fixed, "lr": self.lr_at(epoch * self.steps_per_epoch)}
            return {k: values[k] for k in PIECEWISE_VALUES if k in values}
        return dict(self._values[bisect.bisect_right(self._starts, epoch) - 1])

    def epoch_lrs(self, epoch: int) -> list[float]:
        """The rates of the steps of ``epoch`` (0-based)."""
        start = epoch * self.steps_per_epoch
        return [self.lr_at(start + s) for s in range(self.steps_per_epoch)]

    def end_epoch(self, val_loss: float) -> None:
        """Tell the schedule an epoch's validation loss (only ``plateau`` uses it)."""
        r = self.recipe
        if r.schedule != "plateau":
            return
        if math.isfinite(val_loss) and val_loss < self._best * (1 - r.plateau_threshold):
            self._best = val_loss
            self._bad_epochs = 0
            return
        self._bad_epochs += 1
        if self._bad_epochs >= r.plateau_patience:
            self._n_reductions += 1
            self._bad_epochs = 0

    @property
    def n_reductions(self) -> int:
        """How often ``plateau`` has reduced the rate."""
        return self._n_reductions

    def state_dict(self) -> dict[str, Any]:
        """The plateau state, for checkpoints."""
        return {"n_reductions": self._n_reductions, "best": self._best, "bad": self._bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the state of :meth:`state_dict`."""
        self._n_reductions = int(state["n_reductions"])
        self._best = float(state["best"])
        self._bad_epochs = int(state["bad"])

    def _main(self, u: int) -> float:
        r = self.recipe
        lr = r.lr
        kind = r.schedule
        if kind == "constant":
            return lr
        if kind == "step":
            return lr * r.step_gamma ** (u // (r.step_size * self.steps_per_epoch))
        if kind == "exponential":
            return lr * math.pow(r.exp_gamma, u / self.steps_per_epoch)
        if kind == "cosine":
            return r.min_lr + (lr - r.min_lr) * (1 + math.cos(math.pi * u / self._main_steps)) / 2
        if kind == "one_cycle":
            start = lr / r.div_factor
            end = start / r.final_div_factor
            peak = r.pct_start * self._main_steps
            if u <= peak:
                return start + (lr - start) * (1 - math.cos(math.pi * u / peak)) / 2
            frac = (u - peak) / (self._main_steps - peak)
            return end + (lr - end) * (1 + math.cos(math.pi * frac)) / 2
        if kind == "plateau":
            return max(r.min_lr, lr * r.plateau_factor**self._n_reductions)
        if kind == "piecewise":
            epoch = u // self.steps_per_epoch
            return self._values[bisect.bisect_right(self._starts, epoch) - 1]["lr"]
        raise ValueError(f"unknown schedule {kind!r}")  # pragma: no cover - Recipe validates
