"""Export a ``keras.Model`` to ONNX with a dynamic batch axis."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from archtune.backends.keras._evaluate import input_dtype
from archtune.backends.keras._keras import import_keras

keras = import_keras()

__all__ = ["export_onnx"]


def export_onnx(model: Any, path: str | os.PathLike[str], *, input_shape: Sequence[int]) -> None:
    """Write ``model`` as ONNX: input ``inputs`` ``(batch, *input_shape)``, output the logits.

    On the PyTorch backend the model (a ``torch.nn.Module``) goes through PyTorch's exporter
    (``torch.onnx.export(..., dynamo=True)``, see
    :func:`archtune.backends.torch._export.export_onnx`) with a dynamic batch axis; Keras's
    own ``model.export(format="onnx")`` fixes the batch size there. On TensorFlow and JAX,
    ``model.export(path, format="onnx")`` is used (it needs ``tf2onnx`` or ``jax2onnx``).
    """
    dtype = input_dtype(model)
    if keras.config.backend() == "torch":
        import torch

        from archtune.backends.torch._export import export_module_onnx

        class _Inference(torch.nn.Module):
            def __init__(self, wrapped: Any) -> None:
                super().__init__()
                self.wrapped = wrapped

            def forward(self, inputs: torch.Tensor) -> Any:
                return self.wrapped(inputs, training=False)

        torch_dtype = torch.int32 if "int" in dtype else torch.float32
        device = model.weights[0].value.device if model.weights else "cpu"
        example = torch.zeros((2, *input_shape), dtype=torch_dtype, device=device)
        export_module_onnx(_Inference(model), path, example)
        return
    spec = keras.InputSpec(shape=(None, *input_shape), dtype=dtype)
    model.export(os.fspath(path), format="onnx", verbose=False, input_signature=[spec])
