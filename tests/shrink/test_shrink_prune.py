"""Structured L1 pruning of the baseline's weights into a shrunk network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

if TYPE_CHECKING:
    import torch

torch = pytest.importorskip("torch")

from archtune.arch import (  # noqa: E402
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    Head,
    MaxPool2D,
    Network,
    builtin_network,
)
from archtune.backends.torch import build_module  # noqa: E402
from archtune.shrinking import apply_shrink, keep_largest_l1, prune_state, shrink_plan  # noqa: E402


def _pruned(
    net: Network, state: Mapping[str, torch.Tensor], config: Mapping[str, Any]
) -> tuple[torch.nn.Module, dict[str, torch.Tensor], list[str]]:
    shrunk = apply_shrink(net, config)
    entries = prune_state(net, state, shrunk, shrink_plan(net, config))
    module = build_module(shrunk)
    missing = module.load_state_dict(entries, strict=False).missing_keys
    return module.eval(), entries, missing


def test_keep_largest_l1_keeps_order() -> None:
    weight = torch.tensor([[1.0, -1.0], [0.1, 0.0], [-3.0, 0.0], [0.5, 0.5], [2.0, 0.0]])
    assert keep_largest_l1(weight, 3).tolist() == [0, 2, 4]
    assert keep_largest_l1(weight, 5).tolist() == [0, 1, 2, 3, 4]
    assert keep_largest_l1(torch.ones(4, 3), 2).tolist() == [0, 1]  # ties: lower index


@pytest.mark.parametrize("name", ["cnn-16-32-32", "mlp-32-32"])
def test_nothing_pruned_computes_the_same(name: str) -> None:
    torch.manual_seed(0)
    net = builtin_network(name)
    baseline = build_module(net).eval()
    keys = {f"shrink.w{i}": 1.0 for i in range(len(net.layers))}
    module, entries, missing = _pruned(net, baseline.state_dict(), keys)
    assert missing == []
    assert set(entries) == set(baseline.state_dict())
    x = torch.randn(5, *net.input_shape)
    torch.testing.assert_close(module(x), baseline(x), rtol=0, atol=0)


def _net_with_dead_units() -> tuple[Network, torch.nn.Module]:
    """A CNN whose half of the filters and units are zero: pruning them changes nothing."""
    net = Network(
        (10, 10, 2),
        layers=(
            Conv2D(8, 3, activation="relu"),
            MaxPool2D(2),
            Conv2D(6, 3, activation="relu", padding="same"),
            Flatten(),
            Dense(12, activation="relu"),
        ),
        head=Head(3),
    )
    torch.manual_seed(1)
    module = build_module(net).eval()
    rng = np.random.default_rng(3)
    state = module.state_dict()
    with torch.no_grad():
        for prefix, n_out in (
            ("layers.0.0.inner", 8),
            ("layers.2.0.inner", 6),
            ("layers.4.0", 12),
        ):
            dead = rng.choice(n_out, n_out // 2, replace=False)
            state[f"{prefix}.weight"][dead] = 0.0
            state[f"{prefix}.bias"][dead] = 0.0
            alive = np.setdiff1d(np.arange(n_out), dead)
            state[f"{prefix}.weight"][alive] += 0.5 * torch.sign(state[f"{prefix}.weight"][alive])
    module.load_state_dict(state)
    return net, module


def test_pruning_keeps_the_largest_channels_through_flatten() -> None:
    net, baseline = _net_with_dead_units()
    config = {"shrink.w0": 0.5, "shrink.w2": 0.5, "shrink.w4": 0.5}
    module, entries, missing = _pruned(net, baseline.state_dict(), config)
    assert missing == []
    assert entries["layers.0.0.inner.weight"].shape == (4, 2, 3, 3)
    assert entries["layers.4.0.weight"].shape == (6, 4 * 4 * 3)
    x = torch.randn(7, 10, 10, 2)
    torch.testing.assert_close(module(x), baseline(x), rtol=1e-5, atol=1e-5)
    # Keeping the wrong channels would change the outputs: prune 3 of the 4 live filters.
    wrong, _, _ = _pruned(net, baseline.state_dict(), {**config, "shrink.w0": 0.125})
    assert not torch.allclose(wrong(x), baseline(x), atol=1e-3)


def test_batch_norm_follows_the_kept_channels() -> None:
    net = Network(
        (8, 8, 1),
        layers=(Conv2D(8, 3, use_bias=False), BatchNorm(), MaxPool2D(2), Flatten(), Dense(4)),
        head=Head(2),
    )
    torch.manual_seed(2)
    baseline = build_module(net)
    state = baseline.state_dict()
    state["layers.1.norm.running_mean"].copy_(torch.arange(8.0))
    _, entries, missing = _pruned(net, state, {"shrink.w0": 0.5})
    kept = keep_largest_l1(state["layers.0.inner.weight"], 4)
    assert missing == []
    assert entries["layers.1.norm.running_mean"].tolist() == [float(k) for k in kept]


def test_reshaped_and_removed_layers_start_fresh() -> None:
    net = builtin_network("cnn-16-32-32")
    state = build_module(net).state_dict()
    _, entries, missing = _pruned(net, state, {"shrink.separable2": True})
    assert "layers.0.0.inner.weight" in entries
    assert not any(
        key.startswith(("layers.2.", "layers.4.", "layers.6.", "head.")) for key in entries
    )
    assert "layers.2.0.inner.0.weight" in missing
    _, entries, _ = _pruned(net, state, {"shrink.keep4": False})
    assert sorted({k.split(".")[1] for k in entries}) == ["0", "2"]


def _resnet() -> Network:
    from archtune.arch.families import get_family

    family = get_family("resnet")
    network: Network = family.build(
        family.default_config(), input_shape=(28, 28, 1), n_outputs=10, head_activation="softmax"
    )
    return network


def _resnet_module(net: Network) -> torch.nn.Module:
    """A resnet module with non-trivial batch-norm statistics (eval mode)."""
    torch.manual_seed(0)
    module = build_module(net).eval()
    for sub in module.modules():
        if isinstance(sub, torch.nn.BatchNorm1d):
            sub.running_mean.normal_()
            sub.running_var.uniform_(0.5, 2.0)
    return module


def test_residual_widths_at_one_compute_the_same() -> None:
    from archtune.shrinking import width_keys

    net = _resnet()
    baseline = _resnet_module(net)
    config = {key: 1.0 for key, _ in width_keys(net)}
    assert any("." in key for key in config)  # widths inside residual blocks are searched
    module, _entries, missing = _pruned(net, baseline.state_dict(), config)
    assert missing == []
    x = torch.randn(3, 28, 28, 1)
    torch.testing.assert_close(module(x), baseline(x), rtol=0, atol=0)


def test_residual_inner_width_carries_every_weight() -> None:
    net = _resnet()
    baseline = _resnet_module(net)
    config = {"shrink.w0": 0.5, "shrink.w3.0": 0.5, "shrink.w4": 0.5, "shrink.w5.0": 0.25}
    shrunk = apply_shrink(net, config)
    body = shrunk.layers[3].layers  # type: ignore[attr-defined]
    assert body[0].filters == 8  # the inner width
    assert body[3].filters == 16  # the output stays; the shortcut becomes a projection (8 -> 16)
    module, _entries, missing = _pruned(net, baseline.state_dict(), config)
    assert missing == []  # nothing starts fresh: every entry comes from the baseline
    assert module(torch.randn(2, 28, 28, 1)).shape == (2, 10)


def test_identity_shortcut_becomes_its_selection_matrix() -> None:
    """A block whose output is cut while its input is not: the new projection selects the
    kept channels, so on them the block computes what the baseline block computed."""
    net = _resnet()
    baseline = _resnet_module(net)
    config = {"shrink.w3": 0.5}  # block 3: 16 -> 8 channels, its input stays at 16
    module, entries, missing = _pruned(net, baseline.state_dict(), config)
    assert missing == []
    projection = entries["layers.3.projection.weight"]
    assert projection.shape == (8, 16)
    assert torch.equal(projection.sum(dim=1), torch.ones(8))  # one input channel per row
    x = torch.randn(2, 28, 28, 1)
    stem = baseline.layers[2](baseline.layers[1](baseline.layers[0](x)))
    kept = projection.argmax(dim=1)
    expected = baseline.layers[3](stem)[..., kept]
    got = module.layers[3](stem)
    # the kept channels are the block's L1-largest outputs; the residual sum is exact on them
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_a_projection_that_becomes_an_identity_starts_fresh() -> None:
    """Block 3 narrowed to 2 outputs has a projection (16 -> 2); narrowing the stem to 2 too
    makes its shortcut an identity, which cannot carry the projection's weights."""
    net = apply_shrink(_resnet(), {"shrink.w3": 2 / 16})
    parent = build_module(net).eval()
    config = {"shrink.w0": 2 / 16}
    module, entries, missing = _pruned(net, parent.state_dict(), config)
    assert not any(key.startswith("layers.3.") for key in entries)  # block 3 starts fresh
    assert any(key.startswith("layers.3.") for key in missing)
    assert module(torch.randn(2, 28, 28, 1)).shape == (2, 10)
