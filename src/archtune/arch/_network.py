"""A whole network: an input shape, a sequence of layers and an output head."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal, TypeAlias

from archtune.arch._errors import InvalidNetworkError
from archtune.arch._layers import Embedding, Layer, layer_from_dict

__all__ = ["HEAD_ACTIVATIONS", "Head", "HeadActivation", "Network"]

HeadActivation: TypeAlias = Literal["softmax", "sigmoid", "none"]
#: What the head's outputs mean: class probabilities (``"softmax"``), independent
#: probabilities (``"sigmoid"``) or raw values for regression (``"none"``).
HEAD_ACTIVATIONS: tuple[str, ...] = ("softmax", "sigmoid", "none")


@dataclass(frozen=True)
class Head:
    """The output layer: a dense map of the last axis to ``units`` outputs.

    ``activation`` is recorded, not built: backends return logits (training uses a loss on
    logits, such as cross-entropy) and apply the activation only to make predictions.
    """

    units: int
    _: KW_ONLY
    activation: HeadActivation = "softmax"

    def __post_init__(self) -> None:
        if isinstance(self.units, bool) or not isinstance(self.units, int) or self.units < 1:
            raise InvalidNetworkError("Head.units", f"must be an integer >= 1, got {self.units!r}")
        if self.activation not in HEAD_ACTIVATIONS:
            allowed = ", ".join(map(repr, HEAD_ACTIVATIONS))
            raise InvalidNetworkError(
                "Head.activation", f"must be one of {allowed}, got {self.activation!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"units": ..., "activation": ...}``."""
        return {"units": self.units, "activation": self.activation}


@dataclass(frozen=True)
class Network:
    """A framework-neutral description of a network.

    Building one checks each field; whether the layers fit together is checked by
    :func:`~archtune.arch.infer_shapes` (and everything that uses it), which raises
    :class:`~archtune.arch.InfeasibleNetworkError`.

    Args:
        input_shape: One example's shape, channels-last, without the batch axis:
            ``(features,)``, ``(length, channels)``, ``(height, width, channels)``, or
            ``(length,)`` of token ids when the first layer is an :class:`Embedding`.
        layers: The layers, in order.
        head: The output layer.
        name: A label for summaries and reports.

    Example:
        >>> from archtune.arch import Dense, Head, Network
        >>> net = Network((10,), layers=(Dense(64, activation="relu"),), head=Head(3))
        >>> Network.from_dict(net.to_dict()) == net
        True
    """

    input_shape: tuple[int, ...]
    _: KW_ONLY
    layers: tuple[Layer, ...]
    head: Head
    name: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.input_shape, list):
            object.__setattr__(self, "input_shape", tuple(self.input_shape))
        if isinstance(self.layers, list):
            object.__setattr__(self, "layers", tuple(self.layers))
        shape = self.input_shape
        if (
            not isinstance(shape, tuple)
            or not shape
            or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape)
        ):
            raise InvalidNetworkError(
                "Network.input_shape", f"must be a non-empty tuple of integers >= 1, got {shape!r}"
            )
        if not isinstance(self.layers, tuple):
            raise InvalidNetworkError(
                "Network.layers", f"must be a sequence of layers, got {self.layers!r}"
            )
        for index, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise InvalidNetworkError(
                    f"Network.layers[{index}]", f"must be a layer, got {layer!r}"
                )
        if not isinstance(self.head, Head):
            raise InvalidNetworkError("Network.head", f"must be a Head, got {self.head!r}")
        if not isinstance(self.name, str):
            raise InvalidNetworkError("Network.name", f"must be a string, got {self.name!r}")

    @property
    def takes_token_ids(self) -> bool:
        """Whether the input is integer token ids (the first layer is an Embedding)."""
        return bool(self.layers) and isinstance(self.layers[0], Embedding)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-able dict that :meth:`from_dict` turns back into an equal network."""
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "layers": [layer.to_dict() for layer in self.layers],
            "head": self.head.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Network:
        """Build a network from :meth:`to_dict`'s output.

        Raises:
            InvalidNetworkError: A key is unknown or missing, or a value is malformed; the
                message names the path, e.g. ``network.layers[3]: Conv2D.filters``.
        """
        if not isinstance(data, Mapping):
            raise InvalidNetworkError("network", f"must be a mapping, got {data!r}")
        allowed = [field.name for field in dataclasses.fields(cls)]
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise InvalidNetworkError(
                "network", f"has unknown keys {unknown} (allowed: {', '.join(allowed)})"
            )
        missing = [key for key in ("input_shape", "layers", "head") if key not in data]
        if missing:
            raise InvalidNetworkError("network", f"misses required keys {missing}")
        layers = data["layers"]
        if not isinstance(layers, (list, tuple)):
            raise InvalidNetworkError("network.layers", f"must be a list, got {layers!r}")
        head = data["head"]
        if not isinstance(head, Mapping):
            raise InvalidNetworkError("network.head", f"must be a mapping, got {head!r}")
        unknown = sorted(set(head) - {"units", "activation"})
        if unknown or "units" not in head:
            raise InvalidNetworkError(
                "network.head", f"must have 'units' and optionally 'activation', got {dict(head)}"
            )
        try:
            parsed_head = Head(**head)
        except InvalidNetworkError as err:
            raise InvalidNetworkError(f"network.head: {err.path}", err.reason) from None
        shape = data["input_shape"]
        return cls(
            tuple(shape) if isinstance(shape, list) else shape,
            layers=tuple(
                layer_from_dict(item, path=f"network.layers[{index}]")
                for index, item in enumerate(layers)
            ),
            head=parsed_head,
            name=data.get("name", ""),
        )
