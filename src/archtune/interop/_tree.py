"""How a converted space rebuilds the user's nested configuration from archtune's flat one.

Hyperopt and Ray Tune spaces are nested (dicts, lists, choices of sub-spaces); archtune's
:class:`~archtune.space.Space` is flat and names each parameter. A converter returns the flat
space and a :data:`Node` tree; :func:`evaluate` turns a flat configuration into the value the
user's function expects (Hyperopt's ``space_eval`` point, Ray Tune's ``config``). The tree is
plain, picklable data, so it travels to worker processes with the objective.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import numpy as np

from archtune.space import Scalar, Space

__all__ = [
    "Const",
    "ConvertedSpace",
    "Leaf",
    "MappingNode",
    "Node",
    "SequenceNode",
    "Switch",
    "evaluate",
]


@dataclass(frozen=True)
class Const:
    """A value that is part of every configuration (not searched)."""

    value: Any


@dataclass(frozen=True)
class Leaf:
    """A searched parameter's value.

    Attributes:
        name: The archtune parameter.
        q: Round the sampled value to a multiple of ``q`` (``np.round``, as Hyperopt and Ray
            Tune do), when archtune samples it unrounded (log scales with a step).
        cast: ``float`` or ``int`` the value (Hyperopt's ``scope.float``/``scope.int``), or
            leave it as sampled.
    """

    name: str
    q: float | None = None
    cast: Literal["float", "int"] | None = None

    def raw(self, config: Mapping[str, Any]) -> Any:
        """The value before ``cast``: what Hyperopt records for this label."""
        value = config[self.name]
        if self.q is not None:
            value = float(np.round(value / self.q) * self.q)
        return value

    def value(self, config: Mapping[str, Any]) -> Any:
        """The value the user's function sees."""
        value = self.raw(config)
        if self.cast == "float":
            return float(value)
        if self.cast == "int":
            return int(value)
        return value


@dataclass(frozen=True)
class Switch:
    """One of several sub-trees, chosen by a choice parameter (Hyperopt's ``hp.choice``).

    Attributes:
        name: The archtune choice parameter.
        keys: Its options, in branch order (the option values, or branch indices).
        branches: One sub-tree per option.
    """

    name: str
    keys: tuple[Scalar, ...]
    branches: tuple[Node, ...]

    def index(self, config: Mapping[str, Any]) -> int:
        """The branch the configuration chose."""
        chosen = config[self.name]
        for i, key in enumerate(self.keys):
            if type(key) is type(chosen) and key == chosen:
                return i
        raise KeyError(f"{self.name}={chosen!r} is not one of {list(self.keys)}")


@dataclass(frozen=True)
class MappingNode:
    """A dict of sub-trees."""

    items: tuple[tuple[Any, Node], ...]


@dataclass(frozen=True)
class SequenceNode:
    """A tuple or list of sub-trees."""

    items: tuple[Node, ...]
    kind: Literal["tuple", "list"] = "tuple"


Node: TypeAlias = "Const | Leaf | Switch | MappingNode | SequenceNode"


def evaluate(node: Node, config: Mapping[str, Any], used: dict[str, Any] | None = None) -> Any:
    """The user's value of ``node`` for the flat ``config``.

    ``used``, when given, receives every parameter the evaluation read, with the value its
    source records (Hyperopt's convention: a choice's branch index, a rounded number).
    """
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Leaf):
        if used is not None:
            used[node.name] = node.raw(config)
        return node.value(config)
    if isinstance(node, Switch):
        index = node.index(config)
        if used is not None:
            used[node.name] = index
        return evaluate(node.branches[index], config, used)
    if isinstance(node, MappingNode):
        return {key: evaluate(child, config, used) for key, child in node.items}
    values = [evaluate(child, config, used) for child in node.items]
    return tuple(values) if node.kind == "tuple" else values


@dataclass(frozen=True)
class ConvertedSpace:
    """A Hyperopt or Ray Tune space as archtune's flat :class:`Space` and a :data:`Node` tree.

    Attributes:
        space: What archtune searches: one parameter per Hyperopt label or Ray Tune path.
        tree: How a flat configuration becomes the user's nested value.
    """

    space: Space
    tree: Node

    def point(self, config: Mapping[str, Any]) -> Any:
        """The user's value (Hyperopt's ``space_eval`` point, Ray Tune's ``config``)."""
        return evaluate(self.tree, config)

    def used(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters the point depends on, as the source records them."""
        used: dict[str, Any] = {}
        evaluate(self.tree, config, used)
        return used
