"""What ``MODEL`` names: a network description and, when it comes with them, trained weights."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from archtune.arch import Network
from archtune.training._resolve import resolve_model

__all__ = ["Baseline", "resolve_baseline"]

Weights = Mapping[str, npt.NDArray[np.generic]]
Baseline = tuple[Network, Weights | None]


def resolve_baseline(
    model: str | Network | Any, *, input_shape: tuple[int, ...], n_outputs: int, head: str
) -> Baseline:
    """The baseline network for data of ``input_shape`` with ``n_outputs`` outputs.

    ``model`` is a built-in network (``cnn-32-64-64``), a family (its default configuration),
    a ``.keras`` file, ``module:function`` returning a Keras model or a PyTorch module, a
    :class:`~archtune.arch.Network`, or an :class:`~archtune.interop.ImportedModel` (see
    :func:`archtune.training.resolve_model`). Weights come with ``.keras`` files, functions
    and imported models.

    Raises:
        ConfigError: an unknown name, a model that cannot be imported, or one whose input or
            outputs do not fit the data.
    """
    resolved = resolve_model(
        model, input_shape=input_shape, n_outputs=n_outputs, head=head, what="shrink: model"
    )
    return resolved.network, resolved.weights
