"""Evaluation and prediction of a PyTorch module on a dataset's split or on raw inputs."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from archtune.backends.torch._device import module_device, resolve_device, to_device_data
from archtune.data import Dataset, SplitName

__all__ = ["evaluate", "evaluate_tensors", "predict"]


def evaluate_tensors(
    module: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    classification: bool,
    prefix: str,
    batch_size: int = 1024,
    target_scale: float = 1.0,
) -> dict[str, float]:
    """Metrics of ``module`` on tensors already on its device (one sync at the end).

    Classification: ``<prefix>_loss`` (cross-entropy, no label smoothing) and
    ``<prefix>_accuracy``. Regression: ``<prefix>_loss`` (the MSE the model is trained on),
    ``<prefix>_mse`` and ``<prefix>_mae`` in the target's units (``target_scale`` undoes the
    standardisation). The module is in eval mode afterwards.
    """
    module.eval()
    n = len(x)
    if n == 0:
        return {}
    sums = torch.zeros(2, dtype=torch.float64, device=x.device)
    with torch.inference_mode():
        for i in range(0, n, batch_size):
            out = module(x[i : i + batch_size])
            yb = y[i : i + batch_size]
            if classification:
                sums[0] += F.cross_entropy(out, yb, reduction="sum")
                sums[1] += (out.argmax(dim=1) == yb).sum()
            else:
                diff = out.float() - yb
                sums[0] += diff.square().sum()
                sums[1] += diff.abs().sum()
    total, second = sums.tolist()
    if classification:
        return {f"{prefix}_loss": total / n, f"{prefix}_accuracy": second / n}
    count = y.numel()
    mse = total / count
    return {
        f"{prefix}_loss": mse,
        f"{prefix}_mse": mse * target_scale**2,
        f"{prefix}_mae": second / count * target_scale,
    }


def evaluate(
    module: torch.nn.Module,
    dataset: Dataset,
    *,
    split: SplitName = "test",
    batch_size: int = 1024,
    device: str | torch.device | None = None,
) -> dict[str, float]:
    """Evaluate ``module`` on a split of ``dataset`` (see :func:`evaluate_tensors`).

    The module runs where it is unless ``device`` is given (then it is moved there).

    Example:
        ``evaluate(model, ds, split="val")`` gives ``{"val_loss": ..., "val_accuracy": ...}``.
    """
    dev = module_device(module) if device is None else resolve_device(device)
    module.to(dev)
    data = to_device_data(module, dataset, dev)
    x, y = {
        "train": (data.x_train, data.y_train),
        "val": (data.x_val, data.y_val),
        "test": (data.x_test, data.y_test),
    }[split]
    return evaluate_tensors(
        module,
        x,
        y,
        classification=data.classification,
        prefix=split,
        batch_size=batch_size,
        target_scale=dataset.target_scale,
    )


def predict(
    module: torch.nn.Module,
    x: npt.ArrayLike | torch.Tensor,
    *,
    batch_size: int = 1024,
    device: str | torch.device | None = None,
) -> npt.NDArray[np.float32]:
    """Return the module's outputs (logits or predictions) for channels-last inputs ``x``.

    Inputs must be preprocessed like the training data (``Dataset.preprocess``). The module's
    train/eval mode is restored afterwards.
    """
    dev = module_device(module) if device is None else resolve_device(device)
    module.to(dev)
    if isinstance(x, torch.Tensor):
        xt = x.to(dev, torch.float32)
    else:
        xt = torch.tensor(np.asarray(x, dtype=np.float32), device=dev)
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            outs = [
                module(xt[i : i + batch_size]).float().cpu() for i in range(0, len(xt), batch_size)
            ]
    finally:
        module.train(was_training)
    if not outs:
        return np.zeros((0,), dtype=np.float32)
    return torch.cat(outs).numpy()
