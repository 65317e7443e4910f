"""The PyTorch backend's state, ``keep_weights`` and distillation at the module level."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from archtune._errors import ConfigError  # noqa: E402
from archtune.arch import Dense, Flatten, Head, Network  # noqa: E402
from archtune.backends import Distillation  # noqa: E402
from archtune.backends.torch import TorchBackend, fit  # noqa: E402
from archtune.data import Dataset, load_dataset  # noqa: E402
from archtune.recipe import Recipe  # noqa: E402

torch.set_num_threads(1)

NETWORK = Network((8, 8, 1), layers=(Flatten(), Dense(16, activation="relu")), head=Head(10))


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", seed=0)


def test_get_state_returns_copies() -> None:
    backend = TorchBackend()
    module = backend.build(NETWORK, seed=0)
    state = backend.get_state(module)
    state["head.bias"][:] = 7.0
    assert not torch.any(module.head.bias == 7.0)


def test_set_state_takes_tensors_and_read_only_arrays() -> None:
    backend = TorchBackend()
    module = backend.build(NETWORK, seed=0)
    weight = torch.ones(10, 16, requires_grad=True)
    bias = np.full(10, 2.0, dtype=np.float64)
    bias.setflags(write=False)
    backend.set_state(module, {"head.weight": weight, "head.bias": bias})
    assert torch.equal(module.head.weight, torch.ones(10, 16))
    assert module.head.bias.dtype == torch.float32
    assert torch.equal(module.head.bias, torch.full((10,), 2.0))


def test_fit_takes_pretrained_state_or_keep_weights_not_both(digits: Dataset) -> None:
    module = TorchBackend().build(NETWORK, seed=0)
    with pytest.raises(ConfigError, match="not both"):
        fit(module, digits, Recipe(epochs=1), keep_weights=True, pretrained_state={})


def test_pretrained_state_still_initialises(digits: Dataset) -> None:
    backend = TorchBackend()
    source = backend.build(NETWORK, seed=1)
    module = backend.build(NETWORK, seed=2)
    recipe = Recipe(optimizer="sgd", lr=1e-9, epochs=1, weight_init="pretrained")
    fit(module, digits, recipe, pretrained_state=source.state_dict(), device="cpu")
    x = digits.x_val[:8]
    np.testing.assert_allclose(backend.predict(module, x), backend.predict(source, x), atol=1e-5)


def test_the_module_level_fit_distils(digits: Dataset) -> None:
    backend = TorchBackend()
    teacher = backend.predict(backend.build(NETWORK, seed=1), digits.x_train)
    recipe = Recipe(optimizer="adam", lr=3e-3, epochs=2, batch_size=64)
    distill = Distillation(teacher, temperature=2.0, alpha=0.5)
    result = fit(backend.build(NETWORK, seed=0), digits, recipe, distill=distill, device="cpu")
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"temperature": -1.0}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"alpha": float("nan")}, "alpha"),
        ({"alpha": "0.5"}, "alpha"),
    ],
)
def test_a_distillation_checks_its_numbers(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Distillation(np.zeros((3, 2)), **kwargs)  # type: ignore[arg-type]


def test_a_distillation_takes_numpy_scalars() -> None:
    distill = Distillation(np.zeros((3, 2)), temperature=np.float32(2.0), alpha=np.float64(0.5))
    assert distill.temperature == 2.0
