"""``from_torch``: a PyTorch module, traced with ``torch.fx``, to a network description.

PyTorch convolutions, pooling and batch norm work channels-first (``NCHW``); the description
is channels-last. The importer tracks which layout each tensor has: the description's input is
the example's shape with the channels moved last (``ImportedModel.input_permutation`` says
how), convolution weights keep PyTorch's layout (the builder runs them channels-first too),
and a ``Flatten`` of a channels-first tensor permutes the next layer's input columns so the
outputs match. ``permute``/``transpose`` calls that only move the channels change the layout
and add no layer.
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from archtune._errors import ConfigError
from archtune._imports import require
from archtune.arch import (
    GRU,
    LSTM,
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
    HeadActivation,
    InfeasibleNetworkError,
    LayerNorm,
    MaxPool1D,
    MaxPool2D,
    Residual,
    Shape,
    residual_projection,
    window,
)
from archtune.backends._slots import Array, LayerWeights, state_dict
from archtune.interop._emit import Emitter, as_array
from archtune.interop._errors import UnsupportedLayerError
from archtune.interop._graph import Fork, Graph, Op, Step, linearize, split_fork
from archtune.interop._imported import ImportedModel

__all__ = ["SUPPORTED_TORCH_LAYERS", "from_torch"]

SOURCE = "from_torch"
TORCH_EPS = 1e-5  # the epsilon of the builder's batch and layer norms

#: The PyTorch modules and calls :func:`from_torch` reads.
SUPPORTED_TORCH_LAYERS: tuple[str, ...] = (
    "Linear",
    "Conv1d",
    "Conv2d",
    "depthwise Conv1d/Conv2d followed by a 1x1 convolution",
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "F.max_pool1d/2d",
    "F.avg_pool1d/2d",
    "AdaptiveAvgPool1d/2d(1)",
    "AdaptiveMaxPool1d/2d(1)",
    "mean/amax over the spatial axes",
    "Flatten",
    "torch.flatten",
    "view/reshape(n, -1)",
    "Dropout",
    "F.dropout",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "ReLU/GELU/Tanh/Sigmoid/SiLU (modules, F.* or torch.* calls, tensor methods)",
    "Softmax/LogSoftmax (last)",
    "GRU",
    "LSTM",
    "Embedding",
    "Identity",
    "permute/transpose between channels-first and channels-last",
    "x + y of two branches (residual)",
)

_CF, _CL = "channels_first", "channels_last"


def _names(table: dict[str, list[str]]) -> dict[str, str]:
    return {alias: name for name, aliases in table.items() for alias in aliases}


_METHOD_ACTIVATIONS = _names({"relu": ["relu", "relu_"], "tanh": ["tanh"], "sigmoid": ["sigmoid"]})
_MODULE_ACTIVATIONS = {
    "ReLU": "relu",
    "GELU": "gelu",
    "Tanh": "tanh",
    "Sigmoid": "sigmoid",
    "SiLU": "swish",
}


@dataclass(frozen=True)
class _Node:
    """One operation of the traced graph with its shapes (PyTorch's, batch axis included)."""

    fx: Any
    where: str
    label: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...] | None  # None for tuple results (recurrent layers)


@dataclass
class _Recurrent:
    """A GRU/LSTM whose result (sequence or state) is not chosen yet."""

    module: Any
    node: _Node
    stage: str = "result"  # result -> sequence | state (LSTM: pair -> state)


@dataclass
class _State:
    """What the walk knows about the current tensor."""

    layout: str = _CL
    perm: Array | None = None  # pending flatten permutation of the features
    squeezed: bool = False  # global pooling that kept 1-sized axes (not yet flattened)
    recurrent: _Recurrent | None = None


def from_torch(
    module: Any,
    example_input: Any,
    *,
    name: str | None = None,
    head_activation: HeadActivation | None = None,
) -> ImportedModel:
    """Import a PyTorch module: its structure (traced with ``torch.fx``) and its weights.

    ``nn.Sequential`` models and ordinary modules whose ``forward`` is a chain of supported
    layers (with residual additions) are read; ``example_input`` (a batch) gives the shapes.
    An image model that takes ``NCHW`` becomes a description with channels-last input
    ``(H, W, C)``: give it ``imported.prepare_input(x)``.

    Args:
        module: The model (left unchanged: training flags are restored, no weight changes).
        example_input: A batch the model accepts, e.g. ``torch.zeros(1, 1, 28, 28)``.
        name: The network's name (default: the module's class name).
        head_activation: What the outputs mean: ``"softmax"`` for a classifier's logits,
            ``"sigmoid"``, or ``"none"``. By default a final softmax/sigmoid decides, else
            ``"none"`` (with a note: PyTorch classifiers usually return logits).

    Raises:
        UnsupportedLayerError: A layer, call or setting has no equivalent in the description;
            the message names it, its position and the supported layers.
        ConfigError: ``module`` cannot be traced or ``example_input`` is not a batch.
        MissingDependencyError: torch is not installed.

    Example:
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(),
        ...                           torch.nn.Linear(32, 3))
        >>> from_torch(net, torch.zeros(1, 10), head_activation="softmax").params
        451
    """
    torch = require("torch", extra="torch", feature="from_torch")
    if not isinstance(module, torch.nn.Module):
        raise ConfigError(
            f"{SOURCE}: module must be a torch.nn.Module, got {type(module).__name__}"
        )
    if not isinstance(example_input, torch.Tensor) or example_input.dim() < 2:
        raise ConfigError(
            f"{SOURCE}: example_input must be a batch tensor (N, ...), got "
            f"{getattr(example_input, 'shape', type(example_input).__name__)}; e.g. "
            "torch.zeros(1, 1, 28, 28)"
        )
    traced = _trace(torch, module, example_input)
    nodes, graph = _graph(traced, example_input)
    steps = linearize(graph)
    modules = dict(traced.named_modules())
    reader = _Reader(torch, modules, nodes)
    state = _State(layout=_input_layout(reader, steps, example_input.dim()))
    input_shape = tuple(int(d) for d in example_input.shape[1:])
    permutation: tuple[int, ...] | None = None
    if state.layout == _CF:
        input_shape = (*input_shape[1:], input_shape[0])
        permutation = (0, *range(2, example_input.dim()), 1)
    emitter = Emitter(SOURCE, input_shape)
    reader.run(steps, emitter, state)
    reader.settle(emitter, state)
    if emitter.softmax is None and head_activation is None:
        last = emitter.layers[-1] if emitter.layers else None
        if not (isinstance(last, Dense) and last.activation == "sigmoid"):
            reader.notes.append(
                "the module returns raw outputs, so the head's activation is 'none'; pass "
                "head_activation='softmax' if they are a classifier's logits"
            )
    network, layers, head = emitter.finish(
        name=name if name is not None else type(module).__name__,
        head_activation=head_activation,
        notes=reader.notes,
    )
    return ImportedModel(
        network,
        state_dict(network, layers, head),
        "torch",
        input_permutation=permutation,
        notes=tuple(reader.notes),
    )


