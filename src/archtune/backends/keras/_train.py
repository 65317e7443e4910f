"""Train a ``keras.Model`` with a :class:`Recipe`: :func:`fit`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from archtune._errors import ConfigError
from archtune._reporter import Reporter
from archtune.backends._distill import Distillation, teacher_log_probs
from archtune.backends._result import FitResult
from archtune.backends.keras._callback import ReporterCallback
from archtune.backends.keras._distill import DistillationLoss
from archtune.backends.keras._evaluate import evaluate_arrays, task_data
from archtune.backends.keras._init import apply_initialisation
from archtune.backends.keras._keras import import_keras
from archtune.backends.keras._optim import make_optimizer
from archtune.backends.keras._random import reset_seed_generators, seeded
from archtune.data import Dataset
from archtune.recipe import LRSchedule, Recipe

keras = import_keras()

__all__ = ["device_name", "fit"]


def device_name() -> str:
    """Where Keras computes: ``"cpu"``/``"cuda"`` on PyTorch, else ``"<backend>"``."""
    backend = str(keras.config.backend())
    if backend == "torch":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return backend


def _piecewise_start(recipe: Recipe) -> Recipe:
    """The recipe Keras trains with: ``piecewise``'s first momentum, weight decay and label
    smoothing in the recipe's own fields (the rate follows every point, step by step).

    Keras's optimizers and losses hold momentum, weight decay and label smoothing as
    constants of the compiled step (under JAX and TensorFlow), so only ``lr`` may change
    after epoch 0; a later point may repeat the first point's value of the others.

    Raises:
        ConfigError: A point after the first changes a value other than ``lr``.
    """
    if recipe.piecewise is None:
        return recipe
    for i, name in recipe.piecewise_changes():
        if name != "lr":
            raise ConfigError(
                f"recipe.piecewise[{i}].{name} changes {name} during training, which backend "
                "keras cannot (only lr may change after epoch 0); set it at epoch 0 only, or "
                "use backend torch"
            )
    first = recipe.piecewise[0].values()
    del first["lr"]
    return recipe.replace(**first) if first else recipe


def fit(
    model: Any,
    dataset: Dataset,
    recipe: Recipe,
    *,
    reporter: Reporter | None = None,
    seed: int = 0,
    pretrained_weights: Mapping[str, npt.ArrayLike] | None = None,
    eval_batch_size: int = 1024,
    keep_weights: bool = False,
    distill: Distillation | None = None,
) -> FitResult:
    """Initialise and train ``model`` on ``dataset`` as ``recipe`` says; report every epoch.

    The Keras counterpart of :func:`archtune.backends.torch.fit`, with the same metrics: the
    model returns logits (classification: cross-entropy with ``recipe.label_smoothing``) or
    predictions (regression: MSE). It is compiled with the recipe's optimizer and trained
    with ``model.fit`` and a :class:`ReporterCallback`, which sets every step's learning rate
    from :class:`archtune.recipe.LRSchedule`, raises :class:`archtune.DivergedError` on a
    NaN/inf loss, and calls ``reporter.report(epoch, train_loss=..., val_loss=...,
    val_accuracy=... | val_mse=..., val_mae=..., lr=...)`` after each epoch (``epoch`` from
    1), stopping on :attr:`Decision.STOP`. ``gd`` trains on the whole split, one step per
    epoch. ``piecewise`` sets each epoch's rate; its other values must hold for the whole
    run (:func:`_piecewise_start`). Everything is seeded from ``seed`` (initialisation,
    shuffling, dropout); the caller's Python, NumPy and PyTorch random states are kept.

    Args:
        model: The ``keras.Model`` to train, in place (compiled again by this call).
        dataset: The data (see :func:`archtune.data.load_dataset`).
        recipe: Initialisation, optimizer, schedule, batch size, epochs.
        reporter: Receives per-epoch metrics; ``None`` reports nothing.
        seed: The seed of everything random in training.
        pretrained_weights: ``{variable path: array}`` for ``weight_init="pretrained"``.
        eval_batch_size: Batch size of validation and test evaluation.
        keep_weights: Train the model's current weights as they are: the recipe's
            ``weight_init`` and ``bias_init`` are not applied (e.g. after
            ``KerasBackend.set_state`` loaded pruned weights).
        distill: Train on a teacher's soft targets too (classification only), with
            :class:`DistillationLoss`: the targets ``model.fit`` shuffles are the one-hot
            labels with the teacher's log-probabilities beside them, so each batch takes its
            samples' rows of ``distill.teacher_logits``.

    Returns:
        The :class:`~archtune.backends.FitResult`.

    Raises:
        DivergedError: The training loss became NaN or infinite (with the epoch and step).
        ConfigError: The model's output does not fit the dataset, a bad ``distill``,
            ``pretrained_weights`` with ``keep_weights=True``, or a ``piecewise`` point that
            changes a value other than ``lr``.
    """
    recipe = _piecewise_start(recipe)
    if keep_weights and pretrained_weights is not None:
        raise ConfigError(
            "fit: pass pretrained_weights (loaded by weight_init='pretrained') or "
            "keep_weights=True (the model's weights as they are), not both"
        )
    teacher = None if distill is None else teacher_log_probs(distill, dataset)
    with seeded(seed):
        if not keep_weights:
            apply_initialisation(
                model, recipe, seed=seed, dataset=dataset, pretrained_weights=pretrained_weights
            )
        reset_seed_generators(model, seed)
        data = task_data(model, dataset)
        n = dataset.n_train
        batch_size = n if recipe.full_batch else min(recipe.batch_size, n)
        steps_per_epoch = math.ceil(n / batch_size)
        eval_kwargs: dict[str, Any] = {
            "classification": data.classification,
            "batch_size": eval_batch_size,
            "target_scale": dataset.target_scale,
        }

        def validate() -> dict[str, float]:
            x, y = dataset.x_val, dataset.y_val
            return evaluate_arrays(model, x, y, prefix="val", **eval_kwargs)

        callback = ReporterCallback(
            LRSchedule(recipe, steps_per_epoch=steps_per_epoch),
            validate,
            reporter=reporter,
            epochs=recipe.epochs,
        )
        loss: Any
        targets: npt.NDArray[np.float32] = data.y_train
        if distill is not None and teacher is not None:
            loss = DistillationLoss(
                int(teacher.shape[1]),
                temperature=distill.temperature,
                alpha=distill.alpha,
                label_smoothing=recipe.label_smoothing,
            )
            targets = np.concatenate([data.y_train, teacher], axis=1)
        elif data.classification:
            loss = keras.losses.CategoricalCrossentropy(
                from_logits=True, label_smoothing=recipe.label_smoothing
            )
        else:
            loss = keras.losses.MeanSquaredError()
        model.compile(optimizer=make_optimizer(model, recipe), loss=loss)
        if reporter is not None and reporter.should_stop:
            callback.stopped_early = True
        else:
            model.fit(
                dataset.x_train,
                targets,
                batch_size=batch_size,
                epochs=recipe.epochs,
                shuffle=steps_per_epoch > 1,
                verbose=0,
                callbacks=[callback],
            )
    metrics = dict(callback.metrics)
    if dataset.n_test:
        metrics.update(
            evaluate_arrays(model, dataset.x_test, dataset.y_test, prefix="test", **eval_kwargs)
        )
    return FitResult(
        metrics=metrics,
        history=callback.history,
        epoch_times=callback.epoch_times,
        epochs_run=len(callback.history),
        stopped_early=callback.stopped_early,
        n_steps=callback.n_steps,
        device=device_name(),
    )
