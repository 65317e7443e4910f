"""Checkpoints of PyTorch modules: save, load, and read a state dict from either format."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from archtune._errors import ConfigError

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "read_state_dict", "save_checkpoint"]

CHECKPOINT_FORMAT = "archtune-torch-checkpoint/1"


def save_checkpoint(
    path: str | os.PathLike[str],
    module: torch.nn.Module,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    recipe: Mapping[str, Any] | None = None,
    epoch: int | None = None,
    metrics: Mapping[str, float] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically (a temporary file, then a rename).

    Args:
        path: The file to write; its directory is created.
        module: Its ``state_dict`` is saved.
        optimizer: Its state is saved too when given (to resume training).
        recipe: The recipe as a dict (``Recipe.to_dict()``), for the record.
        epoch: The number of epochs trained.
        metrics: The metrics at this point.
        extra: Any other JSON-like values (e.g. the LR schedule's state).

    Returns:
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "state_dict": {k: v.detach().cpu() for k, v in module.state_dict().items()},
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "recipe": None if recipe is None else dict(recipe),
        "epoch": epoch,
        "metrics": None if metrics is None else {k: float(v) for k, v in metrics.items()},
        "extra": None if extra is None else dict(extra),
    }
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _read(path: str | os.PathLike[str], map_location: str | torch.device) -> Any:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"checkpoint {str(p)!r} does not exist (or is not a file)")
    try:
        return torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise ConfigError(
            f"checkpoint {str(p)!r} cannot be read as a PyTorch checkpoint or state dict ({exc})"
        ) from exc


def load_checkpoint(
    path: str | os.PathLike[str],
    module: torch.nn.Module | None = None,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    map_location: str | torch.device = "cpu",
    strict: bool = True,
) -> dict[str, Any]:
    """Read a checkpoint of :func:`save_checkpoint`; load it into ``module``/``optimizer``.

    Only tensors and plain values are unpickled (``weights_only=True``).

    Returns:
        The checkpoint's content: ``state_dict``, ``optimizer``, ``recipe``, ``epoch``,
        ``metrics``, ``extra``.
    """
    payload = _read(path, map_location)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError(
            f"checkpoint {str(path)!r} is not an archtune checkpoint (format "
            f"{CHECKPOINT_FORMAT!r}); for a plain state dict use read_state_dict()"
        )
    if module is not None:
        module.load_state_dict(payload["state_dict"], strict=strict)
    if optimizer is not None:
        if payload["optimizer"] is None:
            raise ConfigError(f"checkpoint {str(path)!r} holds no optimizer state")
        optimizer.load_state_dict(payload["optimizer"])
    return dict(payload)


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Read a state dict from an archtune checkpoint or a file written by ``torch.save``."""
    payload = _read(path, "cpu")
    if isinstance(payload, dict) and payload.get("format") == CHECKPOINT_FORMAT:
        payload = payload["state_dict"]
    if not isinstance(payload, Mapping) or not all(
        isinstance(v, torch.Tensor) for v in payload.values()
    ):
        raise ConfigError(
            f"checkpoint {str(path)!r} must hold a state dict (names to tensors) or an "
            "archtune checkpoint; save one with torch.save(module.state_dict(), path)"
        )
    return dict(payload)
