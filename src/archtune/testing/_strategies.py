"""Hypothesis strategies that generate random, feasible networks, for property tests.

Every backend's test suite uses :func:`networks` to check that the analytic parameter count and
output shape match what the framework builds. This module needs ``hypothesis`` (the ``test``
extra); it lives in :mod:`archtune.testing`, beside the conformance suites that use it.

Example:
    >>> from hypothesis import given, settings
    >>> from archtune.arch import count_params
    >>> from archtune.testing import networks
    >>> @settings(max_examples=5, derandomize=True, database=None)
    ... @given(networks(families=("mlp",)))
    ... def test_params_are_positive(network):
    ...     assert count_params(network) > 0
    >>> test_params_are_positive()
"""

from __future__ import annotations

from typing import cast

from hypothesis import strategies as st

from archtune.arch._errors import InfeasibleNetworkError
from archtune.arch._layers import (
    ACTIVATIONS,
    GRU,
    LSTM,
    Activation,
    ActivationName,
    AvgPool1D,
    AvgPool2D,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool,
    GlobalMaxPool,
    Layer,
    LayerNorm,
    MaxPool1D,
    MaxPool2D,
    Padding,
    PositionEmbedding,
    Residual,
    TransformerBlock,
)
from archtune.arch._network import HEAD_ACTIVATIONS, Head, Network
from archtune.arch._shapes import Shape, layer_output_shape

__all__ = ["NETWORK_KINDS", "networks"]

#: The kinds of network :func:`networks` draws from (not :data:`archtune.arch.families.FAMILIES`,
#: the search families: these are shapes of random networks for property tests).
NETWORK_KINDS: tuple[str, ...] = ("mlp", "cnn1d", "cnn2d", "rnn", "transformer")

_small = st.integers(1, 6)
_activations: st.SearchStrategy[ActivationName] = st.sampled_from(
    cast(tuple[ActivationName, ...], ACTIVATIONS)
)
_paddings: st.SearchStrategy[Padding] = st.sampled_from(("valid", "same"))
_rates = st.sampled_from((0.0, 0.25, 0.5))


def _size(rank: int, low: int, high: int) -> st.SearchStrategy[int | tuple[int, int]]:
    ints = st.integers(low, high)
    if rank == 1:
        return ints
    return st.one_of(ints, st.tuples(ints, ints))


@st.composite
def _dense(draw: st.DrawFn) -> Layer:
    return Dense(draw(_small), activation=draw(_activations), use_bias=draw(st.booleans()))


@st.composite
def _conv(draw: st.DrawFn, rank: int) -> Layer:
    filters, padding, separable = draw(_small), draw(_paddings), draw(st.booleans())
    activation, use_bias = draw(_activations), draw(st.booleans())
    if rank == 1:
        return Conv1D(
            filters,
            draw(st.integers(1, 3)),
            stride=draw(st.integers(1, 2)),
            padding=padding,
            separable=separable,
            activation=activation,
            use_bias=use_bias,
        )
    return Conv2D(
        filters,
        draw(_size(2, 1, 3)),
        stride=draw(_size(2, 1, 2)),
        padding=padding,
        separable=separable,
        activation=activation,
        use_bias=use_bias,
    )


@st.composite
def _pool(draw: st.DrawFn, rank: int) -> Layer:
    kinds = (MaxPool1D, AvgPool1D) if rank == 1 else (MaxPool2D, AvgPool2D)
    cls = draw(st.sampled_from(kinds))
    stride = draw(st.one_of(st.none(), _size(rank, 1, 3)))
    return cls(draw(_size(rank, 1, 3)), stride=stride, padding=draw(_paddings))


def _elementwise() -> st.SearchStrategy[Layer]:
    return st.one_of(
        st.builds(Dropout, _rates),
        st.just(BatchNorm()),
        st.just(LayerNorm()),
        st.builds(Activation, _activations),
    )


@st.composite
def _plain(draw: st.DrawFn, rank: int) -> Layer:
    """A layer that keeps the rank of a ``rank``-D input (rank 0: flat features).

    The kind is drawn first, with weights, so that every kind shows up in a few dozen examples.
    """
    if rank == 0:
        kind = draw(st.sampled_from(("dense", "dense", "elementwise")))
    else:
        kind = draw(st.sampled_from(("conv", "conv", "conv", "pool", "elementwise", "dense")))
    strategies = {
        "dense": _dense(),
        "conv": _conv(rank),
        "pool": _pool(rank),
        "elementwise": _elementwise(),
    }
    return draw(strategies[kind])


@st.composite
def _residual(draw: st.DrawFn, rank: int) -> Layer:
    first = _dense() if rank == 0 else _conv(rank)
    body = [draw(first), *draw(st.lists(_plain(rank), max_size=1))]
    return Residual(tuple(body), activation=draw(_activations))


@st.composite
def _block(draw: st.DrawFn, rank: int) -> Layer:
    """A plain layer, or (one time in three) a residual block."""
    return draw(_residual(rank) if draw(st.integers(0, 2)) == 0 else _plain(rank))


