"""A ``keras.Model`` 's weights under the PyTorch builder's state-dict names, both ways.

:func:`get_state` returns what ``archtune.backends.torch.build_module(network).state_dict()``
holds for the same network: the same names, PyTorch's shapes and layouts (kernels transposed,
a GRU's gates reordered, attention projections packed), so a state moves between the two
backends. :func:`set_state` writes such entries back into the Keras variables.

The map is read off the network description the model was built from (``build_model``
attaches it; :class:`~archtune.backends.keras.KerasBackend` keeps it in its ``.keras`` files);
the names follow :mod:`archtune.interop` 's placement of imported weights (the convolution
names come from the same function). A Keras model with no description (a user's) is read with
:func:`archtune.interop.from_keras` and cannot be written to.

Keras keeps no count of batch-norm updates: ``num_batches_tracked`` reads as 0 and a written
one is ignored (PyTorch uses it only when ``momentum=None``, which the builder does not set).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from archtune._errors import ConfigError
from archtune.arch import (
    GRU,
    BatchNorm,
    Conv1D,
    Conv2D,
    Dense,
    Embedding,
    Layer,
    LayerNorm,
    Network,
    PositionEmbedding,
    Recurrent,
    Residual,
    Shape,
    TransformerBlock,
    layer_output_shape,
    residual_projection,
)
from archtune.backends._slots import _conv_slots
from archtune.backends._state import checked_state
from archtune.backends.keras._build import HEAD_NAME, NETWORK_ATTRIBUTE
from archtune.backends.keras._keras import import_keras

keras = import_keras()

__all__ = ["get_state", "model_network", "set_state", "state_entries"]

Array = npt.NDArray[Any]
Values = tuple[Array, ...]


@dataclass(frozen=True)
class Entry:
    """One state-dict entry: the Keras variables it is made of and the maps between layouts.

    Attributes:
        variables: The Keras variables (none for ``num_batches_tracked``).
        read: The variables' values to the PyTorch array.
        write: A PyTorch array and the variables' current values to their new values.
    """

    variables: tuple[Any, ...]
    read: Callable[[Values], Array]
    write: Callable[[Array, Values], Values]


def _same(variable: Any) -> Entry:
    return Entry((variable,), lambda v: v[0], lambda t, v: (t,))


def _transposed(variable: Any) -> Entry:
    """A ``Dense`` kernel ``(in, out)``: PyTorch's ``(out, in)``."""
    return Entry((variable,), lambda v: v[0].T, lambda t, v: (t.T,))


def _kernel(variable: Any, rank: int) -> Entry:
    """A convolution kernel ``(*window, in, out)``: PyTorch's ``(out, in, *window)``."""
    to_torch = (rank + 1, rank, *range(rank))
    to_keras = (*range(2, rank + 2), 1, 0)
    return Entry(
        (variable,), lambda v: v[0].transpose(to_torch), lambda t, v: (t.transpose(to_keras),)
    )


def _depthwise(variable: Any, rank: int) -> Entry:
    """A depthwise kernel ``(*window, in, 1)``: PyTorch's grouped ``(in, 1, *window)``."""
    to_torch = (rank, rank + 1, *range(rank))
    to_keras = (*range(2, rank + 2), 0, 1)
    return Entry(
        (variable,), lambda v: v[0].transpose(to_torch), lambda t, v: (t.transpose(to_keras),)
    )


def _swap_gates(array: Array) -> Array:
    """The first two gate blocks of axis 0 swapped: Keras's GRU (z, r, h), PyTorch's (r, z, n)."""
    z, r, h = np.split(array, 3, axis=0)
    return np.concatenate([r, z, h], axis=0)


def _gru_matrix(variable: Any) -> Entry:
    return Entry((variable,), lambda v: _swap_gates(v[0].T), lambda t, v: (_swap_gates(t).T,))


def _gru_bias(variable: Any, row: int) -> Entry:
    """Row ``row`` of a GRU's ``(2, 3 * units)`` bias: PyTorch's ``bias_ih`` (0) or ``bias_hh``."""

    def write(t: Array, v: Values) -> Values:
        new = np.array(v[0], copy=True)
        new[row] = _swap_gates(t)
        return (new,)

    return Entry((variable,), lambda v: _swap_gates(v[0][row]), write)


def _no_count() -> Entry:
    return Entry((), lambda v: np.array(0, dtype=np.int64), lambda t, v: ())


