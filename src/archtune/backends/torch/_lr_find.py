"""The learning-rate range test (Smith 2017; fastai's ``lr_find``): :func:`find_lr`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from archtune._errors import ConfigError
from archtune.backends.torch._device import (
    deterministic,
    module_device,
    resolve_device,
    to_device_data,
)
from archtune.backends.torch._init import apply_initialisation, seeded_rng
from archtune.backends.torch._optim import make_optimizer
from archtune.data import Dataset
from archtune.recipe import Recipe

__all__ = ["LRFinderResult", "find_lr", "suggest_lr"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LRFinderResult:
    """The curve of an LR range test and the rate it suggests.

    Attributes:
        lrs: The learning rate of each step taken.
        losses: The training loss of each step.
        smoothed_losses: The bias-corrected exponential moving average of ``losses``.
        suggested_lr: The suggested learning rate (see :func:`suggest_lr`).
        min_loss_lr: The rate where the smoothed loss was lowest.
        rule: ``"steepest"`` or, when too few points precede the minimum,
            ``"min/10"`` (``min_loss_lr / 10``).
        diverged: Whether the sweep stopped early because the loss diverged.
    """

    lrs: FloatArray
    losses: FloatArray
    smoothed_losses: FloatArray
    suggested_lr: float
    min_loss_lr: float
    rule: str
    diverged: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (arrays as lists; non-finite losses as ``None``)."""

        def clean(a: FloatArray) -> list[float | None]:
            return [float(v) if math.isfinite(v) else None for v in a]

        return {
            "lrs": clean(self.lrs),
            "losses": clean(self.losses),
            "smoothed_losses": clean(self.smoothed_losses),
            "suggested_lr": self.suggested_lr,
            "min_loss_lr": self.min_loss_lr,
            "rule": self.rule,
            "diverged": self.diverged,
        }


def suggest_lr(lrs: FloatArray, smoothed: FloatArray) -> tuple[float, float, str]:
    """Pick a learning rate from a range test's curve by the steepest-descent rule.

    The rule: take the points up to the lowest smoothed loss, drop the first tenth of the
    sweep (its losses barely move and are noisy), and return the rate where the smoothed loss
    falls fastest against ``log10(lr)`` (the most negative ``np.gradient``). That rate is still
    well below the one where the loss blows up. With fewer than three points before the
    minimum, it returns the minimum's rate divided by 10 instead.

    Returns:
        ``(suggested_lr, min_loss_lr, rule)``.
    """
    finite = np.isfinite(smoothed)
    if not finite.any():
        raise ValueError("the LR range test has no finite loss to suggest a rate from")
    masked = np.where(finite, smoothed, np.inf)
    i_min = int(np.argmin(masked))
    min_lr = float(lrs[i_min])
    start = len(lrs) // 10
    if i_min - start < 2:
        start = 0
    if i_min - start < 2:
        return min_lr / 10, min_lr, "min/10"
    seg_lr = np.log10(lrs[start : i_min + 1])
    grad = np.gradient(smoothed[start : i_min + 1], seg_lr)
    return float(lrs[start + int(np.argmin(grad))]), min_lr, "steepest"