def _trace(torch: Any, module: Any, example_input: Any) -> Any:
    """Trace ``module`` with fx and record each node's shape, leaving ``module`` unchanged."""
    from torch.fx.passes.shape_prop import ShapeProp

    try:
        traced = torch.fx.symbolic_trace(module)
    except Exception as exc:
        raise ConfigError(
            f"{SOURCE}: {type(module).__name__} cannot be traced with torch.fx "
            f"({type(exc).__name__}: {exc}); write it as nn.Sequential or remove the "
            "control flow that depends on tensor values from forward()"
        ) from exc
    traced.graph.eliminate_dead_code()
    traced.recompile()
    flags = {sub: sub.training for sub in module.modules()}
    try:
        module.eval()
        with torch.no_grad():
            ShapeProp(traced).propagate(copy.copy(example_input))
    except Exception as exc:
        raise ConfigError(
            f"{SOURCE}: {type(module).__name__} does not run on example_input of shape "
            f"{tuple(example_input.shape)} ({type(exc).__name__}: {exc})"
        ) from exc
    finally:
        for sub, training in flags.items():
            sub.training = training
    return traced


def _callable_name(target: Any) -> str:
    name = getattr(target, "__name__", None) or str(target)
    module = getattr(target, "__module__", "") or ""
    if module.startswith("torch.nn.functional"):
        return f"F.{name}"
    if module.startswith("torch"):
        return f"torch.{name}"
    if module in ("_operator", "operator"):
        return f"operator.{name}"
    return name


def _describe(fx: Any, modules: dict[str, Any]) -> tuple[str, str]:
    """``(where, label)`` of a node for messages."""
    if fx.op == "call_module":
        return f"module {fx.target!r}", f"({type(modules[fx.target]).__name__})"
    if fx.op == "call_method":
        return f"node {fx.name!r}", f"(tensor.{fx.target}())"
    if fx.op == "call_function":
        return f"node {fx.name!r}", f"({_callable_name(fx.target)}())"
    return f"node {fx.name!r}", f"({fx.op} {fx.target})"


def _shape(fx: Any) -> tuple[int, ...] | None:
    meta = fx.meta.get("tensor_meta")
    shape = getattr(meta, "shape", None)
    return None if shape is None else tuple(int(d) for d in shape)


def _graph(traced: Any, example_input: Any) -> tuple[list[_Node], Graph]:
    modules = dict(traced.named_modules())
    fx_nodes = list(traced.graph.nodes)
    placeholders = [n for n in fx_nodes if n.op == "placeholder"]
    if len(placeholders) != 1:
        raise ConfigError(f"{SOURCE}: module must take one input, got {len(placeholders)}")
    index: dict[Any, int] = {}
    nodes: list[_Node] = []
    inputs: list[tuple[int, ...]] = []
    joins: set[int] = set()
    output: int | None = None
    for fx in fx_nodes:
        if fx.op == "placeholder":
            shape = tuple(int(d) for d in example_input.shape)
            index[fx] = len(nodes)
            nodes.append(_Node(fx, "the input", "", (), shape))
            inputs.append(())
            continue
        where, label = _describe(fx, modules)
        if fx.op == "get_attr":
            raise UnsupportedLayerError(
                SOURCE,
                where,
                label,
                "reads a tensor attribute directly; only submodules' parameters can be imported",
            )
        if fx.op == "output":
            result = fx.args[0]
            if result not in index:
                raise ConfigError(f"{SOURCE}: forward() must return one tensor, got {result!r}")
            output = index[result]
            continue
        if "tensor_meta" not in fx.meta:
            continue  # a size or shape query: metadata, not part of the chain
        sources = [index[n] for n in fx.all_input_nodes if n in index]
        if _is_join(fx, len(sources)):
            joins.add(len(nodes))
        elif len(sources) != 1:
            raise UnsupportedLayerError(
                SOURCE,
                where,
                label,
                f"reads {len(sources)} tensors; only an addition of two "
                "branches (a residual block) may",
            )
        in_shape = nodes[sources[0]].out_shape or () if sources else ()
        index[fx] = len(nodes)
        nodes.append(_Node(fx, where, label, in_shape, _shape(fx)))
        inputs.append(tuple(sources))
    if output is None:  # pragma: no cover - fx graphs always have an output
        raise ConfigError(f"{SOURCE}: the traced graph has no output")
    labels = [f"{n.where} {n.label}".strip() for n in nodes]
    return nodes, Graph(SOURCE, inputs, frozenset(joins), output, labels)


