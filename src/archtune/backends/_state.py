"""Checks shared by the backends' ``set_state`` (framework-free)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from archtune._errors import ConfigError

__all__ = ["checked_state"]

_SHOWN = 6


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _SHOWN else "")


def checked_state(
    where: str,
    shapes: Mapping[str, tuple[int, ...]],
    state: Mapping[str, Any],
    *,
    strict: bool,
) -> dict[str, npt.NDArray[Any]]:
    """``state``'s entries as arrays, after checking them against the model's ``shapes``.

    Args:
        where: The method, for messages (``"TorchBackend.set_state"``).
        shapes: The model's entries: ``{name: shape}``.
        state: The entries to load.
        strict: Every entry of ``shapes`` must be given.

    Raises:
        ConfigError: An unknown name, a shape mismatch (both shapes named) or, when
            ``strict``, a missing entry. The message is one line.
    """
    if not isinstance(state, Mapping):
        raise ConfigError(
            f"{where}: state must be a mapping of entry name to array, got {type(state).__name__}"
        )
    arrays: dict[str, npt.NDArray[Any]] = {}
    for name, value in state.items():
        if name not in shapes:
            raise ConfigError(
                f"{where}: the model has no entry {name!r} (its entries: {_names(list(shapes))})"
            )
        detach = getattr(value, "detach", None)  # a torch tensor: also on a GPU, with grad
        array = np.asarray(detach().cpu().numpy() if callable(detach) else value)
        if tuple(array.shape) != tuple(shapes[name]):
            raise ConfigError(
                f"{where}: entry {name!r} must have shape {tuple(shapes[name])}, got "
                f"{tuple(array.shape)}"
            )
        arrays[name] = array
    if strict:
        missing = [name for name in shapes if name not in arrays]
        if missing:
            raise ConfigError(
                f"{where}: strict=True needs every entry of the model, missing "
                f"{_names(missing)}; pass strict=False to load a part"
            )
    return arrays
