"""The PyTorch backend as a :class:`~archtune.backends.BaseBackend`: :class:`TorchBackend`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from archtune._errors import ConfigError
from archtune._reporter import Reporter
from archtune.arch import Network
from archtune.backends._base import BaseBackend
from archtune.backends._distill import Distillation
from archtune.backends._result import FitResult
from archtune.backends._state import checked_state
from archtune.backends.torch._build import NetworkModule, build_module
from archtune.backends.torch._device import module_device
from archtune.backends.torch._evaluate import evaluate
from archtune.backends.torch._export import (
    example_input,
    export_module_onnx,
    export_torchscript,
)
from archtune.backends.torch._init import apply_initialisation
from archtune.backends.torch._latency import measure_latency
from archtune.backends.torch._train import fit
from archtune.data import Dataset, SplitName
from archtune.recipe import Recipe

__all__ = ["MODEL_FORMAT", "TorchBackend"]

#: The ``format`` entry of :meth:`TorchBackend.save` files.
MODEL_FORMAT = "archtune-torch-model/1"


def _takes_token_ids(model: torch.nn.Module) -> bool:
    return isinstance(model, NetworkModule) and model.network.takes_token_ids


Shape = tuple[int, ...]


def _input_shape(model: torch.nn.Module, input_shape: Sequence[int] | None, what: str) -> Shape:
    if input_shape is not None:
        return tuple(int(n) for n in input_shape)
    if isinstance(model, NetworkModule):
        return model.network.input_shape
    raise ConfigError(
        f"TorchBackend.{what}: input_shape is needed for a module that build_module did not "
        "build (pass input_shape=(...), channels-last, without the batch axis)"
    )


class _RandomTokenIds(torch.nn.Module):
    """Feeds ids in ``[0, vocab)`` (from the random floats latency timing draws) to a module."""

    def __init__(self, module: NetworkModule) -> None:
        super().__init__()
        self.module = module
        self.vocab = int(module.network.layers[0].vocab_size)  # type: ignore[attr-defined]

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        ids = inputs.abs().mul(self.vocab).long().remainder(self.vocab)
        output: torch.Tensor = self.module(ids)
        return output


class TorchBackend(BaseBackend):
    """PyTorch models (``torch.nn.Module``) built from a network description.

    A thin layer over :mod:`archtune.backends.torch`'s functions: :func:`build_module` with
    PyTorch's default initialisation drawn from a seed, :func:`fit`, :func:`predict`,
    :func:`measure_latency`; plus ``.pt`` files that hold the network description with the
    weights, and ONNX and TorchScript export.

    Example:
        >>> from archtune.arch import builtin_network
        >>> backend = TorchBackend()
        >>> module = backend.build(builtin_network("mlp-32-32"), seed=0)
        >>> backend.count_params(module)
        1738
    """

    name = "torch"
    native_suffix = ".pt"

    def build(self, network: Network, *, seed: int = 0) -> NetworkModule:
        """Build ``network`` (:func:`build_module`), PyTorch's default init drawn from ``seed``."""
        module = build_module(network)
        apply_initialisation(module, Recipe(), seed=seed)
        return module

    def count_params(self, model: Any) -> int:
        """The number of elements of the module's parameters that require gradients."""
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    def fit(
        self,
        model: Any,
        dataset: Dataset,
        recipe: Recipe,
        *,
        reporter: Reporter | None = None,
        seed: int = 0,
        keep_weights: bool = False,
        distill: Distillation | None = None,
        resumable: bool = False,
    ) -> FitResult:
        """Train with :func:`archtune.backends.torch.fit` (CUDA when available).

        ``keep_weights=True`` trains the current weights (no initialisation from the recipe);
        ``distill`` adds a teacher's soft targets (see :class:`~archtune.backends.Distillation`);
        ``resumable=True`` checkpoints every epoch through the reporter and resumes from its
        checkpoint (see :func:`archtune.backends.torch.fit`).
        """
        return fit(
            model,
            dataset,
            recipe,
            reporter=reporter,
            seed=seed,
            keep_weights=keep_weights,
            distill=distill,
            resumable=resumable,
        )

    def evaluate(
        self, model: Any, dataset: Dataset, *, split: SplitName = "test"
    ) -> dict[str, float]:
        """``{split}_loss`` and ``{split}_accuracy`` (or ``_mse``/``_mae``) where the module is
        (see :func:`archtune.backends.torch.evaluate`); the module is left in eval mode."""
        return evaluate(model, dataset, split=split)

    def get_state(self, model: Any) -> dict[str, np.ndarray]:
        """``model.state_dict()`` as NumPy copies on the CPU (parameters and buffers, e.g.
        batch-norm statistics and the int64 ``num_batches_tracked``)."""
        return {
            name: np.array(value.detach().cpu().numpy(), copy=True)
            for name, value in model.state_dict().items()
        }

    def set_state(
        self, model: Any, state: Mapping[str, np.ndarray], *, strict: bool = False
    ) -> None:
        """Copy ``state``'s entries into the module's parameters and buffers (in place, on
        their device and in their dtype); with ``strict=False`` the others are left as they are.

        Raises:
            ConfigError: An unknown name, a shape mismatch, or a missing entry when ``strict``.
        """
        own = model.state_dict()
        shapes = {name: tuple(value.shape) for name, value in own.items()}
        arrays = checked_state("TorchBackend.set_state", shapes, state, strict=strict)
        with torch.no_grad():
            for name, array in arrays.items():
                target = own[name]
                target.copy_(torch.tensor(array).to(target.device, target.dtype))

    def predict(
        self, model: Any, x: npt.ArrayLike, *, batch_size: int = 1024
    ) -> npt.NDArray[np.float32]:
        """The module's outputs on ``x`` (float32; integer arrays stay token ids), in eval mode.

        The module's train/eval mode is restored afterwards.
        """
        array = np.asarray(x)
        dev = module_device(model)
        integer = np.issubdtype(array.dtype, np.integer) or _takes_token_ids(model)
        dtype = torch.int64 if integer else torch.float32
        tensor = torch.tensor(array, dtype=dtype, device=dev)
        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                outs = [
                    model(tensor[i : i + batch_size]).float().cpu()
                    for i in range(0, len(tensor), batch_size)
                ]
        finally:
            model.train(was_training)
        if not outs:
            return np.zeros((0,), dtype=np.float32)
        return torch.cat(outs).numpy()

    def measure_latency(
        self, model: Any, input_shape: Sequence[int], *, batch_sizes: Sequence[int] = (1, 64)
    ) -> dict[int, float]:
        """Milliseconds per sample (see :func:`archtune.backends.torch.measure_latency`).

        A module that reads token ids is timed on random ids.
        """
        timed = _RandomTokenIds(model) if _takes_token_ids(model) else model
        return measure_latency(timed, input_shape, batch_sizes=batch_sizes)

    def save(self, model: Any, path: str | os.PathLike[str]) -> None:
        """Write the network description and the state dict to a ``.pt`` file (atomically).

        Raises:
            ConfigError: The module was not built from a network description (save its
                weights with :func:`archtune.backends.torch.save_checkpoint` instead).
        """
        if not isinstance(model, NetworkModule):
            raise ConfigError(
                f"TorchBackend.save needs a module built by TorchBackend.build or "
                f"build_module (it stores the network description), got "
                f"{type(model).__name__}; use save_checkpoint() for other modules"
            )
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": MODEL_FORMAT,
            "network": model.network.to_dict(),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        }
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        try:
            torch.save(payload, tmp)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def load(self, path: str | os.PathLike[str]) -> NetworkModule:
        """Rebuild the module that :meth:`save` wrote (on the CPU, in eval mode).

        Only tensors and plain values are unpickled (``weights_only=True``).

        Raises:
            ConfigError: The file is missing or is not such a file.
        """
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"model file {str(p)!r} does not exist (or is not a file)")
        try:
            payload = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ConfigError(
                f"model file {str(p)!r} cannot be read by torch.load ({exc})"
            ) from exc
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise ConfigError(
                f"model file {str(p)!r} is not a TorchBackend.save file (format "
                f"{MODEL_FORMAT!r}); for checkpoints use load_checkpoint()"
            )
        module = build_module(Network.from_dict(payload["network"]))
        module.load_state_dict(payload["state_dict"])
        return module.eval()

    def export_onnx(
        self, model: Any, path: str | os.PathLike[str], *, input_shape: Sequence[int]
    ) -> None:
        """Export with ``torch.onnx.export(..., dynamo=True)``: input ``inputs`` (channels-last,
        dynamic batch axis; int64 token ids for an embedding network), output ``logits``."""
        shape = _input_shape(model, input_shape, "export_onnx")
        example = example_input(model, shape, token_ids=_takes_token_ids(model))
        export_module_onnx(model, path, example)

    def export_torchscript(
        self,
        model: Any,
        path: str | os.PathLike[str],
        *,
        input_shape: Sequence[int] | None = None,
    ) -> None:
        """Save a traced TorchScript module (reload it with ``torch.jit.load``).

        Args:
            model: The module.
            path: The file to write.
            input_shape: One sample's shape (default: the network description's).
        """
        shape = _input_shape(model, input_shape, "export_torchscript")
        example = example_input(model, shape, token_ids=_takes_token_ids(model))
        export_torchscript(model, path, example)
