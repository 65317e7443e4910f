"""Which network a trial trains: a fixed network, or one built by a family from the config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from archtune.arch import Head, Network

__all__ = ["ModelSpec"]


@dataclass(frozen=True)
class ModelSpec:
    """A fixed network (``network``) or a family (``family``) that builds one per trial.

    Attributes:
        network: The fixed network's plain-dict form (``Network.to_dict()``), or ``None``.
        family: The family's name, or ``None``.
        input_shape: The data's input shape (channels-last).
        n_outputs: Classes, or regression targets.
        head_activation: ``softmax`` for classification, ``none`` for regression.
    """

    network: Mapping[str, Any] | None
    family: str | None
    input_shape: tuple[int, ...]
    n_outputs: int
    head_activation: str

    def build(self, config: Mapping[str, Any]) -> Network:
        """The network of one trial.

        Raises:
            InfeasibleNetworkError: the configuration's shapes do not fit together.
        """
        if self.network is not None:
            return _fit_head(Network.from_dict(dict(self.network)), self)
        from archtune.arch.families import get_family

        family = get_family(self.family or "")
        params = {k: v for k, v in config.items() if k.startswith("model.")}
        return family.build(
            params,
            input_shape=self.input_shape,
            n_outputs=self.n_outputs,
            head_activation=self.head_activation,
        )

    def describe(self) -> str:
        """``cnn-32-64-64`` or ``family cnn2d``."""
        if self.network is not None:
            return str(self.network.get("name") or "a fixed network")
        return f"family {self.family}"


def _fit_head(network: Network, spec: ModelSpec) -> Network:
    """The fixed network with the data's output head (its input shape was checked at setup)."""
    head = Head(spec.n_outputs, activation=spec.head_activation)  # type: ignore[arg-type]
    return Network(network.input_shape, layers=network.layers, head=head, name=network.name)
