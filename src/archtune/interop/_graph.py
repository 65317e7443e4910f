"""Turn a model's graph into a chain of steps with residual forks, for both importers.

A graph's nodes are the model's operations in topological order; node 0 is the input. Each
node produces one tensor and reads the tensors of the nodes in ``inputs[node]``. A *join* is an
addition of two tensors. :func:`linearize` accepts chains, and forks where one tensor feeds
two branches that meet again in a join: the network description's
:class:`~archtune.arch.Residual`. Anything else (concatenations, several outputs, a tensor read
three times) is an :class:`UnsupportedLayerError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from archtune.interop._errors import UnsupportedLayerError

__all__ = ["Fork", "Graph", "Op", "Step", "linearize"]


@dataclass(frozen=True)
class Op:
    """One operation of a chain: the node ``node`` applied to the previous step's tensor."""

    node: int


@dataclass(frozen=True)
class Fork:
    """A tensor read by two branches whose outputs are added by ``join``.

    Attributes:
        branches: The two branches' steps; an empty branch is the identity.
        join: The node that adds the two branches' outputs.
    """

    branches: tuple[tuple[Step, ...], tuple[Step, ...]]
    join: int


Step: TypeAlias = "Op | Fork"


@dataclass(frozen=True)
class Graph:
    """A model's operations in topological order; node 0 is the model's input.

    Attributes:
        source: The import function, for messages (``"from_keras"``).
        inputs: For each node, the nodes whose tensors it reads (``()`` for the input).
        joins: The nodes that add two tensors.
        output: The node whose tensor is the model's output.
        labels: For each node, how messages name it, e.g. ``"layer 'dense' (Dense)"``.
    """

    source: str
    inputs: Sequence[tuple[int, ...]]
    joins: frozenset[int]
    output: int
    labels: Sequence[str]

    def consumers(self) -> list[list[int]]:
        """For each node, the nodes that read its tensor (once per read)."""
        out: list[list[int]] = [[] for _ in self.inputs]
        for node, reads in enumerate(self.inputs):
            for source in reads:
                out[source].append(node)
        return out


def linearize(graph: Graph) -> tuple[Step, ...]:
    """Return the graph as a chain of :class:`Op` and :class:`Fork` steps from its input.

    Raises:
        UnsupportedLayerError: The graph is not a chain with residual forks.
    """
    walker = _Walker(graph)
    steps, last, join = walker.walk(0)
    if join is not None:  # pragma: no cover - a join always follows a fork
        raise walker.fail(join, "adds tensors that do not come from one fork")
    if last != graph.output:
        raise walker.fail(last, "is a dead end: its tensor is not the model's output")
    return tuple(steps)


class _Walker:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.consumers = graph.consumers()

    def fail(self, node: int, reason: str) -> UnsupportedLayerError:
        return UnsupportedLayerError(
            self.graph.source,
            "the model's graph at",
            self.graph.labels[node],
            reason + "; only chains of layers and residual additions can be imported",
        )

    def walk(self, start: int) -> tuple[list[Step], int, int | None]:
        """Steps from the tensor of ``start`` until the output or a join: (steps, last, join)."""
        graph = self.graph
        steps: list[Step] = []
        current = start
        while True:
            readers = self.consumers[current]
            if not readers:
                return steps, current, None
            if len(readers) == 1:
                (node,) = readers
                if node in graph.joins:
                    return steps, current, node
                self._check_single_input(node)
                steps.append(Op(node))
                current = node
                continue
            if len(readers) != 2:
                raise self.fail(current, f"is read by {len(readers)} operations")
            branches: list[tuple[list[Step], int, int | None]] = []
            for node in readers:
                if node in graph.joins:
                    branches.append(([], current, node))
                    continue
                self._check_single_input(node)
                rest, last, join = self.walk(node)
                branches.append(([Op(node), *rest], last, join))
            (first, last_a, join_a), (second, last_b, join_b) = branches
            if join_a is None or join_a != join_b:
                raise self.fail(current, "feeds two branches that do not meet in one addition")
            if sorted(graph.inputs[join_a]) != sorted((last_a, last_b)) or last_a == last_b:
                raise self.fail(join_a, "does not add exactly the two branches of one fork")
            steps.append(Fork((tuple(first), tuple(second)), join_a))
            current = join_a

    def _check_single_input(self, node: int) -> None:
        if len(self.graph.inputs[node]) != 1:
            raise self.fail(node, f"reads {len(self.graph.inputs[node])} tensors")


def split_fork(
    fork: Fork, is_projection: Callable[[tuple[Step, ...]], bool]
) -> tuple[tuple[Step, ...], tuple[Step, ...]] | None:
    """Return ``(body, shortcut)``: the shortcut is the empty branch or else a projection.

    ``None`` when neither branch can be the shortcut.
    """
    first, second = fork.branches
    for body, shortcut in ((first, second), (second, first)):
        if not shortcut:
            return body, shortcut
    for body, shortcut in ((first, second), (second, first)):
        if is_projection(shortcut):
            return body, shortcut
    return None