def _is_join(fx: Any, n_sources: int) -> bool:
    if n_sources != 2 or fx.kwargs.get("alpha", 1) != 1:
        return False
    if fx.op == "call_function":
        return (
            fx.target in (operator.add, operator.iadd)
            or getattr(fx.target, "__name__", "") == "add"
        )
    return fx.op == "call_method" and fx.target in ("add", "__add__", "add_")


def _iter_ops(steps: tuple[Step, ...]) -> Iterator[int]:
    for step in steps:
        if isinstance(step, Op):
            yield step.node
        else:
            for branch in step.branches:
                yield from _iter_ops(branch)


def _input_layout(reader: _Reader, steps: tuple[Step, ...], rank: int) -> str:
    """Channels-first when the first layout-sensitive operation says so (counting permutes)."""
    if rank < 3:
        return _CL
    toggles = 0
    for node in _iter_ops(steps):
        hint = reader.layout_hint(reader.nodes[node])
        if hint == "toggle":
            toggles += 1
        elif hint == "stop":
            break
        elif hint is not None:
            if toggles % 2 == 0:
                return hint
            return _CL if hint == _CF else _CF
    return _CL if toggles % 2 == 0 else _CF


def _normalise_dims(dims: Any, rank: int) -> tuple[int, ...]:
    values = dims if isinstance(dims, (tuple, list)) else (dims,)
    return tuple(sorted(int(d) % rank for d in values))


def _pair_or_int(values: tuple[int, ...]) -> int | tuple[int, int]:
    if len(set(values)) == 1:
        return values[0]
    return (values[0], values[1])


