"""The Keras builder computes what the PyTorch builder computes.

For random networks of every family, the PyTorch module's weights are copied into the Keras
model (transposed and reordered to Keras's layout) and both must give the same logits. This
checks every layer kind's reading of its fields: padding, strides, separable convolutions,
pooling, recurrent gates and directions, attention, residual projections, norms.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

torch = pytest.importorskip("torch")
pytest.importorskip("keras")

from archtune.arch import (  # noqa: E402
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
    TransformerBlock,
)
from archtune.backends.keras import build_model  # noqa: E402
from archtune.backends.torch import build_module  # noqa: E402
from archtune.testing._strategies import NETWORK_KINDS, networks  # noqa: E402

torch.set_num_threads(1)


def _np(tensor: Any) -> np.ndarray:
    return np.asarray(tensor.detach().cpu().numpy())


def _conv_kernel(weight: Any) -> np.ndarray:
    """PyTorch ``(out, in, *window)`` to Keras ``(*window, in, out)``."""
    w = _np(weight)
    return w.transpose(*range(2, w.ndim), 1, 0)


def _inner(module: Any) -> Any:
    """The layer inside the PyTorch builder's wrappers (activation, channels-first)."""
    if isinstance(module, torch.nn.Sequential):
        module = module[0]
    return getattr(module, "inner", module)


def _conv_weights(layer: Conv1D | Conv2D, module: Any) -> list[np.ndarray]:
    convs = [
        m for m in _inner(module).modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d))
    ]
    if layer.separable:
        depthwise, pointwise = convs
        d = _np(depthwise.weight)  # (in, 1, *window) -> (*window, in, 1)
        weights = [d.transpose(*range(2, d.ndim), 0, 1), _conv_kernel(pointwise.weight)]
        bias = pointwise.bias
    else:
        weights, bias = [_conv_kernel(convs[0].weight)], convs[0].bias
    return weights + ([] if bias is None else [_np(bias)])


def _rnn_weights(rnn: Any, suffix: str, gru: bool) -> list[np.ndarray]:
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    w_ih, w_hh, b_ih, b_hh = (_np(getattr(rnn, f"{n}_l0{suffix}")) for n in names)
    if not gru:
        return [w_ih.T, w_hh.T, b_ih, b_hh]

    def gates(a: np.ndarray) -> np.ndarray:  # PyTorch (r, z, n) -> Keras (z, r, h)
        r, z, n = np.split(a, 3, axis=0)
        return np.concatenate([z, r, n], axis=0)

    return [gates(w_ih).T, gates(w_hh).T, np.stack([gates(b_ih), gates(b_hh)])]


def _copy_transformer(layer: TransformerBlock, module: Any, target: Any) -> None:
    d, h = layer.d_model, layer.n_heads
    attention = module.self_attn
    w_in, b_in = _np(attention.in_proj_weight), _np(attention.in_proj_bias)
    mha = target.attention
    for index, dense in enumerate((mha._query_dense, mha._key_dense, mha._value_dense)):
        w = w_in[index * d : (index + 1) * d]
        b = b_in[index * d : (index + 1) * d]
        dense.set_weights([w.T.reshape(d, h, d // h), b.reshape(h, d // h)])
    w_out = _np(attention.out_proj.weight)
    mha._output_dense.set_weights([w_out.T.reshape(h, d // h, d), _np(attention.out_proj.bias)])
    for name in ("linear1", "linear2"):
        linear = getattr(module, name)
        getattr(target, name).set_weights([_np(linear.weight).T, _np(linear.bias)])
    for name in ("norm1", "norm2"):
        norm = getattr(module, name)
        getattr(target, name).set_weights([_np(norm.weight), _np(norm.bias)])


def _copy(layer: Layer, module: Any, model: Any, name: str) -> None:
    """Copy the PyTorch module of ``layer`` into the Keras layer(s) called ``name``."""
    if isinstance(layer, Residual):
        for index, child in enumerate(layer.layers):
            _copy(child, module.body[index], model, f"{name}_{index}")
        if isinstance(module.projection, torch.nn.Linear):
            weights = [_np(module.projection.weight).T, _np(module.projection.bias)]
            model.get_layer(f"{name}_projection").set_weights(weights)
        return
    target = model.get_layer(name)
    if isinstance(layer, Dense):
        linear = _inner(module)
        bias = [] if linear.bias is None else [_np(linear.bias)]
        target.set_weights([_np(linear.weight).T, *bias])
    elif isinstance(layer, (Conv1D, Conv2D)):
        target.set_weights(_conv_weights(layer, module))
    elif isinstance(layer, BatchNorm):
        norm = module.norm
        stats = (norm.weight, norm.bias, norm.running_mean, norm.running_var)
        target.set_weights([_np(t) for t in stats])
    elif isinstance(layer, LayerNorm):
        target.set_weights([_np(module.weight), _np(module.bias)])
    elif isinstance(layer, Recurrent):
        gru = isinstance(layer, GRU)
        if layer.bidirectional:
            target.forward_layer.set_weights(_rnn_weights(module.rnn, "", gru))
            target.backward_layer.set_weights(_rnn_weights(module.rnn, "_reverse", gru))
        else:
            target.set_weights(_rnn_weights(module.rnn, "", gru))
    elif isinstance(layer, TransformerBlock):
        _copy_transformer(layer, module, target)
    elif isinstance(layer, Embedding):
        target.set_weights([_np(module.weight)])
    elif isinstance(layer, PositionEmbedding):
        target.set_weights([_np(module.table.weight)])


def _copy_network(network: Network, module: Any, model: Any) -> None:
    for index, layer in enumerate(network.layers):
        _copy(layer, module.layers[index], model, f"layers_{index}")
    model.get_layer("head").set_weights([_np(module.head.weight).T, _np(module.head.bias)])


def _inputs(network: Network, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if network.takes_token_ids:
        vocab = network.layers[0].vocab_size  # type: ignore[attr-defined]
        return rng.integers(0, vocab, (3, *network.input_shape))
    return rng.standard_normal((3, *network.input_shape)).astype(np.float32)


@pytest.mark.parametrize("family", NETWORK_KINDS)
def test_keras_model_computes_what_the_torch_module_computes(family: str) -> None:
    @settings(
        max_examples=15,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(networks(families=(family,)))
    def check(network: Network) -> None:
        torch.manual_seed(0)
        module = build_module(network).eval()
        # Running statistics that are not (0, 1), so that batch norm is checked too.
        for sub in module.modules():
            if isinstance(sub, torch.nn.BatchNorm1d):
                sub.running_mean.uniform_(-1, 1)
                sub.running_var.uniform_(0.5, 2)
        model = build_model(network, seed=0)
        _copy_network(network, module, model)
        x = _inputs(network, seed=1)
        with torch.no_grad():
            expected = _np(module(torch.as_tensor(x)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # softmax over a single key
            got = np.asarray(model.predict_on_batch(x))
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)

    check()
