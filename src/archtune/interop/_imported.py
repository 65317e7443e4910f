"""What an import returns: the network description and the weights, framework-neutral."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from archtune.arch import Network, count_params

if TYPE_CHECKING:
    from archtune.backends.torch import NetworkModule

__all__ = ["ImportedModel"]


@dataclass(frozen=True, eq=False)
class ImportedModel:
    """A user's model as a network description plus its trained weights.

    The weights are NumPy arrays in PyTorch's layout, keyed by the names that
    :func:`archtune.backends.torch.build_module` gives the network's parameters and buffers,
    so :meth:`build_torch` (or ``build_module(network).load_state_dict(model.state_dict())``)
    gives a module that computes what the original computed. :meth:`save` writes them as a
    state dict for ``Recipe(weight_init="pretrained", pretrained_path=...)``.

    Attributes:
        network: The description (channels-last input, logits out).
        weights: ``{state-dict name: array}``, float32 (``num_batches_tracked``: int64).
        source: ``"keras"`` or ``"torch"``.
        input_permutation: The axes that turn a batch for the original model into one for
            the description (``(0, 2, 3, 1)`` for a PyTorch NCHW model), or ``None``.
        notes: Where the import is not exact, e.g. a normalisation epsilon that differs.

    Example:
        >>> imported = from_keras(model)          # doctest: +SKIP
        >>> imported.params, imported.network.head
        (93322, Head(units=10, activation='softmax'))
    """

    network: Network
    weights: Mapping[str, npt.NDArray[np.generic]]
    source: str
    input_permutation: tuple[int, ...] | None = None
    notes: tuple[str, ...] = ()

    @property
    def params(self) -> int:
        """The trainable parameters of the description (PyTorch's count)."""
        return count_params(self.network)

    def prepare_input(self, x: npt.ArrayLike) -> npt.NDArray[Any]:
        """Turn a batch for the original model into one for the description.

        Example:
            >>> imported.prepare_input(nchw_batch).shape     # doctest: +SKIP
            (8, 28, 28, 1)
        """
        array = np.asarray(x)
        if self.input_permutation is None:
            return array
        return np.ascontiguousarray(np.transpose(array, self.input_permutation))

    def state_dict(self) -> dict[str, Any]:
        """The weights as torch tensors (imports torch)."""
        from archtune._imports import require

        torch = require("torch", extra="torch", feature="ImportedModel.state_dict")
        return {name: torch.from_numpy(np.array(value)) for name, value in self.weights.items()}

    def build_torch(self) -> NetworkModule:
        """Build the description with :func:`~archtune.backends.torch.build_module` and load
        the imported weights; the module is in eval mode."""
        from archtune.backends.torch import build_module

        module = build_module(self.network)
        module.load_state_dict(self.state_dict(), strict=True)
        module.eval()
        return module

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the weights as a PyTorch state dict file and return its path.

        Use it as the starting point of a search:
        ``Recipe(weight_init="pretrained", pretrained_path=str(path))``.
        """
        from archtune._imports import require

        torch = require("torch", extra="torch", feature="ImportedModel.save")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.state_dict(), target)
        return target

    def __repr__(self) -> str:
        return (
            f"ImportedModel(source={self.source!r}, network={self.network.name!r}, "
            f"params={self.params}, layers={len(self.network.layers)}, notes={len(self.notes)})"
        )
