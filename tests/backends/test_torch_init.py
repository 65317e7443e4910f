"""apply_initialisation: every initialiser checked by its effect on the weights."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from archtune._errors import ConfigError  # noqa: E402
from archtune.backends.torch._checkpoint import save_checkpoint  # noqa: E402
from archtune.backends.torch._init import apply_initialisation  # noqa: E402
from archtune.data import load_dataset  # noqa: E402
from archtune.recipe import Recipe  # noqa: E402

torch.set_num_threads(1)
nn = torch.nn


def _linear(fan_in: int = 400, fan_out: int = 200) -> torch.nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(fan_in, fan_out), nn.ReLU(), nn.Linear(fan_out, 10))


def _init(module: torch.nn.Module, seed: int = 0, **recipe: object) -> torch.nn.Module:
    apply_initialisation(module, Recipe(**recipe), seed=seed)  # type: ignore[arg-type]
    return module


def _w(module: torch.nn.Module) -> np.ndarray:
    return module[0].weight.detach().numpy().astype(np.float64)


def test_normal_has_the_given_std_and_zero_mean() -> None:
    w = _w(_init(_linear(), weight_init="normal", init_std=0.03))
    assert w.std() == pytest.approx(0.03, rel=0.02)
    assert abs(w.mean()) < 0.001


def test_uniform_stays_within_the_limit_and_fills_it() -> None:
    w = _w(_init(_linear(), weight_init="uniform", init_limit=0.2))
    assert np.abs(w).max() <= 0.2
    assert np.abs(w).max() > 0.199
    assert w.std() == pytest.approx(0.2 / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize(
    ("kind", "expected_std"),
    [
        ("glorot_normal", math.sqrt(2 / (400 + 200))),
        ("glorot_uniform", math.sqrt(2 / (400 + 200))),
        ("he_normal", math.sqrt(2 / 400)),
        ("he_uniform", math.sqrt(2 / 400)),
        ("lecun_normal", math.sqrt(1 / 400)),
        ("lecun_uniform", math.sqrt(1 / 400)),
    ],
)
def test_fan_scaled_initialisers_have_their_variance(kind: str, expected_std: float) -> None:
    w = _w(_init(_linear(), weight_init=kind))
    assert w.std() == pytest.approx(expected_std, rel=0.03)
    if kind.endswith("uniform"):
        assert np.abs(w).max() <= expected_std * math.sqrt(3) + 1e-6


def test_he_has_twice_glorots_variance_on_a_square_layer() -> None:
    he = _w(_init(_linear(300, 300), weight_init="he_normal"))
    glorot = _w(_init(_linear(300, 300), weight_init="glorot_normal"))
    assert he.var() / glorot.var() == pytest.approx(2.0, rel=0.05)


def test_fans_of_a_convolution_include_the_kernel() -> None:
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(16, 32, kernel_size=3))
    _init(conv, weight_init="he_normal")
    std = conv[0].weight.detach().std().item()
    assert std == pytest.approx(math.sqrt(2 / (16 * 9)), rel=0.05)


def test_orthogonal_gives_orthonormal_rows_times_the_gain() -> None:
    m = _init(_linear(300, 200), weight_init="orthogonal", init_gain=2.0)
    w = m[0].weight.detach().double()  # 200 x 300: orthonormal rows
    np.testing.assert_allclose((w @ w.T).numpy(), 4.0 * np.eye(200), atol=1e-4)
    sq = _init(_linear(50, 50), weight_init="orthogonal")[0].weight.detach().double()
    np.testing.assert_allclose((sq.T @ sq).numpy(), np.eye(50), atol=1e-5)


def test_constant_weights_warn_and_are_all_equal() -> None:
    with pytest.warns(UserWarning, match="do not break symmetry|never differ"):
        m = _init(_linear(), weight_init="constant", init_value=0.25)
    assert torch.all(m[0].weight == 0.25)
    assert torch.all(m[2].weight == 0.25)


@pytest.mark.parametrize(("bias_init", "value"), [("zeros", 0.0), ("constant", 0.7)])
def test_zeros_and_constant_biases(bias_init: str, value: float) -> None:
    m = _init(_linear(), weight_init="he_normal", bias_init=bias_init, bias_value=0.7)
    for layer in (m[0], m[2]):
        assert torch.all(layer.bias == value)


def test_mean_bias_is_log_class_prior_on_the_output_layer() -> None:
    ds = load_dataset("breast-cancer", seed=0)
    torch.manual_seed(0)
    m = nn.Sequential(nn.Linear(30, 8), nn.ReLU(), nn.Linear(8, 2))
    summary = apply_initialisation(m, Recipe(bias_init="mean"), seed=0, dataset=ds)
    counts = np.bincount(ds.y_train, minlength=2)
    expected = np.log((counts + 1) / (counts.sum() + 2))
    np.testing.assert_allclose(m[2].bias.detach().numpy(), expected, rtol=1e-6)
    assert torch.all(m[0].bias == 0)
    assert summary.output_bias == "2.bias"
    # softmax of the output bias is the (smoothed) class distribution
    np.testing.assert_allclose(torch.softmax(m[2].bias, 0).detach().numpy(), np.exp(expected))


def test_mean_bias_is_target_mean_for_regression() -> None:
    ds = load_dataset("diabetes", standardize=False)
    m = nn.Sequential(nn.Linear(10, 4), nn.ReLU(), nn.Linear(4, 1))
    apply_initialisation(m, Recipe(bias_init="mean"), seed=0, dataset=ds)
    assert m[2].bias.item() == pytest.approx(float(ds.y_train.mean()), rel=1e-5)


def test_mean_bias_errors() -> None:
    m = nn.Sequential(nn.Linear(10, 4), nn.ReLU(), nn.Linear(4, 3))
    with pytest.raises(ConfigError, match="needs the dataset"):
        apply_initialisation(m, Recipe(bias_init="mean"), seed=0)
    with pytest.raises(ConfigError, match="no bias of the module has 1 entries"):
        apply_initialisation(m, Recipe(bias_init="mean"), seed=0, dataset=load_dataset("diabetes"))


def test_normalisation_layers_keep_scale_one_and_shift_zero() -> None:
    m = nn.Sequential(nn.Linear(20, 20), nn.BatchNorm1d(20), nn.LayerNorm(20))
    with torch.no_grad():
        m[1].weight.fill_(3.0)
    _init(m, weight_init="normal", init_std=1.0, bias_init="constant", bias_value=0.5)
    assert torch.all(m[1].weight == 1.0)  # reset by the framework default, not drawn
    assert torch.all(m[1].bias == 0.0)
    assert torch.all(m[2].weight == 1.0)
    assert torch.all(m[0].bias == 0.5)


def test_same_seed_same_weights_other_seed_other_weights_rng_untouched() -> None:
    torch.manual_seed(42)
    expected_next = torch.rand(1)
    torch.manual_seed(42)
    for kind in ("default", "he_uniform", "orthogonal"):
        a = _init(_linear(), seed=5, weight_init=kind)
        b = _init(_linear(), seed=5, weight_init=kind)
        c = _init(_linear(), seed=6, weight_init=kind)
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            assert torch.equal(pa, pb)
        assert not torch.equal(a[0].weight, c[0].weight)
    torch.manual_seed(42)
    assert torch.equal(torch.rand(1), expected_next)  # fork_rng kept the global state


def test_default_redraws_pytorchs_initialisation() -> None:
    m = _linear()
    before = m[0].weight.detach().clone()
    _init(m, seed=1)
    assert not torch.equal(before, m[0].weight)
    bound = 1 / math.sqrt(400)  # PyTorch's Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert m[0].weight.abs().max().item() <= bound
    assert m[0].bias.abs().max().item() <= bound


def test_keep_leaves_weights_alone() -> None:
    m = _linear()
    before = [p.detach().clone() for p in m.parameters()]
    _init(m, weight_init="keep")
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters(), strict=True))


def _baseline_and_smaller() -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(1)
    baseline = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    torch.manual_seed(2)
    smaller = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3), nn.Linear(3, 3))
    with torch.no_grad():
        smaller[0].weight.mul_(0).add_(7)  # recognisable
    return baseline, smaller


def test_pretrained_copies_matching_shapes_and_leaves_the_rest() -> None:
    baseline, module = _baseline_and_smaller()
    state = baseline.state_dict()
    state["2.weight"] = torch.zeros(5, 16)  # a shape that does not match: not copied
    before_2w = module[2].weight.detach().clone()
    before_3w = module[3].weight.detach().clone()
    summary = apply_initialisation(
        module, Recipe(weight_init="pretrained", bias_init="zeros"), seed=0, pretrained_state=state
    )
    assert set(summary.copied) == {"0.weight", "0.bias", "2.bias"}
    assert torch.equal(module[0].weight, baseline[0].weight)
    assert torch.equal(module[0].bias, baseline[0].bias)
    assert torch.equal(module[2].bias, baseline[2].bias)  # copied biases keep their values
    assert torch.equal(module[2].weight, before_2w)  # shape mismatch: left as it was
    assert torch.equal(module[3].weight, before_3w)  # not in the baseline: left as it was
    assert torch.all(module[3].bias == 0)  # bias_init applies to what was not copied


@pytest.mark.parametrize("fmt", ["checkpoint", "state_dict"])
def test_pretrained_from_a_file(tmp_path: Path, fmt: str) -> None:
    baseline, module = _baseline_and_smaller()
    path = tmp_path / "base.pt"
    if fmt == "checkpoint":
        save_checkpoint(path, baseline)
    else:
        torch.save(baseline.state_dict(), path)
    apply_initialisation(
        module, Recipe(weight_init="pretrained", pretrained_path=str(path)), seed=0
    )
    assert torch.equal(module[2].weight, baseline[2].weight)


def test_pretrained_errors_and_warnings(tmp_path: Path) -> None:
    _, module = _baseline_and_smaller()
    with pytest.raises(ConfigError, match=r"needs recipe\.pretrained_path or the baseline"):
        apply_initialisation(module, Recipe(weight_init="pretrained"), seed=0)
    with pytest.warns(UserWarning, match="no parameter of the module matches"):
        apply_initialisation(
            module, Recipe(weight_init="pretrained"), seed=0, pretrained_state={"x": torch.ones(1)}
        )
    with pytest.raises(ConfigError, match="does not exist"):
        apply_initialisation(
            module,
            Recipe(weight_init="pretrained", pretrained_path=str(tmp_path / "missing.pt")),
            seed=0,
        )
    bad = tmp_path / "bad.pt"
    torch.save({"format": "something else", "weights": [1, 2]}, bad)
    with pytest.raises(ConfigError, match="must hold a state dict"):
        apply_initialisation(
            module, Recipe(weight_init="pretrained", pretrained_path=str(bad)), seed=0
        )


def test_recurrent_and_attention_matrices_are_initialised() -> None:
    m = nn.Sequential(nn.GRU(8, 16, batch_first=True))
    summary = apply_initialisation(m, Recipe(weight_init="orthogonal"), seed=0)
    assert set(summary.weights) == {"0.weight_ih_l0", "0.weight_hh_l0"}
    att = nn.MultiheadAttention(16, 2)
    summary = apply_initialisation(att, Recipe(weight_init="glorot_uniform", bias_init="zeros"),
                                   seed=0)  # fmt: skip
    assert "in_proj_weight" in summary.weights
    assert "in_proj_bias" in summary.biases
    assert torch.all(att.in_proj_bias == 0)


def test_default_init_is_repeatable_for_attention_layers() -> None:
    """Attention keeps its projections in ``_reset_parameters``: they are redrawn too."""
    from archtune.arch import Head, Network, TransformerBlock
    from archtune.backends.torch import apply_initialisation, build_module
    from archtune.recipe import Recipe

    network = Network((8, 16), layers=(TransformerBlock(16, n_heads=2, d_ff=32),), head=Head(3))
    first, second = build_module(network), build_module(network)  # different draws
    for module in (first, second):
        apply_initialisation(module, Recipe(), seed=7)
    for (name, a), (_, b) in zip(
        first.state_dict().items(), second.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