def _packed(variables: tuple[Any, ...], kernel: bool) -> Entry:
    """PyTorch's packed attention input projection from Keras's query, key and value."""

    def read(v: Values) -> Array:
        if kernel:  # (d, heads, head_dim) each -> (3d, d)
            return np.concatenate([k.reshape(k.shape[0], -1).T for k in v], axis=0)
        return np.concatenate([b.reshape(-1) for b in v], axis=0)

    def write(t: Array, v: Values) -> Values:
        parts = np.split(t, len(v), axis=0)
        if kernel:
            return tuple(p.T.reshape(k.shape) for p, k in zip(parts, v, strict=True))
        return tuple(p.reshape(b.shape) for p, b in zip(parts, v, strict=True))

    return Entry(variables, read, write)


def _attention_output(variable: Any) -> Entry:
    """Keras's ``(heads, head_dim, d)`` output kernel: PyTorch's ``(d, d)`` ``out_proj``."""
    return Entry(
        (variable,),
        lambda v: v[0].reshape(-1, v[0].shape[-1]).T,
        lambda t, v: (t.T.reshape(v[0].shape),),
    )


def _dense(target: Any, base: str, out: dict[str, Entry]) -> None:
    out[f"{base}.weight"] = _transposed(target.kernel)
    if getattr(target, "use_bias", True) and target.bias is not None:
        out[f"{base}.bias"] = _same(target.bias)


def _norm(target: Any, base: str, out: dict[str, Entry]) -> None:
    out[f"{base}.weight"] = _same(target.gamma)
    out[f"{base}.bias"] = _same(target.beta)


def _conv(layer: Conv1D | Conv2D, target: Any, shape: Shape, prefix: str) -> dict[str, Entry]:
    rank = 1 if isinstance(layer, Conv1D) else 2
    out: dict[str, Entry] = {}
    for name, role in _conv_slots(layer, shape, prefix):
        if role == "weight":
            out[name] = _kernel(target.kernel, rank)
        elif role == "depthwise":
            out[name] = _depthwise(target.depthwise_kernel, rank)
        elif role == "pointwise":
            out[name] = _kernel(target.pointwise_kernel, rank)
        else:
            out[name] = _same(target.bias)
    return out


def _recurrent(layer: Recurrent, target: Any, prefix: str) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    directions = (
        [(target.forward_layer, ""), (target.backward_layer, "_reverse")]
        if layer.bidirectional
        else [(target, "")]
    )
    for rnn, suffix in directions:
        cell = rnn.cell
        base = f"{prefix}.rnn"
        if isinstance(layer, GRU):
            out[f"{base}.weight_ih_l0{suffix}"] = _gru_matrix(cell.kernel)
            out[f"{base}.weight_hh_l0{suffix}"] = _gru_matrix(cell.recurrent_kernel)
            out[f"{base}.bias_ih_l0{suffix}"] = _gru_bias(cell.bias, 0)
            out[f"{base}.bias_hh_l0{suffix}"] = _gru_bias(cell.bias, 1)
        else:  # TorchLSTMCell: Keras's gate order (i, f, c, o) is PyTorch's
            out[f"{base}.weight_ih_l0{suffix}"] = _transposed(cell.kernel)
            out[f"{base}.weight_hh_l0{suffix}"] = _transposed(cell.recurrent_kernel)
            out[f"{base}.bias_ih_l0{suffix}"] = _same(cell.bias)
            out[f"{base}.bias_hh_l0{suffix}"] = _same(cell.recurrent_bias)
    return out


def _transformer(target: Any, prefix: str) -> dict[str, Entry]:
    attention = target.attention
    projections = (attention._query_dense, attention._key_dense, attention._value_dense)
    output = attention._output_dense
    base = f"{prefix}.self_attn"
    out = {
        f"{base}.in_proj_weight": _packed(tuple(p.kernel for p in projections), kernel=True),
        f"{base}.in_proj_bias": _packed(tuple(p.bias for p in projections), kernel=False),
        f"{base}.out_proj.weight": _attention_output(output.kernel),
        f"{base}.out_proj.bias": _same(output.bias),
    }
    _dense(target.linear1, f"{prefix}.linear1", out)
    _dense(target.linear2, f"{prefix}.linear2", out)
    _norm(target.norm1, f"{prefix}.norm1", out)
    _norm(target.norm2, f"{prefix}.norm2", out)
    return out


