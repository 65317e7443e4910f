"""Device choice and a dataset's tensors, materialised once on the device."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from archtune._errors import ConfigError
from archtune.data import Dataset, SplitName

__all__ = ["DeviceData", "deterministic", "module_device", "resolve_device", "to_device_data"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Return ``device``, or ``cuda`` when a GPU is available and ``cpu`` otherwise."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"device {device!r} was asked for but CUDA is not available; "
            "pass device=None to choose automatically or device='cpu'"
        )
    return dev


def module_device(module: torch.nn.Module) -> torch.device:
    """The device of the module's first parameter or buffer (``cpu`` when it has none)."""
    for p in module.parameters():
        return p.device
    for b in module.buffers():
        return b.device
    return torch.device("cpu")


@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Make cuDNN deterministic inside the block on CUDA; restore its flags afterwards."""
    if device.type != "cuda":
        yield
        return
    cudnn = torch.backends.cudnn
    old = (cudnn.deterministic, cudnn.benchmark)
    cudnn.deterministic, cudnn.benchmark = True, False
    try:
        yield
    finally:
        cudnn.deterministic, cudnn.benchmark = old


@dataclass(frozen=True)
class DeviceData:
    """A dataset's splits as tensors on one device.

    Regression targets are shaped like the module's output (``(n, 1)`` or ``(n,)``).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classification: bool


def _probe_output(module: torch.nn.Module, x: torch.Tensor) -> tuple[int, ...]:
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            out = module(x[:2])
    except Exception as exc:
        raise ConfigError(
            f"the module cannot take the dataset's inputs of shape (batch, "
            f"{', '.join(map(str, x.shape[1:]))}) (channels-last): {exc}"
        ) from exc
    finally:
        module.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise ConfigError(f"the module must return a tensor, got {type(out).__name__}")
    return tuple(out.shape[1:])


def to_device_data(module: torch.nn.Module, dataset: Dataset, device: torch.device) -> DeviceData:
    """Copy the dataset to ``device`` once and check the module's output shape against it."""
    if dataset.n_train == 0 or dataset.n_val == 0:
        raise ConfigError(
            f"dataset {dataset.name!r} must have non-empty train and val splits, got "
            f"n_train={dataset.n_train}, n_val={dataset.n_val}"
        )
    out_shape = _probe_output(module, torch.tensor(dataset.x_train[:2], device=device))
    classification = dataset.n_classes is not None
    if classification:
        if out_shape != (dataset.n_classes,):
            raise ConfigError(
                f"the module must return logits of shape (batch, {dataset.n_classes}) for "
                f"{dataset.name!r}, got (batch, {', '.join(map(str, out_shape))})"
            )
        target_shape: tuple[int, ...] | None = None
    else:
        k = dataset.n_outputs
        if out_shape == () and k == 1:
            target_shape = ()
        elif out_shape == (k,):
            target_shape = (k,)
        else:
            raise ConfigError(
                f"the module must return predictions of shape (batch, {k}) for "
                f"{dataset.name!r}, got (batch, {', '.join(map(str, out_shape))})"
            )

    def tensors(split: SplitName) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = dataset.split(split)
        xt = torch.tensor(x, device=device)
        yt = torch.tensor(y, device=device)
        if target_shape is not None:
            yt = yt.reshape(len(yt), *target_shape)
        return xt, yt

    x_train, y_train = tensors("train")
    x_val, y_val = tensors("val")
    x_test, y_test = tensors("test")
    return DeviceData(x_train, y_train, x_val, y_val, x_test, y_test, classification)
