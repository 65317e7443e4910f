"""Export PyTorch modules: ONNX (``torch.onnx.export``, dynamo) and TorchScript."""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch

from archtune.backends.torch._device import module_device

__all__ = ["example_input", "export_module_onnx", "export_torchscript"]

# torch.onnx logs one warning per torchvision operator it cannot register.
_NOISY_LOGGERS = ("torch.onnx._internal.exporter._registration",)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            # nn.GRU/nn.LSTM refresh their flat weight list while torch.export traces them.
            warnings.filterwarnings(
                "ignore", "The tensor attributes .* were assigned during export"
            )
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def example_input(
    module: torch.nn.Module, input_shape: Sequence[int], *, token_ids: bool, batch: int = 2
) -> torch.Tensor:
    """A zero batch of ``input_shape`` on the module's device (int64 for token ids)."""
    dtype = torch.int64 if token_ids else torch.float32
    return torch.zeros((batch, *input_shape), dtype=dtype, device=module_device(module))


def export_module_onnx(
    module: torch.nn.Module, path: str | os.PathLike[str], example: torch.Tensor
) -> None:
    """Export ``module`` to ONNX with ``torch.onnx.export(..., dynamo=True)``.

    The graph's input is ``inputs`` with a dynamic batch axis (the example's other axes are
    fixed) and its output ``logits``. The TorchScript-based exporter (``dynamo=False``) is
    deprecated in PyTorch 2.9+ and cannot export channels-last convolutions' ``movedim``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    was_training = module.training
    module.eval()
    try:
        with _quiet():
            program = torch.onnx.export(
                module,
                (example,),
                dynamo=True,
                input_names=["inputs"],
                output_names=["logits"],
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                verbose=False,
            )
        if program is None:  # pragma: no cover - dynamo=True always returns a program
            raise RuntimeError("torch.onnx.export returned no ONNX program")
        program.save(str(target))
    finally:
        module.train(was_training)


def export_torchscript(
    module: torch.nn.Module, path: str | os.PathLike[str], example: torch.Tensor
) -> None:
    """Trace ``module`` on ``example`` (in eval mode) and save it for ``torch.jit.load``.

    TorchScript is deprecated in recent PyTorch (2.13's ``torch.jit`` warns); ONNX export is the
    portable format.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    was_training = module.training
    module.eval()
    try:
        with _quiet(), torch.no_grad():
            # The input-shape check in NetworkModule.forward is fixed in the trace, as it should.
            warnings.filterwarnings("ignore", "Converting a tensor to a Python boolean")
            traced = torch.jit.trace(module, (example,))  # type: ignore[no-untyped-call]
            torch.jit.save(traced, str(target))
    finally:
        module.train(was_training)
