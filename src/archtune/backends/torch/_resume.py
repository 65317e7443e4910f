"""Resumable training: the state of :func:`~archtune.backends.torch.fit` between epochs.

A checkpoint holds everything the next epoch depends on: the weights and buffers, the
optimizer's state, the LR schedule's position (its step and the plateau state), the epochs
trained with their metrics and times, and every random stream (torch's, CUDA's, the shuffling
generator's, and NumPy's and Python's for code around the loop). Restored into a freshly built
module and optimizer, training continues exactly as if it had never stopped: same seed, same
machine, same numbers.

:class:`CheckpointSaver` writes it through the reporter (``reporter.checkpoint``) after each
epoch's report, as long as the writes so far cost at most :data:`CHECKPOINT_SHARE` of the
training time (and always after the last epoch), and reads it back at the start.
"""

from __future__ import annotations

import random
import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from archtune._errors import CheckpointWarning
from archtune._reporter import CheckpointReporter
from archtune.backends.torch._lr_schedule import StepLRScheduler
from archtune.recipe import PIECEWISE_VALUES

__all__ = ["CHECKPOINT_SHARE", "TRAIN_STATE_FORMAT", "CheckpointSaver", "Progress"]

TRAIN_STATE_FORMAT = "archtune-torch-train/1"
CHECKPOINT_SHARE = 0.02
"""The most of the training time that checkpoints may take: an epoch's checkpoint is skipped
while the writes so far took longer than this share of the epochs so far."""


class Progress:
    """What the training loop has done so far (restored from a checkpoint, or empty)."""

    def __init__(self) -> None:
        self.epoch = 0
        self.metrics: dict[str, float] = {}
        self.history: list[dict[str, float]] = []
        self.epoch_times: list[float] = []
        self.stopped = False


class CheckpointSaver:
    """Saves and restores one training run's state through a :class:`CheckpointReporter`.

    Args:
        reporter: Where checkpoints go (``reporter.checkpoint``/``reporter.restore``).
        module, optimizer, scheduler, generator: The training run's live objects.
        recipe: The recipe as a dict; a checkpoint of another recipe is not restored, except
            one that differs only in the values that may change while a network trains
            (:data:`~archtune.recipe.PIECEWISE_VALUES`): training goes on with the new ones
            (population-based training's explore step).
        device: The training device (its RNG is saved on CUDA).
    """

    def __init__(
        self,
        reporter: CheckpointReporter,
        *,
        module: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: StepLRScheduler,
        generator: torch.Generator,
        recipe: Mapping[str, Any],
        device: torch.device,
    ) -> None:
        self.reporter = reporter
        self.module = module
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.generator = generator
        self.recipe = dict(recipe)
        self.device = device
        self.train_s = 0.0
        self.write_s = 0.0
        self.n_written = 0

    # -- restore ------------------------------------------------------------------------------
    def restore(self) -> Progress:
        """Load the latest checkpoint of this trial, if any, and return the progress it holds.

        A checkpoint of another format or recipe is ignored with a :class:`CheckpointWarning`
        (training starts over).
        """
        progress = Progress()
        state = self.reporter.restore()
        if state is None:
            return progress
        if not isinstance(state, Mapping) or state.get("format") != TRAIN_STATE_FORMAT:
            _ignore("it is not a checkpoint of archtune's torch training")
            return progress
        saved = state.get("recipe")
        if not isinstance(saved, Mapping) or _fixed(saved) != _fixed(self.recipe):
            _ignore("it was saved with another recipe")
            return progress
        self.module.load_state_dict(_to_torch(state["model"]))
        self.optimizer.load_state_dict(_to_torch(state["optimizer"]))
        if saved != self.recipe:  # new values from here on (population-based training)
            _set_values(self.optimizer, self.recipe)
        self.scheduler.load_state_dict(state["scheduler"])
        rng = _to_torch(state["rng"])
        self.generator.set_state(rng["generator"])
        torch.set_rng_state(rng["torch"])
        if self.device.type == "cuda" and rng.get("cuda") is not None:
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
        progress.epoch = int(state["epoch"])
        progress.metrics = dict(state["metrics"])
        progress.history = [dict(row) for row in state["history"]]
        progress.epoch_times = list(state["epoch_times"])
        progress.stopped = bool(state.get("stopped", False))
        return progress

    # -- save ---------------------------------------------------------------------------------
    def epoch_done(self, seconds: float, progress: Progress, *, last: bool) -> None:
        """After an epoch's report: save it if the time budget allows (always when ``last``)."""
        self.train_s += seconds
        if not last and self.write_s > CHECKPOINT_SHARE * self.train_s:
            return
        start = time.perf_counter()
        self.reporter.checkpoint(self.state(progress))
        self.write_s += time.perf_counter() - start
        self.n_written += 1

    def state(self, progress: Progress) -> dict[str, Any]:
        """The checkpoint's content: plain values, and tensors as NumPy arrays.

        NumPy arrays pickle about ten times faster than tensors (a tensor's pickle goes
        through ``torch.save``); the arrays share the tensors' memory, so the reporter must
        serialise the state during ``checkpoint`` (archtune's reporters pickle it at once).
        Tensors of a type NumPy lacks (bfloat16) stay tensors.
        """
        cuda = self.device.type == "cuda"
        return {
            "format": TRAIN_STATE_FORMAT,
            "recipe": self.recipe,
            "epoch": progress.epoch,
            "stopped": progress.stopped,
            "metrics": dict(progress.metrics),
            "history": [dict(row) for row in progress.history],
            "epoch_times": list(progress.epoch_times),
            "model": _to_numpy(self.module.state_dict()),
            "optimizer": _to_numpy(self.optimizer.state_dict()),
            "scheduler": self.scheduler.state_dict(),
            "rng": {
                "torch": _to_numpy(torch.get_rng_state()),
                "cuda": _to_numpy(torch.cuda.get_rng_state(self.device)) if cuda else None,
                "generator": _to_numpy(self.generator.get_state()),
                "numpy": np.random.get_state(),
                "python": random.getstate(),
            },
        }


