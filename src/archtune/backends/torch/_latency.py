"""Inference latency of a PyTorch module, in milliseconds per sample."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

import torch

from archtune._errors import ConfigError
from archtune.backends.torch._device import module_device, resolve_device

__all__ = ["measure_latency"]


def measure_latency(
    module: torch.nn.Module,
    input_shape: Sequence[int],
    *,
    batch_sizes: Sequence[int] = (1, 64),
    device: str | torch.device | None = None,
    n_warmup: int = 3,
    n_repeats: int = 10,
    seed: int = 0,
) -> dict[int, float]:
    """Measure the forward pass's latency in milliseconds per sample, per batch size.

    Each batch size runs ``n_warmup`` untimed passes, then ``n_repeats`` timed ones (in eval
    mode, under ``torch.inference_mode``, synchronising CUDA around each); the result is the
    median pass time divided by the batch size. The module's mode is restored.

    Args:
        module: The network.
        input_shape: One sample's shape, channels-last, e.g. ``(28, 28, 1)``.
        batch_sizes: The batch sizes to time.
        device: Where to run (default: where the module is).
        n_warmup: Untimed passes per batch size.
        n_repeats: Timed passes per batch size.
        seed: Seeds the random inputs.

    Returns:
        ``{batch_size: ms_per_sample}``.
    """
    if not batch_sizes or any(isinstance(b, bool) or int(b) != b or b < 1 for b in batch_sizes):
        raise ConfigError(f"batch_sizes must be integers >= 1, got {list(batch_sizes)!r}")
    if n_repeats < 1 or n_warmup < 0:
        raise ConfigError(
            f"n_repeats must be >= 1 and n_warmup >= 0, got {n_repeats} and {n_warmup}"
        )
    dev = module_device(module) if device is None else resolve_device(device)
    module.to(dev)
    gen = torch.Generator().manual_seed(seed)
    cuda = dev.type == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(dev)

    was_training = module.training
    module.eval()
    out: dict[int, float] = {}
    try:
        with torch.inference_mode():
            for bs in batch_sizes:
                x = torch.randn((int(bs), *input_shape), generator=gen).to(dev)
                for _ in range(n_warmup):
                    module(x)
                times = []
                for _ in range(n_repeats):
                    sync()
                    start = time.perf_counter()
                    module(x)
                    sync()
                    times.append(time.perf_counter() - start)
                out[int(bs)] = statistics.median(times) * 1000.0 / int(bs)
    finally:
        module.train(was_training)
    return out