def _tuple(value: Any, rank: int) -> tuple[int, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(int(v) for v in value)
    return (int(value),) * rank


class _Reader:
    """Reads the traced graph's operations into an :class:`Emitter`."""

    def __init__(self, torch: Any, modules: dict[str, Any], nodes: list[_Node]) -> None:
        self.torch = torch
        self.modules = modules
        self.nodes = nodes
        self.notes: list[str] = []
        nn, functional = torch.nn, torch.nn.functional
        self.module_handlers: dict[type, Callable[[Any, _Node, Emitter, _State], None]] = {
            nn.Linear: self._linear,
            nn.MaxPool1d: self._pool_module,
            nn.MaxPool2d: self._pool_module,
            nn.AvgPool1d: self._pool_module,
            nn.AvgPool2d: self._pool_module,
            nn.AdaptiveAvgPool1d: self._adaptive_pool,
            nn.AdaptiveAvgPool2d: self._adaptive_pool,
            nn.AdaptiveMaxPool1d: self._adaptive_pool,
            nn.AdaptiveMaxPool2d: self._adaptive_pool,
            nn.Flatten: self._flatten_module,
            nn.Dropout: self._dropout,
            nn.BatchNorm1d: self._batch_norm,
            nn.BatchNorm2d: self._batch_norm,
            nn.LayerNorm: self._layer_norm,
            nn.GRU: self._recurrent,
            nn.LSTM: self._recurrent,
            nn.Embedding: self._embedding,
            nn.Identity: lambda *args: None,
            nn.Softmax: self._softmax_module,
            nn.LogSoftmax: self._softmax_module,
        }
        for cls_name in _MODULE_ACTIVATIONS:
            self.module_handlers[getattr(nn, cls_name)] = self._activation_module
        self.function_activations: dict[Any, str] = {
            functional.relu: "relu",
            torch.relu: "relu",
            torch.relu_: "relu",
            functional.gelu: "gelu",
            torch.tanh: "tanh",
            functional.tanh: "tanh",
            torch.sigmoid: "sigmoid",
            functional.sigmoid: "sigmoid",
            functional.silu: "swish",
        }
        self.function_softmax = {
            functional.softmax,
            torch.softmax,
            functional.log_softmax,
            torch.log_softmax,
        }
        self.function_pools: dict[Any, tuple[str, int]] = {
            functional.max_pool1d: ("max", 1),
            functional.max_pool2d: ("max", 2),
            functional.avg_pool1d: ("avg", 1),
            functional.avg_pool2d: ("avg", 2),
        }

    # -- helpers -------------------------------------------------------------------------
    def np(self, tensor: Any) -> Array:
        return as_array(tensor.detach().cpu().numpy())

    def fail(self, node: _Node, reason: str, *, listing: bool = False) -> UnsupportedLayerError:
        supported = SUPPORTED_TORCH_LAYERS if listing else ()
        return UnsupportedLayerError(SOURCE, node.where, node.label, reason, supported)

    def require(self, node: _Node, ok: bool, what: str, value: Any) -> None:
        if not ok:
            raise self.fail(node, f"{what}, got {value!r}")

    def module(self, node: _Node) -> Any:
        return self.modules[node.fx.target] if node.fx.op == "call_module" else None

    def arg(self, node: _Node, position: int, keyword: str, default: Any) -> Any:
        """The call's argument by position (after the tensor) or keyword."""
        args = node.fx.args
        if len(args) > position:
            return args[position]
        return node.fx.kwargs.get(keyword, default)

    def layout_hint(self, node: _Node) -> str | None:
        """What an operation says about the layout of its input (for :func:`_input_layout`)."""
        fx, module = node.fx, self.module(node)
        rank = len(node.in_shape)
        channels_first = (
            self.torch.nn.Conv1d,
            self.torch.nn.Conv2d,
            self.torch.nn.MaxPool1d,
            self.torch.nn.MaxPool2d,
            self.torch.nn.AvgPool1d,
            self.torch.nn.AvgPool2d,
            self.torch.nn.AdaptiveAvgPool1d,
            self.torch.nn.AdaptiveAvgPool2d,
            self.torch.nn.AdaptiveMaxPool1d,
            self.torch.nn.AdaptiveMaxPool2d,
        )
        if module is not None:
            if isinstance(module, channels_first):
                return _CF
            if isinstance(module, (self.torch.nn.BatchNorm1d, self.torch.nn.BatchNorm2d)):
                return _CF if rank >= 3 else None
            if isinstance(module, (self.torch.nn.GRU, self.torch.nn.LSTM)):
                return _CL
            if isinstance(module, (self.torch.nn.Linear, self.torch.nn.LayerNorm)):
                return _CL if rank >= 3 else None
            if isinstance(module, self.torch.nn.Flatten):
                return "stop"
            return None
        if fx.op == "call_function" and fx.target in self.function_pools:
            return _CF
        name = fx.target if fx.op == "call_method" else getattr(fx.target, "__name__", "")
        if name in ("permute", "transpose"):
            return "toggle"
        if name in ("flatten", "view", "reshape"):
            return "stop"
        return None

    # -- the walk ------------------------------------------------------------------------
    def run(self, steps: tuple[Step, ...], emitter: Emitter, state: _State) -> None:
        index = 0
        while index < len(steps):
            step = steps[index]
            if isinstance(step, Fork):
                self._fork(step, emitter, state)
                index += 1
                continue
            node = self.nodes[step.node]
            following = steps[index + 1] if index + 1 < len(steps) else None
            index += 1 + self._step(node, following, emitter, state)

    def settle(self, emitter: Emitter, state: _State) -> None:
        """Emit a recurrent layer whose whole sequence is the chain's output."""
        pending = state.recurrent
        if pending is None:
            return
        if pending.stage != "sequence":
            raise self.fail(
                pending.node, "passes its state on; use its output sequence or state[-1]"
            )
        self._emit_recurrent(pending, emitter, state, return_sequences=True)

    def _step(self, node: _Node, following: Step | None, emitter: Emitter, state: _State) -> int:
        """Read one operation; return how many following steps it consumed too."""
        fx = node.fx
        pending = state.recurrent
        if pending is not None:
            if fx.op == "call_function" and fx.target is operator.getitem:
                self._recurrent_item(pending, node, emitter, state)
                self._check_shape(node, emitter, state)
                return 0
            self.settle(emitter, state)
        emitter.check_open(node.where, node.label)
        consumed = 0
        module = self.module(node)
        if isinstance(module, (self.torch.nn.Conv1d, self.torch.nn.Conv2d)):
            consumed = self._conv_pair(module, node, following, emitter, state)
        elif module is not None:
            handler = self.module_handlers.get(type(module))
            if handler is None:
                raise self.fail(node, "is not supported", listing=True)
            handler(module, node, emitter, state)
        elif fx.op == "call_function":
            self._function(node, emitter, state)
        elif fx.op == "call_method":
            self._method(node, emitter, state)
        else:  # pragma: no cover - placeholders and outputs are not steps
            raise self.fail(node, "is not supported", listing=True)
        if not consumed:  # a separable pair checked the pointwise node's shape
            self._check_shape(node, emitter, state)
        return consumed

    def _check_shape(self, node: _Node, emitter: Emitter, state: _State) -> None:
        if state.recurrent is not None or state.squeezed or node.out_shape is None:
            return
        shape = node.out_shape[1:]
        if state.layout == _CF and len(shape) >= 2:
            shape = (*shape[1:], shape[0])
        if shape != emitter.shape:  # pragma: no cover - a reader's bug
            raise self.fail(
                node,
                f"gives shape {shape} (channels-last) where the description has {emitter.shape}",
            )

    def _fork(self, fork: Fork, emitter: Emitter, state: _State) -> None:
        join = self.nodes[fork.join]
        if state.recurrent is not None:
            self.settle(emitter, state)
        emitter.check_open(join.where, join.label)
        if state.perm is not None or state.squeezed:
            raise self.fail(join, "adds branches that start after a flatten or global pooling")
        split = split_fork(fork, self._is_projection)
        if split is None:
            raise self.fail(
                join,
                "adds two branches with layers; one must be the identity or a 1x1 projection "
                "(a Conv with kernel 1 or a Linear, nothing after it)",
            )
        body, shortcut = split
        inner = Emitter(SOURCE, emitter.shape, first=False)
        inner_state = _State(layout=state.layout)
        self.run(body, inner, inner_state)
        self.settle(inner, inner_state)
        if inner.softmax is not None or inner_state.perm is not None or inner_state.squeezed:
            raise self.fail(join, "adds a branch that flattens, pools globally or ends in softmax")
        if inner_state.layout != state.layout:
            raise self.fail(join, "adds a branch that changes the channels' position")
        weights = LayerWeights(body=inner.weights)
        try:
            strides = residual_projection(emitter.shape, inner.shape, path=join.where)
        except InfeasibleNetworkError as exc:
            raise self.fail(join, exc.reason) from None
        if strides is None and shortcut:
            raise self.fail(
                join,
                "has a projection shortcut where the shapes already match; the "
                "description's shortcut is then the identity",
            )
        if strides is not None:
            step = shortcut[0] if shortcut else None
            if not isinstance(step, Op):  # pragma: no cover - PyTorch cannot add such shapes
                raise self.fail(join, "adds tensors of different shapes")
            weights.arrays |= self._projection(self.nodes[step.node], strides, inner.shape)
        emitter.add(Residual(tuple(inner.layers)), weights, where=join.where, label=join.label)

    def _is_projection(self, branch: tuple[Step, ...]) -> bool:
        if len(branch) != 1 or not isinstance(branch[0], Op):
            return False
        module = self.module(self.nodes[branch[0].node])
        if isinstance(module, self.torch.nn.Linear):
            return True
        if isinstance(module, (self.torch.nn.Conv1d, self.torch.nn.Conv2d)):
            return (
                all(k == 1 for k in module.kernel_size)
                and all(d == 1 for d in module.dilation)
                and module.groups == 1
                and module.padding in ("valid", (0,), (0, 0))
            )
        return False

    def _projection(
        self, node: _Node, strides: tuple[int, ...], out_shape: Shape
    ) -> dict[str, Array]:
        module = self.module(node)
        weight = self.np(module.weight)
        matrix = weight.reshape(weight.shape[0], weight.shape[1])
        if isinstance(module, (self.torch.nn.Conv1d, self.torch.nn.Conv2d)):
            given = tuple(int(s) for s in module.stride)
            for axis, (want, got) in enumerate(zip(strides, given, strict=True)):
                if want != got and out_shape[axis] != 1:
                    raise self.fail(
                        node, f"stride must be {strides} to match the block's body, got {given}"
                    )
        if module.bias is not None:
            bias = self.np(module.bias)
        else:
            bias = np.zeros(matrix.shape[0], dtype=np.float32)
            self.notes.append(f"{node.where}: the shortcut projection gets a zero bias")
        return {"projection_weight": matrix, "projection_bias": bias}

    # -- modules -------------------------------------------------------------------------
    def _features(self, node: _Node, state: _State, what: str) -> None:
        if len(node.in_shape) >= 3 and state.layout == _CF:
            raise self.fail(
                node,
                f"{what} the last axis of a channels-first tensor (a spatial axis); move the "
                "channels last first (x.permute(...)) or flatten",
            )

    def _permuted(self, array: Array, state: _State, axis: int) -> Array:
        if state.perm is None:
            return array
        return np.ascontiguousarray(np.take(array, state.perm, axis=axis))

    def _linear(self, module: Any, node: _Node, emitter: Emitter, state: _State) -> None:
        self._features(node, state, "acts on")
        arrays = {"weight": self._permuted(self.np(module.weight), state, 1)}
        state.perm = None
        if module.bias is not None:
            arrays["bias"] = self.np(module.bias)
        desc = Dense(int(module.out_features), use_bias=module.bias is not None)
        emitter.add(desc, LayerWeights(arrays), where=node.where, label=node.label)

    def _padding(
        self, node: _Node, padding: Any, kernel: tuple[int, ...], stride: tuple[int, ...]
    ) -> str:
        spatial = node.in_shape[2:]
        if padding == "valid":
            return "valid"
        if padding == "same":
            return "same"
        pads = _tuple(padding, len(kernel))
        if all(p == 0 for p in pads):
            return "valid"
        for length, k, s, p in zip(spatial, kernel, stride, pads, strict=True):
            geometry = window(length, kernel=k, stride=s, padding="same")
            if (geometry.pad_before, geometry.pad_after) != (p, p):
                raise self.fail(
                    node,
                    f"has padding {padding!r}, which is neither 'valid' (0) nor Keras's 'same' "
                    f"for an input of {tuple(spatial)} (that pads {geometry.pad_before} before "
                    f"and {geometry.pad_after} after)",
                )
        return "same"

    def _check_conv(self, module: Any, node: _Node, state: _State) -> None:
        self.require(node, state.layout == _CF, "its input must be channels-first", "NHWC")
        self.require(
            node,
            module.padding_mode == "zeros",
            "padding_mode must be 'zeros'",
            module.padding_mode,
        )
        self.require(
            node, all(d == 1 for d in module.dilation), "dilation must be 1", module.dilation
        )

    def _conv_pair(
        self, module: Any, node: _Node, following: Step | None, emitter: Emitter, state: _State
    ) -> int:
        """A convolution, or a depthwise one and the 1x1 after it (one separable layer)."""
        self._check_conv(module, node, state)
        rank = len(module.kernel_size)
        kernel = tuple(int(k) for k in module.kernel_size)
        stride = tuple(int(s) for s in module.stride)
        padding = self._padding(node, module.padding, kernel, stride)
        cls = Conv1D if rank == 1 else Conv2D
        if module.groups == 1:
            arrays = {"weight": self.np(module.weight)}
            if module.bias is not None:
                arrays["bias"] = self.np(module.bias)
            desc = cls(
                int(module.out_channels),
                _pair_or_int(kernel),  # type: ignore[arg-type]
                stride=_pair_or_int(stride),  # type: ignore[arg-type]
                padding=padding,  # type: ignore[arg-type]
                use_bias=module.bias is not None,
            )
            emitter.add(desc, LayerWeights(arrays), where=node.where, label=node.label)
            return 0
        depthwise = module.groups == module.in_channels == module.out_channels
        pointwise_node = self.nodes[following.node] if isinstance(following, Op) else node
        pointwise = self.module(pointwise_node) if pointwise_node is not node else None
        if not (
            depthwise
            and pointwise is not None
            and type(pointwise) is type(module)
            and all(k == 1 for k in pointwise.kernel_size)
            and all(s == 1 for s in pointwise.stride)
            and all(d == 1 for d in pointwise.dilation)
            and pointwise.groups == 1
            and pointwise.padding in ("valid", (0,), (0, 0))
        ):
            raise self.fail(
                node,
                f"has groups={module.groups}; only groups=1, or a depthwise convolution "
                "(groups = in = out channels) followed by a 1x1 convolution, can be imported",
            )
        pw = self.np(pointwise.weight)
        use_bias = module.bias is not None or pointwise.bias is not None
        arrays = {"depthwise": self.np(module.weight), "pointwise": pw}
        if use_bias:
            bias = np.zeros(pw.shape[0], dtype=np.float32)
            if pointwise.bias is not None:
                bias = bias + self.np(pointwise.bias)
            if module.bias is not None:  # fold the depthwise bias through the pointwise map
                bias = bias + pw.reshape(pw.shape[0], pw.shape[1]) @ self.np(module.bias)
            arrays["bias"] = bias.astype(np.float32)
        desc = cls(
            int(pointwise.out_channels),
            _pair_or_int(kernel),  # type: ignore[arg-type]
            stride=_pair_or_int(stride),  # type: ignore[arg-type]
            padding=padding,  # type: ignore[arg-type]
            separable=True,
            use_bias=use_bias,
        )
        emitter.add(desc, LayerWeights(arrays), where=node.where, label=node.label)
        self._check_shape(pointwise_node, emitter, state)
        return 1

    def _pool(
        self,
        node: _Node,
        emitter: Emitter,
        state: _State,
        mode: str,
        rank: int,
        settings: dict[str, Any],
    ) -> None:
        self.require(node, state.layout == _CF, "its input must be channels-first", "NHWC")
        kernel = _tuple(settings["kernel_size"], rank)
        stride_value = settings.get("stride")
        stride = kernel if stride_value in (None, (), []) else _tuple(stride_value, rank)
        self.require(
            node,
            all(d == 1 for d in _tuple(settings.get("dilation", 1), rank)),
            "dilation must be 1",
            settings.get("dilation"),
        )
        self.require(
            node, not settings.get("return_indices", False), "return_indices must be False", True
        )
        padding = self._padding(node, settings.get("padding", 0), kernel, stride)
        if mode == "avg" and padding == "same":
            self.require(
                node,
                not settings.get("count_include_pad", True),
                "count_include_pad must be False with padding (Keras leaves padding out of "
                "averages)",
                True,
            )
        self.require(
            node,
            settings.get("divisor_override") is None,
            "divisor_override must be None",
            settings.get("divisor_override"),
        )
        cls = {
            ("max", 1): MaxPool1D,
            ("max", 2): MaxPool2D,
            ("avg", 1): AvgPool1D,
            ("avg", 2): AvgPool2D,
        }[(mode, rank)]
        pool, step = _pair_or_int(kernel), _pair_or_int(stride)
        desc = cls(pool, stride=None if step == pool else step, padding=padding)  # type: ignore[arg-type]
        emitter.add(desc, None, where=node.where, label=node.label)

    def _pool_module(self, module: Any, node: _Node, emitter: Emitter, state: _State) -> None:
        name = type(module).__name__
        settings = {
            "kernel_size": module.kernel_size,
            "stride": module.stride,
            "padding": module.padding,
            "dilation": getattr(module, "dilation", 1),
            "return_indices": getattr(module, "return_indices", False),
            "count_include_pad": getattr(module, "count_include_pad", True),
            "divisor_override": getattr(module, "divisor_override", None),
        }
        mode = "max" if name.startswith("Max") else "avg"
        self._pool(node, emitter, state, mode, 1 if name.endswith("1d") else 2, settings)

    def _adaptive_pool(self, module: Any, node: _Node, emitter: Emitter, state: _State) -> None:
        self.require(node, state.layout == _CF, "its input must be channels-first", "NHWC")
        rank = 1 if type(module).__name__.endswith("1d") else 2
        sizes = _tuple(module.output_size, rank)
        self.require(
            node,
            all(s == 1 for s in sizes),
            "output_size must be 1 (global pooling)",
            module.output_size,
        )
        cls = GlobalMaxPool if "Max" in type(module).__name__ else GlobalAvgPool
        emitter.add(cls(), None, where=node.where, label=node.label)
        state.squeezed = True

    def _flatten_module(self, module: Any, node: _Node, emitter: Emitter, state: _State) -> None:
        self.require(
            node,
            module.start_dim == 1 and module.end_dim == -1,
            "must flatten from axis 1 to the end (start_dim=1, end_dim=-1)",
            (module.start_dim, module.end_dim),
        )
        self._flatten(node, emitter, state)

    def _flatten(self, node: _Node, emitter: Emitter, state: _State) -> None:
        out = node.out_shape
        size = math.prod(node.in_shape[1:])
        if out is None or len(out) != 2 or out[1] != size:
            raise self.fail(
                node,
                f"reshapes {node.in_shape} to {out}; only flattening to (batch, "
                f"{size}) has an equivalent",
            )
        if state.squeezed:
            state.squeezed = False
            state.layout = _CL
            return
        if len(node.in_shape) <= 2:
            return
        if state.layout == _CF:
            channels_first = node.in_shape[1:]
            order = np.arange(size).reshape(channels_first)
            state.perm = order.transpose(*range(1, len(channels_first)), 0).reshape(-1)
            state.layout = _CL
        emitter.add(Flatten(), None, where=node.where, label=node.label)

    def _dropout(self, module: Any, node: _Node, emitter: Emitter, state: _State) -> None:
        emitter.add(Dropout(float(module.p)), None, where=node.where, label=node.label)

    def _batch_norm(self, module: Any, node: _Node, emitter: Emitter, state: _State) -> None:
        if len(node.in_shape) >= 3:
            self.require(node, state.layout == _CF, "its input must be channels-first", "NHWC")
        self.require(
            node,
            module.affine and module.track_running_stats,
            "must have affine=True and track_running_stats=True",
            (module.affine, module.track_running_stats),
        )
        variance = self.np(module.running_var) + float(module.eps) - TORCH_EPS
        arrays = {
            "weight": self._permuted(self.np(module.weight), state, 0),
            "bias": self._permuted(self.np(module.bias), state, 0),
            "running_mean": self._permuted(self.np(module.running_mean), state, 0),
            "running_var": self._permuted(np.maximum(variance, 0.0).astype(np.float32), state, 0),
            "num_batches_tracked": np.array(int(module.num_batches_tracked), dtype=np.int64),
        }
        emitter.add(BatchNorm(), LayerWeights(arrays), where=node.where, label=node.label)

    def _layer_norm(self, module: Any, node: _Node, emitter: Emitter, state: _State) -> None:
        self._features(node, state, "normalises")
        shape = tuple(module.normalized_shape)
        self.require(node, shape == node.in_shape[-1:], "must normalise the last axis only", shape)
        self.require(
            node,
            module.elementwise_affine and module.bias is not None,
            "must have elementwise_affine=True and a bias",
            module.elementwise_affine,
        )
        if abs(float(module.eps) - TORCH_EPS) > 1e-12:
            self.notes.append(
                f"{node.where}: LayerNorm eps {module.eps:g} becomes {TORCH_EPS:g}; outputs "
                "differ slightly"
            )
        arrays = {
            "weight": self._permuted(self.np(module.weight), state, 0),
            "bias": self._permuted(self.np(module.bias), state, 0),
        }
        emitter.add(LayerNorm(), LayerWeights(arrays), where=node.where, label=node.label)

    def _activation_module(
        self, module: Any, node: _Node, emitter: Emitter, state: _State
    ) -> None:
        name = _MODULE_ACTIVATIONS[type(module).__name__]
        if name == "gelu":
            self.require(
                node,
                module.approximate == "none",
                "approximate must be 'none'",
                module.approximate,
            )
        emitter.activation(name, where=node.where, label=node.label)

    def _softmax_module(self, module: Any, node: _Node, emitter: Emitter, state: _State) -> None:
        self._softmax(node, module.dim, emitter, log=isinstance(module, self.torch.nn.LogSoftmax))

    def _softmax(self, node: _Node, dim: Any, emitter: Emitter, *, log: bool) -> None:
        rank = len(node.in_shape)
        self.require(
            node,
            dim is not None and int(dim) % rank == rank - 1,
            "must act on the last axis (dim=-1)",
            dim,
        )
        if log:
            self.notes.append(
                f"{node.where}: the module returns log-probabilities; the built module "
                "returns logits (apply log_softmax to compare)"
            )
        emitter.activation("softmax", where=node.where, label=node.label)

    def _recurrent(self, module: Any, node: _Node, emitter: Emitter, state: _State) -> None:
        self._features(node, state, "reads")
        self.require(node, module.batch_first, "batch_first must be True", False)
        self.require(
            node,
            getattr(module, "proj_size", 0) == 0,
            "proj_size must be 0",
            getattr(module, "proj_size", 0),
        )
        state.recurrent = _Recurrent(module, node)

    def _recurrent_item(
        self, pending: _Recurrent, node: _Node, emitter: Emitter, state: _State
    ) -> None:
        key = node.fx.args[1]
        module = pending.module
        last_step = (slice(None), -1)
        if pending.stage == "result" and key in (0, 1):
            is_lstm = isinstance(module, self.torch.nn.LSTM)
            pending.stage = "sequence" if key == 0 else ("pair" if is_lstm else "state")
            return
        if pending.stage == "pair" and key == 0:
            pending.stage = "state"
            return
        if (pending.stage == "state" and key == -1) or (
            pending.stage == "sequence"
            and isinstance(key, tuple)
            and (key == last_step or key == (*last_step, slice(None)))
        ):
            if module.bidirectional:
                raise self.fail(
                    node,
                    "takes the last step of a bidirectional layer, which mixes the "
                    "directions; use the whole output sequence",
                )
            self._emit_recurrent(pending, emitter, state, return_sequences=False)
            return
        raise self.fail(
            node,
            f"indexes the recurrent layer's result with {key!r}; supported: out, _ = "
            "rnn(x) (the sequence), out[:, -1] or h[-1] (the last state)",
        )

    def _emit_recurrent(
        self, pending: _Recurrent, emitter: Emitter, state: _State, *, return_sequences: bool
    ) -> None:
        module, node = pending.module, pending.node
        state.recurrent = None
        cls = GRU if isinstance(module, self.torch.nn.GRU) else LSTM
        gates = 3 if cls is GRU else 4
        units = int(module.hidden_size)
        suffixes = ("", "_reverse") if module.bidirectional else ("",)
        params = dict(module.named_parameters())
        if not module.bias:
            self.notes.append(f"{node.where}: a recurrent layer without biases gets zero biases")
        for layer in range(int(module.num_layers)):
            arrays: dict[str, Array] = {}
            for suffix in suffixes:
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    source = params.get(f"{kind}_l{layer}{suffix}")
                    value = (
                        np.zeros(gates * units, dtype=np.float32)
                        if source is None
                        else self.np(source)
                    )
                    arrays[f"{kind}_l0{suffix}"] = value
            last = layer == module.num_layers - 1
            desc = cls(
                units,
                bidirectional=bool(module.bidirectional),
                return_sequences=return_sequences or not last,
            )
            emitter.add(desc, LayerWeights(arrays), where=node.where, label=node.label)
            if not last and float(module.dropout) > 0:
                emitter.add(
                    Dropout(float(module.dropout)), None, where=node.where, label=node.label
                )

    def _embedding(self, module: Any, node: _Node, emitter: Emitter, state: _State) -> None:
        self.require(node, module.max_norm is None, "max_norm must be None", module.max_norm)
        if module.padding_idx is not None:
            self.notes.append(
                f"{node.where}: padding_idx is dropped (it only freezes one row's gradient)"
            )
        desc = Embedding(int(module.num_embeddings), dim=int(module.embedding_dim))
        weights = LayerWeights({"weight": self.np(module.weight)})
        emitter.add(desc, weights, where=node.where, label=node.label)

    # -- calls ---------------------------------------------------------------------------
    def _function(self, node: _Node, emitter: Emitter, state: _State) -> None:
        fx, target = node.fx, node.fx.target
        if target in self.function_activations:
            name = self.function_activations[target]
            if name == "gelu":
                approximate = fx.kwargs.get("approximate", "none")
                self.require(
                    node, approximate == "none", "approximate must be 'none'", approximate
                )
            emitter.activation(name, where=node.where, label=node.label)
        elif target in self.function_softmax:
            log = "log" in getattr(target, "__name__", "")
            self._softmax(node, self.arg(node, 1, "dim", None), emitter, log=log)
        elif target in self.function_pools:
            mode, rank = self.function_pools[target]
            settings = {
                "kernel_size": self.arg(node, 1, "kernel_size", None),
                "stride": self.arg(node, 2, "stride", None),
                "padding": self.arg(node, 3, "padding", 0),
                "ceil_mode": self.arg(node, 5 if mode == "max" else 4, "ceil_mode", False),
                "count_include_pad": self.arg(node, 5, "count_include_pad", True),
                "dilation": self.arg(node, 4, "dilation", 1) if mode == "max" else 1,
                "return_indices": fx.kwargs.get("return_indices", False),
                "divisor_override": fx.kwargs.get("divisor_override"),
            }
            self._pool(node, emitter, state, mode, rank, settings)
        elif target is self.torch.flatten:
            self._flatten(node, emitter, state)
        elif target is self.torch.nn.functional.dropout:
            rate = float(self.arg(node, 1, "p", 0.5))
            emitter.add(Dropout(rate), None, where=node.where, label=node.label)
        elif target in (self.torch.permute, self.torch.transpose):
            self._layout(node, state, getattr(target, "__name__", ""))
        elif target in (self.torch.mean, self.torch.amax):
            self._reduce(node, emitter, state, "avg" if target is self.torch.mean else "max")
        else:
            raise self.fail(node, "is not supported", listing=True)

    def _method(self, node: _Node, emitter: Emitter, state: _State) -> None:
        name = node.fx.target
        if name in _METHOD_ACTIVATIONS:
            emitter.activation(_METHOD_ACTIVATIONS[name], where=node.where, label=node.label)
        elif name in ("softmax", "log_softmax"):
            self._softmax(node, self.arg(node, 1, "dim", None), emitter, log=name != "softmax")
        elif name in ("flatten", "view", "reshape"):
            self._flatten(node, emitter, state)
        elif name in ("permute", "transpose"):
            self._layout(node, state, name)
        elif name in ("mean", "amax"):
            self._reduce(node, emitter, state, "avg" if name == "mean" else "max")
        elif name == "squeeze" and state.squeezed:
            self._flatten(node, emitter, state)
        elif name == "contiguous":
            return
        else:
            raise self.fail(node, "is not supported", listing=True)

    def _layout(self, node: _Node, state: _State, name: str) -> None:
        rank = len(node.in_shape)
        args = node.fx.args[1:]
        if name == "permute":
            dims = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            order = tuple(int(d) % rank for d in dims)
        else:
            first = int(self.arg(node, 1, "dim0", 0)) % rank
            second = int(self.arg(node, 2, "dim1", 0)) % rank
            listed = list(range(rank))
            listed[first], listed[second] = listed[second], listed[first]
            order = tuple(listed)
        to_last = (0, *range(2, rank), 1)
        to_first = (0, rank - 1, *range(1, rank - 1))
        if rank >= 3 and state.layout == _CF and order == to_last:
            state.layout = _CL
        elif rank >= 3 and state.layout == _CL and order == to_first:
            state.layout = _CF
        else:
            raise self.fail(
                node,
                f"permutes the axes as {order}; only moving the channels between axis 1 "
                "and the last axis has an equivalent",
            )

    def _reduce(self, node: _Node, emitter: Emitter, state: _State, mode: str) -> None:
        rank = len(node.in_shape)
        dims = self.arg(node, 1, "dim", None)
        keepdim = bool(self.arg(node, 2, "keepdim", False))
        spatial = tuple(range(2, rank)) if state.layout == _CF else tuple(range(1, rank - 1))
        if rank < 3 or dims is None or _normalise_dims(dims, rank) != spatial:
            raise self.fail(
                node,
                f"reduces over {dims!r}; only a mean or max over every spatial axis "
                f"({spatial}: global pooling) has an equivalent",
            )
        emitter.add(
            GlobalMaxPool() if mode == "max" else GlobalAvgPool(),
            None,
            where=node.where,
            label=node.label,
        )
        state.squeezed = keepdim
        if not keepdim:
            state.layout = _CL