def _fixed(recipe: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe without the values that may change while a network trains."""
    return {k: v for k, v in recipe.items() if k not in PIECEWISE_VALUES}


def _set_values(optimizer: torch.optim.Optimizer, recipe: Mapping[str, Any]) -> None:
    """Give a restored optimizer the recipe's momentum and weight decay (the learning rate
    and label smoothing follow from the schedule and the loss, built from the recipe).

    Weight decay goes to the groups whose parameters all have two or more dimensions, as
    :func:`~archtune.backends.torch.make_optimizer` sets it.
    """
    for group in optimizer.param_groups:
        if all(p.ndim >= 2 for p in group["params"]) and "weight_decay" in group:
            group["weight_decay"] = float(recipe.get("weight_decay") or 0.0)
        if "momentum" in group and recipe.get("momentum") is not None:
            group["momentum"] = float(recipe["momentum"])


class _Array:
    """A tensor saved as a NumPy array (so that restoring knows to make a tensor again)."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray[Any, Any]) -> None:
        self.array = array

    def __getstate__(self) -> np.ndarray[Any, Any]:
        return self.array

    def __setstate__(self, array: np.ndarray[Any, Any]) -> None:
        self.array = array


def _to_numpy(value: Any) -> Any:
    """Tensors as :class:`_Array` on the CPU (no copy for CPU tensors), containers rebuilt."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        try:
            return _Array(tensor.numpy())
        except TypeError:  # a dtype NumPy lacks (bfloat16): pickled as a tensor
            return tensor
    if isinstance(value, Mapping):
        return {k: _to_numpy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_numpy(v) for v in value)
    return value


def _to_torch(value: Any) -> Any:
    """The inverse of :func:`_to_numpy`: each :class:`_Array` becomes a CPU tensor again."""
    if isinstance(value, _Array):
        return torch.from_numpy(value.array)
    if isinstance(value, Mapping):
        return {k: _to_torch(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_torch(v) for v in value)
    return value


def _ignore(why: str) -> None:
    warnings.warn(
        f"the trial's checkpoint is not restored: {why}; training starts over",
        CheckpointWarning,
        stacklevel=3,
    )
