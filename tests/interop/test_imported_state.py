"""The imported weights' names are the PyTorch builder's state-dict names, for any network."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from archtune.arch import Network
from archtune.backends._slots import parameter_slots
from archtune.interop import UnsupportedLayerError
from archtune.interop._graph import Fork, Graph, Op, linearize
from archtune.testing._strategies import networks

torch = pytest.importorskip("torch")

from archtune.backends.torch import build_module  # noqa: E402


@settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(networks(families=("mlp", "cnn1d", "cnn2d", "rnn")))
def test_slots_are_the_builders_state_dict_names(network: Network) -> None:
    expected = list(build_module(network).state_dict())
    assert [name for name, _, _ in parameter_slots(network)] == expected


def _graph(inputs: list[tuple[int, ...]], joins: set[int], output: int) -> Graph:
    return Graph("test", inputs, frozenset(joins), output, [f"n{i}" for i in range(len(inputs))])


def test_linearize_reads_a_chain_and_a_residual_fork() -> None:
    # 0 -> 1 -> 2 (body) -> 4 = 2 + 3, 3 = projection of 1; 4 -> 5
    graph = _graph([(), (0,), (1,), (1,), (2, 3), (4,)], {4}, 5)
    steps = linearize(graph)
    assert steps == (Op(1), Fork(((Op(2),), (Op(3),)), 4), Op(5))


def test_linearize_rejects_a_tensor_read_three_times() -> None:
    graph = _graph([(), (0,), (0,), (0,), (1, 2)], {4}, 4)
    with pytest.raises(UnsupportedLayerError, match="read by 3 operations"):
        linearize(graph)


def test_linearize_rejects_a_concatenation() -> None:
    graph = _graph([(), (0,), (0,), (1, 2)], set(), 3)
    with pytest.raises(UnsupportedLayerError, match="reads 2 tensors"):
        linearize(graph)