def _extend(
    draw: st.DrawFn,
    layers: list[Layer],
    shape: Shape,
    strategy: st.SearchStrategy[Layer],
    n_layers: int,
) -> Shape:
    """Append up to ``n_layers`` drawn layers that fit, skipping the ones that do not."""
    for _ in range(n_layers):
        layer = draw(strategy)
        try:
            out = layer_output_shape(layer, shape)
        except InfeasibleNetworkError:
            continue
        layers.append(layer)
        shape = out
    return shape


@st.composite
def _recurrent(draw: st.DrawFn, return_sequences: bool) -> Layer:
    cls = draw(st.sampled_from((GRU, LSTM)))
    return cls(draw(_small), bidirectional=draw(st.booleans()), return_sequences=return_sequences)


def _tail(draw: st.DrawFn, layers: list[Layer], shape: Shape) -> Shape:
    """Reduce a spatial shape to features (or not), then add dense layers."""
    if len(shape) > 1:
        reduce = draw(st.sampled_from(("flatten", "global_avg", "global_max", "keep")))
        reducer = {
            "flatten": Flatten(),
            "global_avg": GlobalAvgPool(),
            "global_max": GlobalMaxPool(),
        }.get(reduce)
        if reducer is not None:
            layers.append(reducer)
            shape = layer_output_shape(reducer, shape)
    return _extend(draw, layers, shape, _dense(), draw(st.integers(0, 2)))


def _transformer(draw: st.DrawFn, layers: list[Layer]) -> Shape:
    n_heads = draw(st.integers(1, 3))
    d_model = n_heads * draw(st.integers(1, 4))
    length = draw(st.integers(1, 8))
    if draw(st.booleans()):
        layers.append(Embedding(draw(st.integers(1, 20)), dim=d_model))
        shape: Shape = (length,)
    else:
        layers.append(Dense(d_model))
        shape = (length, draw(_small))
    if draw(st.booleans()):
        layers.append(PositionEmbedding())
    for _ in range(draw(st.integers(1, 2))):
        layers.append(
            TransformerBlock(
                d_model,
                n_heads=n_heads,
                d_ff=draw(st.integers(1, 12)),
                dropout=draw(_rates),
                activation=draw(st.sampled_from(("relu", "gelu"))),
                norm_first=draw(st.booleans()),
            )
        )
    return shape


def _body(draw: st.DrawFn, family: str, layers: list[Layer]) -> Shape:
    """Fill ``layers`` with a ``family`` network's body; return the network's input shape."""
    if family == "mlp":
        shape: Shape = (draw(st.integers(1, 12)),)
        _extend(draw, layers, shape, _block(0), draw(st.integers(0, 4)))
        return shape
    if family == "transformer":
        return _transformer(draw, layers)
    if family == "cnn2d":
        shape = (draw(st.integers(3, 10)), draw(st.integers(3, 10)), draw(st.integers(1, 3)))
        _extend(draw, layers, shape, _block(2), draw(st.integers(1, 4)))
        return shape
    shape = (draw(st.integers(2, 10)), draw(st.integers(1, 4)))
    if family == "cnn1d":
        _extend(draw, layers, shape, _block(1), draw(st.integers(1, 4)))
        return shape
    current = _extend(draw, layers, shape, _conv(1), draw(st.integers(0, 1)))
    for index in range(n_rnn := draw(st.integers(1, 2))):
        last = index == n_rnn - 1
        layer = draw(_recurrent(not last or draw(st.booleans())))
        layers.append(layer)
        current = layer_output_shape(layer, current)
    return shape


@st.composite
def _networks(draw: st.DrawFn, families: tuple[str, ...]) -> Network:
    family = draw(st.sampled_from(families))
    layers: list[Layer] = []
    input_shape = _body(draw, family, layers)
    current = input_shape
    for index, layer in enumerate(layers):
        current = layer_output_shape(layer, current, first=index == 0)
    _tail(draw, layers, current)
    head = Head(draw(_small), activation=draw(st.sampled_from(HEAD_ACTIVATIONS)))
    return Network(input_shape, layers=tuple(layers), head=head, name=family)


def networks(*, families: tuple[str, ...] = NETWORK_KINDS) -> st.SearchStrategy[Network]:
    """Return a strategy of feasible networks of the given families.

    Families: ``"mlp"`` (dense, norms, dropout, residual blocks), ``"cnn1d"`` and ``"cnn2d"``
    (standard and separable convolutions, pooling, batch norm, residual blocks with
    projections, then flattening or global pooling), ``"rnn"`` (GRU and LSTM layers,
    bidirectional or not) and ``"transformer"`` (an embedding or dense stem, position
    embeddings, encoder blocks). Sizes are small, so built models run in milliseconds.
    """
    unknown = sorted(set(families) - set(NETWORK_KINDS))
    if unknown or not families:
        raise ValueError(f"families must be a non-empty subset of {NETWORK_KINDS}, got {families}")
    return _networks(families)
