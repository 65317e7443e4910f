"""Property: any configuration sampled from a family's default space either builds a network
whose PyTorch module has exactly the analytic parameter count, or is infeasible; never another
error."""

from __future__ import annotations

from typing import Any

import optuna
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archtune.arch import InfeasibleNetworkError, estimate_cost, infer_output_shape
from archtune.arch.families import FAMILIES, get_family
from archtune.space import Space

torch = pytest.importorskip("torch")
from archtune.backends.torch import build_module  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: Input shapes around each family's natural one; small ones make deep configurations
#: infeasible, which the property must report as such.
_sides = st.integers(2, 28)
_lengths = st.integers(2, 40)
SHAPES: dict[str, st.SearchStrategy[tuple[int, ...]]] = {
    "mlp": st.one_of(st.tuples(st.integers(1, 64)), st.tuples(_sides, _sides, st.integers(1, 3))),
    "cnn2d": st.tuples(_sides, _sides, st.integers(1, 3)),
    "resnet": st.tuples(_sides, _sides, st.integers(1, 3)),
    "cnn1d": st.tuples(_lengths, st.integers(1, 3)),
    "rnn": st.tuples(_lengths, st.integers(1, 3)),
    "transformer": st.tuples(_lengths, st.integers(1, 3)),
}
#: Forward passes above this many FLOPs per example are skipped to keep the test fast; the
#: parameter count is always checked.
MAX_FORWARD_FLOPS = 50_000_000


def _sample(space: Space, seed: int) -> dict[str, Any]:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return space.sample(study.ask())


@pytest.mark.parametrize("name", list(FAMILIES))
def test_sampled_configs_build_exactly_or_are_infeasible(name: str) -> None:
    torch.set_num_threads(1)
    family = get_family(name)
    space = Space.from_dict(family.default_space())
    outcomes: list[str] = []

    @settings(
        max_examples=25,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        seed=st.integers(0, 2**31 - 1),
        shape=SHAPES[name],
        n_outputs=st.integers(1, 5),
        head_activation=st.sampled_from(["softmax", "sigmoid", "none"]),
    )
    def check(seed: int, shape: tuple[int, ...], n_outputs: int, head_activation: str) -> None:
        config = _sample(space, seed)
        space.check_config(config)
        try:
            network = family.build(
                config, input_shape=shape, n_outputs=n_outputs, head_activation=head_activation
            )
        except InfeasibleNetworkError as err:
            outcomes.append(f"infeasible: {err.reason}")
            return
        cost = estimate_cost(network)
        torch.manual_seed(seed)
        module = build_module(network)
        assert sum(p.numel() for p in module.parameters()) == cost.params
        if cost.flops <= MAX_FORWARD_FLOPS:
            module.eval()
            with torch.no_grad():
                out = module(torch.randn(1, *shape))
            assert tuple(out.shape) == (1, *infer_output_shape(network)) == (1, n_outputs)
            assert bool(torch.isfinite(out).all())
        outcomes.append("built")

    check()
    assert len(outcomes) >= 10
    assert "built" in outcomes
    # Every infeasible configuration says why.
    assert all(o == "built" or len(o) > len("infeasible: ") for o in outcomes)
