"""The shrink space of a baseline and the networks its points describe."""

from __future__ import annotations

import pytest

from archtune import ConfigError
from archtune.arch import (
    Conv2D,
    Dense,
    Flatten,
    Head,
    InfeasibleNetworkError,
    MaxPool2D,
    Network,
    TransformerBlock,
    builtin_network,
    count_params,
)
from archtune.shrinking import (
    WIDTH_MULTIPLIERS,
    apply_shrink,
    describe_structure,
    shrink_plan,
    shrink_space,
)


def test_space_of_the_reference_cnn() -> None:
    space = shrink_space(builtin_network("cnn-32-64-64"))
    assert sorted(k for k in space if k.startswith("shrink.w")) == [
        "shrink.w0",
        "shrink.w2",
        "shrink.w4",
        "shrink.w6",
    ]
    assert all(f"shrink.keep{i}" in space for i in (0, 2, 4, 6))
    assert space["shrink.w2"]["options"] == list(WIDTH_MULTIPLIERS)
    assert space["shrink.w2"]["when"] == {"shrink.keep2": True}
    assert space["shrink.kernel0"]["options"] == [1, 3]
    # A depthwise convolution of a 1-channel input learns little: not offered.
    assert "shrink.separable0" not in space
    assert "shrink.separable2" in space
    assert "shrink.separable4" in space


def test_no_changes_keep_the_baseline() -> None:
    net = builtin_network("cnn-32-64-64")
    assert apply_shrink(net, {}).layers == net.layers
    assert all(entry.source == i for i, entry in enumerate(shrink_plan(net, {})))


@pytest.mark.parametrize("name", ["cnn-32-64-64", "mlp-64-64"])
def test_params_grow_with_the_multipliers(name: str) -> None:
    net = builtin_network(name)
    keys = [k for k in shrink_space(net) if k.startswith("shrink.w")]
    uniform = [count_params(apply_shrink(net, dict.fromkeys(keys, m))) for m in WIDTH_MULTIPLIERS]
    assert uniform == sorted(uniform)
    assert len(set(uniform)) == len(uniform)
    assert uniform[-1] == count_params(net)
    for key in keys:  # one layer at a time, the others at 0.5
        counts = [
            count_params(apply_shrink(net, {**dict.fromkeys(keys, 0.5), key: m}))
            for m in WIDTH_MULTIPLIERS
        ]
        assert counts == sorted(counts)
        assert counts[0] < counts[-1]


def test_removal_takes_the_layer_and_widths_round_half_up() -> None:
    net = builtin_network("cnn-32-64-64")
    shrunk = apply_shrink(net, {"shrink.keep6": False, "shrink.w0": 0.125, "shrink.w2": 0.75})
    assert describe_structure(shrunk) == (
        "conv 4k3 > pool2d > conv 48k3 > pool2d > conv 64k3 > flatten > head 10"
    )
    assert [e.source for e in shrink_plan(net, {"shrink.keep2": False})] == [0, 1, 3, 4, 5, 6]


def test_kernel_and_separable_changes_are_marked_reshaped() -> None:
    net = builtin_network("cnn-32-64-64")
    plan = shrink_plan(net, {"shrink.kernel0": 1, "shrink.separable2": True, "shrink.w4": 0.5})
    assert [e.reshaped for e in plan] == [True, False, True, False, False, False, False]
    assert plan[0].layer == Conv2D(32, (1, 1), activation="relu")
    assert plan[2].layer.separable  # type: ignore[attr-defined]
    smaller = apply_shrink(net, {"shrink.separable2": True, "shrink.separable4": True})
    assert count_params(smaller) < count_params(net)


def _sequence_net() -> Network:
    block = TransformerBlock(16, n_heads=2, d_ff=32)
    return Network((12, 3), layers=(Dense(16), block, Flatten()), head=Head(4))


def test_infeasible_combinations_raise() -> None:
    net = _sequence_net()
    space = shrink_space(net)
    # The transformer block needs 16 features: the dense layer may not be removed ...
    assert "shrink.keep0" not in space
    assert space["shrink.w0"]["options"] == list(WIDTH_MULTIPLIERS)
    # ... and a narrower one does not fit.
    with pytest.raises(InfeasibleNetworkError, match="layers\\[1\\]"):
        apply_shrink(net, {"shrink.w0": 0.5})
    assert apply_shrink(net, {"shrink.w0": 1.0}).layers == net.layers


def test_bad_values_are_config_errors() -> None:
    net = builtin_network("cnn-16-32-32")
    for config in ({"shrink.w0": 0}, {"shrink.w0": 1.5}, {"shrink.w0": "half"}):
        with pytest.raises(ConfigError, match=r"shrink\.w0 must be a number in \(0, 1\]"):
            apply_shrink(net, config)
    with pytest.raises(ConfigError, match=r"shrink\.keep0 must be true or false"):
        apply_shrink(net, {"shrink.keep0": "yes"})


def test_nothing_to_shrink() -> None:
    net = Network((8, 8, 1), layers=(MaxPool2D(2), Flatten()), head=Head(3))
    with pytest.raises(ConfigError, match="no dense layer, convolution or residual block"):
        shrink_space(net)


def test_progressive_moves_reach_the_target_and_include_the_uniform_one() -> None:
    from archtune.arch import estimate_cost
    from archtune.shrinking import ProgressiveStrategy

    net = builtin_network("cnn-32-64-64")

    def params(network: Network) -> float:
        return float(estimate_cost(network).params)

    target = params(net) * 0.7
    moves = dict(ProgressiveStrategy().moves(net, params, target))
    assert any(label.startswith("uniform") for label in moves)
    for label, delta in moves.items():
        shrunk = apply_shrink(net, delta)
        assert params(shrunk) <= target, label
        for key, multiplier in delta.items():  # no single move cuts a layer by more than 3/4
            if key.startswith("shrink.w") and not label.startswith("uniform"):
                assert multiplier >= 0.25 - 1e-9, label
