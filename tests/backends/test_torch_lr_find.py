"""The LR range test: the sweep, the suggestion rule, restoring the module."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import archtune.recipe  # noqa: E402
from archtune._errors import ConfigError  # noqa: E402
from archtune.backends.torch._lr_find import find_lr, suggest_lr  # noqa: E402
from archtune.data import Dataset, load_dataset  # noqa: E402
from archtune.recipe import Recipe  # noqa: E402

torch.set_num_threads(1)
nn = torch.nn


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits", seed=0)


def mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 10)
    )


def test_find_lr_on_digits_suggests_a_finite_rate_inside_the_sweep(digits: Dataset) -> None:
    result = find_lr(mlp(), digits, Recipe(optimizer="sgd"), n_steps=100)
    assert math.isfinite(result.suggested_lr)
    assert 1e-7 <= result.suggested_lr <= 10.0
    assert result.lrs[0] <= result.suggested_lr <= result.lrs[-1]
    assert result.rule == "steepest"
    assert result.suggested_lr < result.min_loss_lr
    assert 1e-3 < result.suggested_lr < 5.0  # SGD on standardised digits: a sane region
    # the sweep is geometric from start_lr towards end_lr
    ratios = result.lrs[1:] / result.lrs[:-1]
    np.testing.assert_allclose(ratios, (10.0 / 1e-7) ** (1 / 99), rtol=1e-9)
    assert len(result.lrs) == len(result.losses) == len(result.smoothed_losses)


def test_sweep_stops_when_the_loss_diverges(digits: Dataset) -> None:
    result = find_lr(mlp(), digits, Recipe(optimizer="sgd"), end_lr=1e4, n_steps=100)
    assert result.diverged
    assert len(result.lrs) < 100
    last = result.smoothed_losses[-1]
    assert not math.isfinite(last) or last > 4 * np.nanmin(result.smoothed_losses)


def test_module_is_restored_exactly(digits: Dataset) -> None:
    module = mlp()
    module.eval()
    before = {k: v.clone() for k, v in module.state_dict().items()}
    find_lr(module, digits, Recipe(optimizer="adam", weight_init="he_normal"), n_steps=30)
    after = module.state_dict()
    assert set(after) == set(before)
    assert all(torch.equal(before[k], after[k]) for k in before)  # incl. BatchNorm buffers
    assert not module.training


def test_same_seed_same_curve(digits: Dataset) -> None:
    a = find_lr(mlp(), digits, Recipe(), n_steps=20, seed=3)
    b = find_lr(mlp(), digits, Recipe(), n_steps=20, seed=3)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.suggested_lr == b.suggested_lr


def test_lazy_export_in_the_recipe_package(digits: Dataset) -> None:
    result = archtune.recipe.find_lr(mlp(), digits, Recipe(optimizer="gd"), n_steps=10)
    assert len(result.lrs) <= 10
    assert result.to_dict()["suggested_lr"] == result.suggested_lr


def test_smoothing_is_a_bias_corrected_moving_average(digits: Dataset) -> None:
    result = find_lr(mlp(), digits, Recipe(), n_steps=20, smoothing=0.3)
    avg = 0.0
    for i, loss in enumerate(result.losses):
        avg = 0.3 * loss + 0.7 * avg
        assert result.smoothed_losses[i] == pytest.approx(avg / (1 - 0.7 ** (i + 1)))


def test_suggest_lr_picks_the_steepest_descent_before_the_minimum() -> None:
    lrs = np.logspace(-6, 0, 61)
    x = np.log10(lrs)
    # a smooth drop centred at 1e-3 (steepest there), minimum near 1e-1, then a rise
    loss = 2.0 - np.tanh(2.0 * (x + 3.0)) + 0.5 * np.maximum(0.0, x + 1.0) ** 2 * 10
    suggested, min_lr, rule = suggest_lr(lrs, loss)
    assert rule == "steepest"
    assert suggested == pytest.approx(1e-3, rel=1e-6)
    assert min_lr == pytest.approx(lrs[int(np.argmin(loss))])


def test_suggest_lr_falls_back_to_a_tenth_of_the_minimum() -> None:
    lrs = np.logspace(-3, 0, 10)
    loss = np.linspace(1.0, 5.0, 10)  # rising from the start
    suggested, min_lr, rule = suggest_lr(lrs, loss)
    assert rule == "min/10"
    assert min_lr == lrs[0]
    assert suggested == pytest.approx(lrs[0] / 10)
    with pytest.raises(ValueError, match="no finite loss"):
        suggest_lr(lrs, np.full(10, np.nan))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"start_lr": 0.0}, "start_lr must be a number > 0"),
        ({"end_lr": 1e-8}, "end_lr must be a number > start_lr"),
        ({"n_steps": 2}, "n_steps must be an integer >= 5"),
        ({"smoothing": 0.0}, "smoothing must be"),
        ({"diverge_factor": 1.0}, "diverge_factor must be a number > 1"),
    ],
)
def test_bad_arguments(digits: Dataset, kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        find_lr(mlp(), digits, Recipe(), **kwargs)  # type: ignore[arg-type]
