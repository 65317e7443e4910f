"""Build a network description layer by layer while an importer walks a model."""

from __future__ import annotations

import dataclasses

import numpy as np

from archtune.arch import (
    ACTIVATIONS,
    Activation,
    Conv1D,
    Conv2D,
    Dense,
    Head,
    HeadActivation,
    InfeasibleNetworkError,
    Layer,
    Network,
    Residual,
    Shape,
    layer_output_shape,
)
from archtune.backends._slots import Array, LayerWeights
from archtune.interop._errors import UnsupportedLayerError

__all__ = ["Emitter"]

_FOLDABLE = (Dense, Conv1D, Conv2D, Residual)


class Emitter:
    """Collects layers, their weights and the running (channels-last) shape.

    Args:
        source: The import function, for messages.
        input_shape: The shape the first layer receives.
        first: Whether this emitter starts the network (an Embedding may come first only).
    """

    def __init__(self, source: str, input_shape: Shape, *, first: bool = True) -> None:
        self.source = source
        self.input_shape = input_shape
        self.shape: Shape = input_shape
        self.layers: list[Layer] = []
        self.weights: list[LayerWeights] = []
        self.softmax: str | None = None  # where the final softmax was, once seen
        self._first = first

    def fail(self, where: str, label: str, reason: str) -> UnsupportedLayerError:
        """An error about the operation ``label`` at ``where``."""
        return UnsupportedLayerError(self.source, where, label, reason)

    def check_open(self, where: str, label: str) -> None:
        """Raise unless the model may still go on (nothing may follow the final softmax)."""
        if self.softmax is not None:
            raise self.fail(
                where,
                label,
                f"follows the softmax at {self.softmax}; a softmax must be the model's last "
                "operation (the head's activation)",
            )

    def add(self, layer: Layer, weights: LayerWeights | None, *, where: str, label: str) -> None:
        """Append ``layer`` (with its arrays) and move the running shape on."""
        self.check_open(where, label)
        try:
            shape = layer_output_shape(
                layer, self.shape, path=where, first=self._first and not self.layers
            )
        except InfeasibleNetworkError as exc:
            raise self.fail(where, label, f"cannot be described: {exc.reason}") from None
        self.layers.append(layer)
        self.weights.append(weights if weights is not None else LayerWeights())
        self.shape = shape

    def activation(self, name: str, *, where: str, label: str) -> None:
        """Apply an activation: folded into the previous layer when it has none, else a layer.

        ``"softmax"`` is accepted only as the model's last operation (the head's activation).
        """
        self.check_open(where, label)
        if name == "none":
            return
        if name == "softmax":
            self.softmax = where
            return
        if name not in ACTIVATIONS:
            allowed = ", ".join(a for a in ACTIVATIONS if a != "none")
            raise self.fail(where, label, f"applies activation {name!r}; supported: {allowed}")
        last = self.layers[-1] if self.layers else None
        if isinstance(last, _FOLDABLE) and last.activation == "none":
            self.layers[-1] = dataclasses.replace(last, activation=name)  # type: ignore[arg-type]
            return
        self.add(Activation(name), None, where=where, label=label)  # type: ignore[arg-type]

    def finish(
        self, *, name: str, head_activation: HeadActivation | None, notes: list[str]
    ) -> tuple[Network, list[LayerWeights], LayerWeights]:
        """Split off the last Dense layer as the head and return the network and weights.

        Args:
            name: The network's name.
            head_activation: Overrides the activation read from the model.
            notes: Receives a note when the head's weights had to be completed.
        """
        if not self.layers or not isinstance(self.layers[-1], Dense):
            last = self.layers[-1].kind if self.layers else "nothing"
            raise UnsupportedLayerError(
                self.source,
                "the model's end:",
                f"its last layer is {last}",
                "but it must be a dense (linear) layer, the output head, optionally "
                "followed by a softmax or sigmoid",
            )
        dense = self.layers[-1]
        weights = self.weights[-1]
        read: HeadActivation
        if self.softmax is not None:
            if dense.activation != "none":
                raise UnsupportedLayerError(
                    self.source,
                    "the model's end:",
                    f"the last dense layer applies {dense.activation!r}",
                    "before the softmax; the head must be linear",
                )
            read = "softmax"
        elif dense.activation in ("none", "sigmoid"):
            read = "sigmoid" if dense.activation == "sigmoid" else "none"
        else:
            raise UnsupportedLayerError(
                self.source,
                "the model's end:",
                f"the last dense layer applies {dense.activation!r}",
                "but the output head's activation must be softmax, sigmoid or none",
            )
        if "bias" not in weights.arrays:
            weights.arrays["bias"] = np.zeros(dense.units, dtype=np.float32)
            notes.append(
                f"the output layer had no bias; the head has one, set to zero "
                f"({dense.units} more parameters)"
            )
        network = Network(
            self.input_shape,
            layers=tuple(self.layers[:-1]),
            head=Head(dense.units, activation=head_activation or read),
            name=name,
        )
        return network, self.weights[:-1], weights


def as_array(value: object) -> Array:
    """A float32 NumPy copy of ``value`` (a NumPy array or anything ``np.asarray`` takes)."""
    return np.array(value, dtype=np.float32, copy=True)
