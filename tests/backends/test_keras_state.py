"""The Keras backend's state is the PyTorch backend's: the same names, shapes and layouts.

A state moved from one backend's model to the other's gives the same outputs, for every
layer kind (kernels transposed, GRU gates reordered, attention projections packed).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from archtune._errors import ConfigError  # noqa: E402
from archtune.arch import GRU, LSTM, BatchNorm, Flatten, Head, Network  # noqa: E402
from archtune.backends.keras import KerasBackend  # noqa: E402
from archtune.backends.torch import TorchBackend, build_module  # noqa: E402
from archtune.testing._strategies import NETWORK_KINDS, networks  # noqa: E402

torch.set_num_threads(1)


def _inputs(network: Network, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if network.takes_token_ids:
        vocab = network.layers[0].vocab_size  # type: ignore[attr-defined]
        return rng.integers(0, vocab, (3, *network.input_shape))
    return rng.standard_normal((3, *network.input_shape)).astype(np.float32)


def _with_statistics(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The state with batch-norm statistics moved away from their initial values."""
    rng = np.random.default_rng(1)
    out = dict(state)
    for key, value in state.items():
        if key.endswith(("running_mean", "running_var")):
            out[key] = (value + rng.random(value.shape)).astype(np.float32)
    return out


def _predict(backend: Any, model: Any, x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "You are using a softmax over axis")
        out: np.ndarray = backend.predict(model, x)
    return out


@pytest.mark.parametrize("family", NETWORK_KINDS)
def test_a_state_moves_between_the_backends_with_the_same_outputs(family: str) -> None:
    torch_backend, keras_backend = TorchBackend(), KerasBackend()

    @settings(
        max_examples=5,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(networks(families=(family,)))
    def check(network: Network) -> None:
        x = _inputs(network, seed=0)
        # PyTorch -> Keras
        module = torch_backend.build(network, seed=1)
        torch_backend.set_state(module, _with_statistics(torch_backend.get_state(module)))
        model = keras_backend.build(network, seed=2)
        keras_backend.set_state(model, torch_backend.get_state(module), strict=True)
        expected = _predict(torch_backend, module, x)
        np.testing.assert_allclose(
            _predict(keras_backend, model, x), expected, rtol=1e-3, atol=2e-4
        )
        # Keras -> PyTorch
        source = keras_backend.build(network, seed=3)
        keras_backend.set_state(source, _with_statistics(keras_backend.get_state(source)))
        target = build_module(network)
        state = keras_backend.get_state(source)
        torch_backend.set_state(target, state, strict=True)
        np.testing.assert_allclose(
            _predict(torch_backend, target, x),
            _predict(keras_backend, source, x),
            rtol=1e-3,
            atol=2e-4,
        )
        assert state.keys() == target.state_dict().keys()

    check()


def test_a_saved_model_keeps_its_description(tmp_path: Path) -> None:
    backend = KerasBackend()
    layers = (LSTM(5, bidirectional=True, return_sequences=True), BatchNorm(), GRU(4))
    network = Network((6, 4), layers=layers, head=Head(3))
    model = backend.build(network, seed=0)
    backend.set_state(model, _with_statistics(backend.get_state(model)))
    backend.save(model, tmp_path / "rnn.keras")
    loaded = backend.load(tmp_path / "rnn.keras")
    state = backend.get_state(model)
    assert list(backend.get_state(loaded)) == list(build_module(network).state_dict())
    for key, value in backend.get_state(loaded).items():
        np.testing.assert_array_equal(value, state[key])


def test_a_users_model_is_read_with_from_keras_but_not_written() -> None:
    backend = KerasBackend()
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    state = backend.get_state(model)
    assert {k: v.shape for k, v in state.items()} == {
        "layers.0.0.inner.weight": (4, 1, 3, 3),
        "layers.0.0.inner.bias": (4,),
        "head.weight": (10, 144),
        "head.bias": (10,),
    }
    with pytest.raises(ConfigError, match="no network description"):
        backend.set_state(model, state)


def test_fit_takes_pretrained_weights_or_keep_weights_not_both() -> None:
    pytest.importorskip("sklearn")
    from archtune.backends.keras import fit
    from archtune.data import load_dataset
    from archtune.recipe import Recipe

    digits = load_dataset("digits", seed=0)
    network = Network((8, 8, 1), layers=(Flatten(),), head=Head(10))
    model = KerasBackend().build(network, seed=0)
    with pytest.raises(ConfigError, match="not both"):
        fit(model, digits, Recipe(epochs=1), keep_weights=True, pretrained_weights={})
