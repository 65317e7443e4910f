"""LRSchedule: the learning rate of every step, for every schedule, with and without warm-up."""

from __future__ import annotations

import math

import numpy as np
import pytest

from archtune.recipe import LRSchedule, Recipe

SPE = 10  # steps per epoch


def _lrs(recipe: Recipe, spe: int = SPE) -> np.ndarray:
    s = LRSchedule(recipe, steps_per_epoch=spe)
    return np.array([s.lr_at(t) for t in range(s.total_steps + 1)])


def test_constant() -> None:
    s = LRSchedule(Recipe(lr=0.3, epochs=3), steps_per_epoch=SPE)
    assert s.is_constant
    assert set(_lrs(Recipe(lr=0.3, epochs=3))) == {0.3}


def test_warmup_ramps_linearly_to_the_rate_then_the_schedule_starts() -> None:
    r = Recipe(lr=0.1, epochs=5, warmup_epochs=2, schedule="cosine")
    s = LRSchedule(r, steps_per_epoch=SPE)
    assert not s.is_constant
    assert s.warmup_steps == 20
    lrs = _lrs(r)
    ramp = lrs[:21]
    np.testing.assert_allclose(np.diff(ramp), 0.1 / 21)  # equal increments
    np.testing.assert_allclose(ramp[0], 0.1 / 21)
    assert lrs[20] == pytest.approx(0.1)  # the cosine's clock starts after the warm-up
    assert np.all(np.diff(lrs[20:]) < 0)


def test_fractional_warmup_epochs() -> None:
    s = LRSchedule(Recipe(lr=1.0, warmup_epochs=0.5), steps_per_epoch=SPE)
    assert s.warmup_steps == 5
    assert s.lr_at(4) == pytest.approx(5 / 6)
    assert s.lr_at(5) == 1.0


def test_step_decay_halves_at_each_boundary() -> None:
    r = Recipe(lr=0.1, epochs=6, schedule="step", step_size=2, step_gamma=0.5)
    lrs = _lrs(r)
    assert lrs[19] == pytest.approx(0.1)
    assert lrs[20] == pytest.approx(0.05)
    assert lrs[39] == pytest.approx(0.05)
    assert lrs[40] == pytest.approx(0.025)
    s = LRSchedule(r, steps_per_epoch=SPE)
    assert s.epoch_lrs(1) == [pytest.approx(0.1)] * SPE
    assert s.epoch_lrs(2) == [pytest.approx(0.05)] * SPE


def test_exponential_decay_is_gamma_per_epoch_smoothly() -> None:
    r = Recipe(lr=0.2, epochs=4, schedule="exponential", exp_gamma=0.5)
    lrs = _lrs(r)
    assert lrs[10] == pytest.approx(0.1)
    assert lrs[20] == pytest.approx(0.05)
    assert lrs[5] == pytest.approx(0.2 * 0.5**0.5)
    assert np.all(np.diff(lrs) < 0)


def test_cosine_reaches_the_floor_at_the_end() -> None:
    r = Recipe(lr=0.1, epochs=4, schedule="cosine", min_lr=0.01)
    lrs = _lrs(r)
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[20] == pytest.approx(0.055)  # halfway: the mean of lr and floor
    assert lrs[40] == pytest.approx(0.01)
    assert np.all(np.diff(lrs) < 0)
    assert LRSchedule(r, steps_per_epoch=SPE).lr_at(1000) == pytest.approx(0.01)


def test_one_cycle_rises_to_the_peak_then_falls_below_the_start() -> None:
    r = Recipe(lr=1.0, epochs=10, schedule="one_cycle", pct_start=0.3, div_factor=25,
               final_div_factor=1e4)  # fmt: skip
    lrs = _lrs(r)
    peak = int(np.argmax(lrs))
    assert peak == 30
    assert lrs[peak] == pytest.approx(1.0)
    assert lrs[0] == pytest.approx(1.0 / 25)
    assert np.all(np.diff(lrs[: peak + 1]) > 0)
    assert np.all(np.diff(lrs[peak:]) < 0)
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4)


def test_plateau_reduces_after_patience_epochs_without_improvement() -> None:
    r = Recipe(lr=1.0, schedule="plateau", plateau_patience=2, plateau_factor=0.5, min_lr=0.2)
    s = LRSchedule(r, steps_per_epoch=SPE)
    seen = []
    for loss in [1.0, 0.9, 0.9, 0.95, 0.8, 0.85, 0.85, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]:
        s.end_epoch(loss)
        seen.append(s.lr_at(100))
    #  1.0 0.9 | 0.9(bad1) 0.95(bad2 -> 0.5) | 0.8 | bad, bad -> 0.25 | bad, bad -> floor 0.2
    assert seen[:3] == [1.0, 1.0, 1.0]
    assert seen[3] == 0.5
    assert seen[4:6] == [0.5, 0.5]
    assert seen[6] == 0.25
    assert seen[8] == pytest.approx(0.2)  # 0.125 would be below min_lr
    assert s.n_reductions >= 3


def test_plateau_treats_nan_as_no_improvement_and_restores_state() -> None:
    r = Recipe(lr=1.0, schedule="plateau", plateau_patience=1, plateau_factor=0.1)
    s = LRSchedule(r, steps_per_epoch=1)
    s.end_epoch(1.0)
    s.end_epoch(math.nan)
    assert s.lr_at(0) == pytest.approx(0.1)
    other = LRSchedule(r, steps_per_epoch=1)
    other.load_state_dict(s.state_dict())
    assert other.lr_at(0) == pytest.approx(0.1)


def test_non_plateau_schedules_ignore_the_validation_loss() -> None:
    s = LRSchedule(Recipe(lr=0.5, schedule="cosine", plateau_patience=1), steps_per_epoch=1)
    before = s.lr_at(3)
    for _ in range(5):
        s.end_epoch(10.0)
    assert s.lr_at(3) == before


def test_invalid_steps_per_epoch() -> None:
    with pytest.raises(ValueError, match="steps_per_epoch must be >= 1"):
        LRSchedule(Recipe(), steps_per_epoch=0)