def _layer(layer: Layer, shape: Shape, prefix: str, name: str, model: Any) -> dict[str, Entry]:
    """The entries of one described layer: PyTorch names under ``prefix``, the Keras layer
    (or, for a residual block, layers) called ``name``."""
    out: dict[str, Entry] = {}
    if isinstance(layer, Residual):
        current = shape
        for index, child in enumerate(layer.layers):
            out |= _layer(child, current, f"{prefix}.body.{index}", f"{name}_{index}", model)
            current = layer_output_shape(child, current)
        if residual_projection(shape, current) is not None:
            _dense(model.get_layer(f"{name}_projection"), f"{prefix}.projection", out)
        return out
    if isinstance(layer, Dense):
        suffix = ".0" if layer.activation != "none" else ""
        _dense(model.get_layer(name), f"{prefix}{suffix}", out)
    elif isinstance(layer, (Conv1D, Conv2D)):
        out = _conv(layer, model.get_layer(name), shape, prefix)
    elif isinstance(layer, BatchNorm):
        target = model.get_layer(name)
        base = f"{prefix}.norm"
        _norm(target, base, out)
        out[f"{base}.running_mean"] = _same(target.moving_mean)
        out[f"{base}.running_var"] = _same(target.moving_variance)
        out[f"{base}.num_batches_tracked"] = _no_count()
    elif isinstance(layer, LayerNorm):
        _norm(model.get_layer(name), prefix, out)
    elif isinstance(layer, Embedding):
        out[f"{prefix}.weight"] = _same(model.get_layer(name).embeddings)
    elif isinstance(layer, PositionEmbedding):
        out[f"{prefix}.table.weight"] = _same(model.get_layer(name).embeddings)
    elif isinstance(layer, Recurrent):
        out = _recurrent(layer, model.get_layer(name), prefix)
    elif isinstance(layer, TransformerBlock):
        out = _transformer(model.get_layer(name), prefix)
    return out


def model_network(model: Any) -> Network | None:
    """The description ``model`` was built from, when it carries one."""
    network = getattr(model, NETWORK_ATTRIBUTE, None)
    return network if isinstance(network, Network) else None


def state_entries(model: Any, network: Network) -> dict[str, Entry]:
    """Every state-dict entry of ``network`` 's PyTorch module, in its order, mapped onto
    the Keras ``model`` built from the same description.

    Raises:
        ConfigError: The model's layers are not the ones ``build_model`` gives ``network``.
    """
    out: dict[str, Entry] = {}
    shape = network.input_shape
    try:
        for index, layer in enumerate(network.layers):
            out |= _layer(layer, shape, f"layers.{index}", f"layers_{index}", model)
            shape = layer_output_shape(layer, shape, first=index == 0)
        _dense(model.get_layer(HEAD_NAME), "head", out)
    except (ValueError, AttributeError) as exc:
        raise ConfigError(
            f"the Keras model {getattr(model, 'name', '?')!r} does not have the layers that "
            f"build_model gives its network description ({exc})"
        ) from exc
    return out


def _numpy(variable: Any) -> Array:
    return np.array(keras.ops.convert_to_numpy(variable), copy=True)


def _read(entry: Entry) -> Array:
    return np.asarray(entry.read(tuple(_numpy(v) for v in entry.variables)))


def get_state(model: Any) -> dict[str, Array]:
    """The model's weights and batch-norm statistics under the PyTorch builder's names.

    Raises:
        ConfigError: A model without a description that ``from_keras`` cannot read.
    """
    network = model_network(model)
    if network is None:
        return _imported_state(model)
    return {
        name: np.array(_read(entry), order="C")
        for name, entry in state_entries(model, network).items()
    }


def _imported_state(model: Any) -> dict[str, Array]:
    from archtune.interop import from_keras

    try:
        imported = from_keras(model)
    except Exception as exc:
        raise ConfigError(
            "KerasBackend.get_state: the model was not built by KerasBackend.build (or "
            f"loaded from its .keras file) and from_keras cannot read it: {exc}"
        ) from exc
    return {name: np.array(value, copy=True) for name, value in imported.weights.items()}


def set_state(model: Any, state: Mapping[str, Any], *, strict: bool = False) -> None:
    """Write entries of :func:`get_state` 's form into the model's variables, in place.

    Raises:
        ConfigError: An unknown name, a shape mismatch, a missing entry when ``strict``, or
            a model that carries no network description.
    """
    where = "KerasBackend.set_state"
    network = model_network(model)
    if network is None:
        raise ConfigError(
            f"{where}: the model carries no network description; build it with "
            "KerasBackend.build or load it from a file KerasBackend.save wrote"
        )
    entries = state_entries(model, network)
    shapes = {name: tuple(_read(entry).shape) for name, entry in entries.items()}
    arrays = checked_state(where, shapes, state, strict=strict)
    for name, array in arrays.items():
        entry = entries[name]
        current = tuple(_numpy(v) for v in entry.variables)
        new = entry.write(np.asarray(array), current)
        for variable, value in zip(entry.variables, new, strict=True):
            shape = tuple(int(n) for n in variable.shape)
            variable.assign(np.asarray(value).astype(variable.dtype).reshape(shape))
