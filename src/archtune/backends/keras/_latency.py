"""Inference latency of a ``keras.Model``, in milliseconds per sample."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from archtune._errors import ConfigError
from archtune.backends.keras._evaluate import input_dtype

__all__ = ["measure_latency"]


def measure_latency(
    model: Any,
    input_shape: Sequence[int],
    *,
    batch_sizes: Sequence[int] = (1, 64),
    n_warmup: int = 3,
    n_repeats: int = 10,
    seed: int = 0,
) -> dict[int, float]:
    """Measure ``model.predict_on_batch``'s latency in milliseconds per sample, per batch size.

    Each batch size runs ``n_warmup`` untimed calls, then ``n_repeats`` timed ones; the result
    is the median call time divided by the batch size. Inputs are seeded random numbers
    (token ids: zeros).

    Returns:
        ``{batch_size: ms_per_sample}``.
    """
    if not batch_sizes or any(isinstance(b, bool) or int(b) != b or b < 1 for b in batch_sizes):
        raise ConfigError(f"batch_sizes must be integers >= 1, got {list(batch_sizes)!r}")
    if n_repeats < 1 or n_warmup < 0:
        raise ConfigError(
            f"n_repeats must be >= 1 and n_warmup >= 0, got {n_repeats} and {n_warmup}"
        )
    rng = np.random.default_rng(seed)
    dtype = input_dtype(model)
    out: dict[int, float] = {}
    for bs in batch_sizes:
        shape = (int(bs), *input_shape)
        x = np.zeros(shape, dtype) if "int" in dtype else rng.standard_normal(shape, np.float32)
        for _ in range(n_warmup):
            model.predict_on_batch(x)
        times = []
        for _ in range(n_repeats):
            start = time.perf_counter()
            model.predict_on_batch(x)
            times.append(time.perf_counter() - start)
        out[int(bs)] = statistics.median(times) * 1000.0 / int(bs)
    return out
