"""Seeding Keras: the global random state for a block, and the model's dropout generators."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any

import numpy as np

from archtune.backends.keras._keras import import_keras

keras = import_keras()

__all__ = ["reset_seed_generators", "seeded"]


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed Keras's global random state (``keras.utils.set_random_seed``) inside the block.

    Python's and NumPy's global states, and PyTorch's on the torch backend, are restored
    afterwards; Keras's own global seed stays set.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    torch_state = None
    if keras.config.backend() == "torch":
        import torch

        torch_state = torch.random.get_rng_state()
    keras.utils.set_random_seed(int(seed))
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        if torch_state is not None:
            import torch

            torch.random.set_rng_state(torch_state)


def reset_seed_generators(model: Any, seed: int) -> None:
    """Restart every random generator of ``model`` (dropout, attention dropout) from ``seed``.

    Keras layers draw their dropout masks from ``SeedGenerator`` s created when the layer is;
    restarting them makes training with the same seed repeat exactly, whatever ran before.
    """
    states = [v for v in model.variables if v.name == "seed_generator_state"]
    draws = np.random.default_rng(seed).integers(1, 2**30, size=len(states))
    for variable, start in zip(states, draws, strict=True):
        variable.assign(np.array([int(start), 0], dtype=variable.dtype))
