"""The torch thread count a training ran with, set again where a trial is trained again.

On a CPU, torch splits a matrix product or a convolution over its threads, and the order in
which the parts are summed depends on how many there are. The rounding differs in the last
bits, and over tens of epochs that difference grows into another model: the same network,
recipe and seed trained on one thread and on two end a few validation examples apart. A
study's workers train on one thread each (``LocalExecutor``; on Ray, one per CPU of the
trial), so whatever trains one of its trials again (an export) uses the count the trial was
trained with, recorded in the study (``archtune.threads``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["torch_threads", "training_threads"]


def training_threads() -> int | None:
    """Torch's thread count in this process; ``None`` where torch was never imported."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Train on ``count`` torch threads inside the block, then restore the count before.

    ``None`` (a study that did not record its count) leaves the count as it is.
    """
    if count is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
