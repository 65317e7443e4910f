"""Train a PyTorch module with a :class:`Recipe`: :func:`fit` and its :class:`FitResult`."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F

from archtune._errors import ConfigError
from archtune._reporter import WARMUP_METRIC, Decision, Reporter, checkpoints_of
from archtune.backends._distill import Distillation, teacher_log_probs
from archtune.backends._result import FitResult
from archtune.backends.torch._checkpoint import save_checkpoint
from archtune.backends.torch._device import (
    DeviceData,
    deterministic,
    resolve_device,
    to_device_data,
)
from archtune.backends.torch._evaluate import evaluate_tensors
from archtune.backends.torch._init import apply_initialisation, seeded_rng
from archtune.backends.torch._lr_schedule import make_lr_scheduler
from archtune.backends.torch._optim import make_optimizer
from archtune.backends.torch._resume import CheckpointSaver, Progress
from archtune.data import Dataset
from archtune.recipe import DivergedError, Recipe

__all__ = ["FitResult", "fit"]


def fit(
    module: torch.nn.Module,
    dataset: Dataset,
    recipe: Recipe,
    *,
    reporter: Reporter | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    checkpoint_path: str | os.PathLike[str] | None = None,
    pretrained_state: Mapping[str, torch.Tensor] | None = None,
    eval_batch_size: int = 1024,
    keep_weights: bool = False,
    distill: Distillation | None = None,
    resumable: bool = False,
) -> FitResult:
    """Initialise and train ``module`` on ``dataset`` as ``recipe`` says; report every epoch.

    The module takes channels-last float inputs and returns logits (classification, trained
    with cross-entropy and ``recipe.label_smoothing``) or predictions (regression, MSE).
    ``schedule: piecewise`` sets each epoch's rate, momentum, weight decay and label
    smoothing from its points (:class:`~archtune.backends.torch.StepLRScheduler`).
    Everything is seeded from ``seed`` (initialisation, shuffling, dropout), so the same call
    gives the same numbers on the same machine; the caller's global RNG state is kept. The
    data are copied to the device once; each epoch shuffles them with a seeded generator and
    takes contiguous batches (``gd``: the whole split, one step per epoch).

    After each epoch it calls ``reporter.report(epoch, train_loss=..., val_loss=...,
    val_accuracy=... | val_mse=..., val_mae=..., lr=...)`` with ``epoch`` counted from 1 (the
    epochs trained so far) and stops when the answer is :attr:`Decision.STOP` (or when
    ``reporter.should_stop`` is already true before an epoch). The module is left in eval mode
    on the training device.

    Args:
        module: The network to train, in place.
        dataset: The data (see :func:`archtune.data.load_dataset`).
        recipe: Initialisation, optimizer, schedule, batch size, epochs.
        reporter: Receives per-epoch metrics; ``None`` reports nothing.
        seed: The seed of everything random in training.
        device: ``"cpu"``, ``"cuda"``, ... (default: ``cuda`` when available, else ``cpu``).
        checkpoint_path: When given, a checkpoint (weights, optimizer, recipe, metrics) is
            written there at the end.
        pretrained_state: The baseline's state dict for ``weight_init="pretrained"``.
        eval_batch_size: Batch size of validation and test evaluation.
        keep_weights: Train the module's current weights as they are: the recipe's
            ``weight_init`` and ``bias_init`` are not applied (e.g. after
            ``TorchBackend.set_state`` loaded pruned weights).
        distill: Train on a teacher's soft targets too (classification only):
            ``alpha * T**2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) *
            cross_entropy`` (the recipe's label smoothing on the cross-entropy); each shuffled
            batch takes its samples' rows of ``distill.teacher_logits``.
        resumable: Checkpoint through the reporter when it keeps checkpoints
            (:class:`~archtune.CheckpointReporter` with an artifact store): after each epoch's
            report, the weights, optimizer, LR schedule, epochs and metrics so far and every
            random stream (torch, CUDA, the shuffling generator, NumPy, Python) are saved
            with ``reporter.checkpoint`` (see :mod:`archtune.backends.torch._resume`: an
            epoch is skipped while checkpoints took more than 2 % of the training time; the
            last epoch is always saved); and at the start a state from ``reporter.restore()``
            is loaded, so a rerun of the trial continues from there, reporting only the later
            epochs, and ends with the same weights and metrics as a run never interrupted
            (same seed and machine). NumPy's and Python's global random states are set to the
            checkpoint's on restore. The returned history covers every epoch, the restored
            ones included.

    Returns:
        The :class:`FitResult`.

    Raises:
        DivergedError: The training loss became NaN or infinite (with the epoch and step).
        ConfigError: The module's output does not fit the dataset, the device is missing, a
            bad ``distill``, or ``pretrained_state`` with ``keep_weights=True``.
    """
    if keep_weights and pretrained_state is not None:
        raise ConfigError(
            "fit: pass pretrained_state (loaded by weight_init='pretrained') or "
            "keep_weights=True (the module's weights as they are), not both"
        )
    teacher = None if distill is None else teacher_log_probs(distill, dataset)
    dev = resolve_device(device)
    with seeded_rng(seed, dev), deterministic(dev):
        if not keep_weights:
            apply_initialisation(
                module, recipe, seed=seed, dataset=dataset, pretrained_state=pretrained_state
            )
        module.to(dev)
        data = to_device_data(module, dataset, dev)
        soft = None
        if distill is not None and teacher is not None:
            soft = _Soft(torch.as_tensor(teacher, device=dev), distill.temperature, distill.alpha)
        result = _train(
            module, dataset, data, recipe, reporter, seed, dev, eval_batch_size, soft, resumable
        )
        if checkpoint_path is not None:
            save_checkpoint(
                checkpoint_path,
                module,
                optimizer=result[1],
                recipe=recipe.to_dict(),
                epoch=result[0].epochs_run,
                metrics=result[0].metrics,
            )
    return result[0]


class _Soft:
    """The distillation term: the teacher's log-probabilities at ``temperature``, on the
    device, and the loss that mixes them with the hard targets' ``criterion``."""

    def __init__(self, log_probs: torch.Tensor, temperature: float, alpha: float) -> None:
        self.log_probs = log_probs
        self.temperature = float(temperature)
        self.alpha = float(alpha)

    def loss(
        self,
        criterion: torch.nn.Module,
        out: torch.Tensor,
        labels: torch.Tensor,
        teacher: torch.Tensor,
    ) -> torch.Tensor:
        """``alpha * T**2 * KL(teacher || student) + (1 - alpha) * criterion``; a term whose
        weight is 0 is left out (``alpha=0`` is exactly the undistilled loss)."""
        t, a = self.temperature, self.alpha
        terms: list[torch.Tensor] = []
        if a > 0:
            student = F.log_softmax(out.float() / t, dim=1)
            kl = F.kl_div(student, teacher, reduction="batchmean", log_target=True)
            terms.append(a * t * t * kl)
        if a < 1:
            hard: torch.Tensor = criterion(out, labels)
            terms.append(hard if a == 0 else (1.0 - a) * hard)
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def _train(
    module: torch.nn.Module,
    dataset: Dataset,
    data: DeviceData,
    recipe: Recipe,
    reporter: Reporter | None,
    seed: int,
    dev: torch.device,
    eval_batch_size: int,
    soft: _Soft | None = None,
    resumable: bool = False,
) -> tuple[FitResult, torch.optim.Optimizer]:
    x, y = data.x_train, data.y_train
    n = len(x)
    bs = n if recipe.full_batch else min(recipe.batch_size, n)
    spe = math.ceil(n / bs)
    weights = torch.full((spe,), float(bs), device=dev)
    weights[-1] = n - bs * (spe - 1)
    weights /= n

    optimizer = make_optimizer(module, recipe)
    criterion: torch.nn.Module
    if data.classification:
        criterion = torch.nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    else:
        criterion = torch.nn.MSELoss()
    # piecewise: the scheduler also sets each epoch's momentum, weight decay and smoothing
    scheduler = make_lr_scheduler(optimizer, recipe, steps_per_epoch=spe, criterion=criterion)
    params = [p for p in module.parameters() if p.requires_grad]
    clip = recipe.grad_clip_norm
    gen = torch.Generator(device=dev).manual_seed(seed)
    val_kwargs: dict[str, Any] = {
        "classification": data.classification,
        "batch_size": eval_batch_size,
        "target_scale": dataset.target_scale,
    }

    keeper = checkpoints_of(reporter) if resumable else None
    saver = None
    progress = Progress()
    if keeper is not None:
        saver = CheckpointSaver(
            keeper,
            module=module,
            optimizer=optimizer,
            scheduler=scheduler,
            generator=gen,
            recipe=recipe.to_dict(),
            device=dev,
        )
        progress = saver.restore()
    history, epoch_times = progress.history, progress.epoch_times
    metrics: dict[str, float] = progress.metrics
    # A population-based training member's next segment goes on from its paused checkpoint.
    stopped = progress.stopped and not getattr(keeper, "resumes_paused", False)
    first_epoch = recipe.epochs + 1 if stopped else progress.epoch + 1
    for epoch in range(first_epoch, recipe.epochs + 1):
        if reporter is not None and reporter.should_stop:
            stopped = True
            break
        start = time.perf_counter()
        module.train()
        teacher = None if soft is None else soft.log_probs
        if spe > 1:
            perm = torch.randperm(n, generator=gen, device=dev)
            xs, ys = x.index_select(0, perm), y.index_select(0, perm)
            if teacher is not None:
                teacher = teacher.index_select(0, perm)
        else:
            xs, ys = x, y
        losses: list[torch.Tensor] = []
        for i in range(0, n, bs):
            optimizer.zero_grad(set_to_none=True)
            out = module(xs[i : i + bs])
            if soft is None or teacher is None:
                loss = criterion(out, ys[i : i + bs])
            else:
                loss = soft.loss(criterion, out, ys[i : i + bs], teacher[i : i + bs])
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(params, clip)
            optimizer.step()
            scheduler.step()
            losses.append(loss.detach())
        step_losses = torch.stack(losses)
        train_loss = float((step_losses * weights).sum())
        last_lr = scheduler.schedule.lr_at(scheduler.step_count - 1)
        if not math.isfinite(train_loss):
            bad = int((~torch.isfinite(step_losses)).nonzero()[0, 0])
            raise DivergedError(
                epoch=epoch,
                step=bad,
                loss=float(step_losses[bad]),
                lr=scheduler.schedule.lr_at((epoch - 1) * spe + bad),
            )
        val = evaluate_tensors(module, data.x_val, data.y_val, prefix="val", **val_kwargs)
        if not math.isfinite(val["val_loss"]):
            raise DivergedError(epoch=epoch, step=spe - 1, loss=val["val_loss"], lr=last_lr)
        scheduler.end_epoch(val["val_loss"])
        metrics = {"train_loss": train_loss, **val, "lr": last_lr}
        elapsed = time.perf_counter() - start
        epoch_times.append(elapsed)
        history.append({"epoch": float(epoch), **metrics, "epoch_time": elapsed})
        # While the rate still rises (warm-up, one-cycle's first part) schedulers do not judge.
        rising = scheduler.schedule.lr_at(scheduler.step_count) > last_lr * (1 + 1e-9)
        warmup = {WARMUP_METRIC: 1.0} if rising else {}
        decision = None if reporter is None else reporter.report(epoch, **metrics, **warmup)
        stop = decision is Decision.STOP
        if stop:
            stopped = epoch < recipe.epochs
        if saver is not None:
            progress.epoch, progress.metrics, progress.stopped = epoch, metrics, stopped
            saver.epoch_done(elapsed, progress, last=stop or epoch == recipe.epochs)
        if stop:
            break

    if len(data.x_test):
        metrics.update(
            evaluate_tensors(module, data.x_test, data.y_test, prefix="test", **val_kwargs)
        )
    module.eval()
    result = FitResult(
        metrics=metrics,
        history=history,
        epoch_times=epoch_times,
        epochs_run=len(history),
        stopped_early=stopped,
        n_steps=scheduler.step_count,
        device=str(dev),
    )
    return result, optimizer