def find_lr(
    module: torch.nn.Module,
    dataset: Dataset,
    recipe: Recipe,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    n_steps: int = 200,
    smoothing: float = 0.05,
    diverge_factor: float = 4.0,
    seed: int = 0,
    device: str | torch.device | None = None,
    pretrained_state: Mapping[str, torch.Tensor] | None = None,
) -> LRFinderResult:
    """Run the LR range test: train with a rate growing exponentially; read the loss curve.

    The module is initialised as the recipe says (as :func:`fit` would), then trained for up
    to ``n_steps`` mini-batches (the recipe's optimizer and batch size; ``gd``: full batch)
    while the rate goes from ``start_lr`` to ``end_lr`` geometrically. The loss is smoothed
    by a bias-corrected exponential moving average with weight ``smoothing`` on the newest
    loss. The sweep stops when the loss is not finite or the smoothed loss exceeds
    ``diverge_factor`` times its minimum. Afterwards the module's weights, buffers, device
    and train/eval mode are restored; the global RNG state is unchanged.

    Args:
        module: The network (channels-last inputs; logits or predictions out).
        dataset: Its training split is used.
        recipe: Initialisation, optimizer and batch size (its ``lr`` and schedule are not).
        start_lr: The first rate (> 0).
        end_lr: The last rate (> ``start_lr``).
        n_steps: Steps of the sweep (>= 5).
        smoothing: The moving average's weight of the newest loss, in (0, 1].
        diverge_factor: Stop when the smoothed loss exceeds this times its minimum (> 1).
        seed: Seeds initialisation and batch order.
        device: As in :func:`fit`.
        pretrained_state: For ``weight_init="pretrained"``.

    Returns:
        The :class:`LRFinderResult`; ``suggested_lr`` by the rule of :func:`suggest_lr`.
    """
    _check(start_lr, end_lr, n_steps, smoothing, diverge_factor)
    dev = resolve_device(device)
    old_device = module_device(module)
    was_training = module.training
    snapshot = {k: v.detach().clone() for k, v in module.state_dict().items()}
    lrs: list[float] = []
    losses: list[float] = []
    smoothed: list[float] = []
    diverged = False
    try:
        with seeded_rng(seed, dev), deterministic(dev):
            apply_initialisation(
                module, recipe, seed=seed, dataset=dataset, pretrained_state=pretrained_state
            )
            module.to(dev)
            data = to_device_data(module, dataset, dev)
            x, y = data.x_train, data.y_train
            n = len(x)
            bs = n if recipe.full_batch else min(recipe.batch_size, n)
            optimizer = make_optimizer(module, recipe)
            criterion: torch.nn.Module = (
                torch.nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
                if data.classification
                else torch.nn.MSELoss()
            )
            gen = torch.Generator(device=dev).manual_seed(seed)
            ratio = end_lr / start_lr
            avg = 0.0
            best = math.inf
            perm = torch.randperm(n, generator=gen, device=dev)
            pos = 0
            module.train()
            for i in range(n_steps):
                if pos >= n:
                    perm = torch.randperm(n, generator=gen, device=dev)
                    pos = 0
                idx = perm[pos : pos + bs]
                pos += bs
                lr = start_lr * ratio ** (i / (n_steps - 1))
                for group in optimizer.param_groups:
                    group["lr"] = lr
                optimizer.zero_grad(set_to_none=True)
                loss_t = criterion(module(x[idx]), y[idx])
                loss_t.backward()
                optimizer.step()
                loss = loss_t.item()
                lrs.append(lr)
                losses.append(loss)
                if not math.isfinite(loss):
                    smoothed.append(math.nan)
                    diverged = True
                    break
                avg = smoothing * loss + (1 - smoothing) * avg
                value = avg / (1 - (1 - smoothing) ** (i + 1))
                smoothed.append(value)
                best = min(best, value)
                if value > diverge_factor * best:
                    diverged = True
                    break
    finally:
        module.load_state_dict(snapshot)
        module.to(old_device)
        module.train(was_training)
    lr_arr = np.asarray(lrs, dtype=np.float64)
    smooth_arr = np.asarray(smoothed, dtype=np.float64)
    suggested, min_loss_lr, rule = suggest_lr(lr_arr, smooth_arr)
    return LRFinderResult(
        lrs=lr_arr,
        losses=np.asarray(losses, dtype=np.float64),
        smoothed_losses=smooth_arr,
        suggested_lr=suggested,
        min_loss_lr=min_loss_lr,
        rule=rule,
        diverged=diverged,
    )


def _check(
    start_lr: float, end_lr: float, n_steps: int, smoothing: float, diverge_factor: float
) -> None:
    def ok(v: object) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

    if not ok(start_lr) or start_lr <= 0:
        raise ConfigError(f"find_lr: start_lr must be a number > 0, got {start_lr!r}")
    if not ok(end_lr) or end_lr <= start_lr:
        raise ConfigError(f"find_lr: end_lr must be a number > start_lr, got {end_lr!r}")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 5:
        raise ConfigError(f"find_lr: n_steps must be an integer >= 5, got {n_steps!r}")
    if not ok(smoothing) or not 0 < smoothing <= 1:
        raise ConfigError(
            f"find_lr: smoothing must be a number with 0 < x <= 1, got {smoothing!r}"
        )
    if not ok(diverge_factor) or diverge_factor <= 1:
        raise ConfigError(f"find_lr: diverge_factor must be a number > 1, got {diverge_factor!r}")
