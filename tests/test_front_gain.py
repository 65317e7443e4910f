"""The expected hypervolume gain at a known cost, and light-gp's use of it: exact against a
brute-force hypervolume, and a search for small, accurate configurations that beats the same
sampler without the known cost (ParEGO on both objectives)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna
import pytest
from optuna._hypervolume import compute_hypervolume

from archtune.search._front_gain import KnownCost, expected_front_gain, front_indices
from archtune.search._light_gp import LightGPSampler
from archtune.space import Choice, Float, Int, Space

optuna.logging.set_verbosity(optuna.logging.WARNING)

REF = np.array([5.0, 3.0])  # (cost, score)


def _area(points: np.ndarray) -> float:
    return float(compute_hypervolume(points, REF)) if len(points) else 0.0


def test_front_indices_keeps_the_non_dominated_points_by_rising_cost() -> None:
    cost = np.array([3.0, 1.0, 2.0, 2.0, 4.0])
    score = np.array([0.5, 2.0, 1.0, 1.5, 0.5])
    assert front_indices(cost, score).tolist() == [1, 2, 0]


@pytest.mark.parametrize("cost", [0.5, 1.5, 2.5, 3.5, 4.5])
@pytest.mark.parametrize("score", [0.2, 1.2, 2.2, 2.9])
def test_a_certain_points_gain_is_the_area_it_adds(cost: float, score: float) -> None:
    front = np.array([[1.0, 2.0], [2.0, 1.0], [4.0, 0.5]])
    gain = expected_front_gain(
        np.array([score]),
        np.array([1e-9]),
        np.array([cost]),
        front[:, 0],
        front[:, 1],
        ref_cost=float(REF[0]),
        ref_score=float(REF[1]),
    )
    added = _area(np.vstack([front, [[cost, score]]])) - _area(front)
    assert gain[0] == pytest.approx(added, abs=1e-6)


def test_the_gain_is_the_mean_of_the_area_over_the_score_distribution() -> None:
    front = np.array([[1.0, 2.0], [3.0, 1.0]])
    rng = np.random.default_rng(0)
    draws = rng.normal(1.4, 0.6, 4000)
    sampled = np.mean(
        [_area(np.vstack([front, [[2.0, min(s, 3.0)]]])) - _area(front) for s in draws]
    )
    gain = expected_front_gain(
        np.array([1.4]),
        np.array([0.6]),
        np.array([2.0]),
        front[:, 0],
        front[:, 1],
        ref_cost=float(REF[0]),
        ref_score=float(REF[1]),
    )
    assert gain[0] == pytest.approx(sampled, rel=0.05)


# -- a search for small, accurate configurations --------------------------------------------
SPACE = Space(
    {
        "width": Int(4, 256, log=True),
        "depth": Int(1, 4),
        "lr": Float(1e-4, 1.0, log=True),
        "activation": Choice(["relu", "tanh", "sigmoid"]),
    }
)


def _params(config: Mapping[str, Any]) -> float:
    width, depth = int(config["width"]), int(config["depth"])
    return float(depth * width * width + 10 * width)


def _error(config: Mapping[str, Any]) -> float:
    """Larger networks are more accurate with diminishing returns; the recipe matters too."""
    capacity = int(config["depth"]) * math.log2(int(config["width"])) / 6.0
    error = 0.8 * math.exp(-capacity) + 0.1 * (math.log10(float(config["lr"])) + 2.0) ** 2
    return error + {"relu": 0.0, "tanh": 0.05, "sigmoid": 0.2}[str(config["activation"])]


def _search_hypervolume(sampler: optuna.samplers.BaseSampler, n_trials: int) -> float:
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    for _ in range(n_trials):
        trial = study.ask()
        config = SPACE.sample(trial)
        study.tell(trial, [_error(config), _params(config)])
    points = np.array([[math.log10(t.values[1]), t.values[0]] for t in study.trials])
    return float(compute_hypervolume(points, np.array([5.5, 3.0])))


def test_a_known_cost_finds_a_better_front_than_parego() -> None:
    """30 trials, 20 of them modelled, from the same start-up (over 8 seeds: 10.86 against
    10.67, higher on every seed; 10.63 against 10.48 at 20 trials, higher on 6; Optuna's TPE
    10.43 and 10.18)."""
    known = KnownCost(objective=1, of=_params)
    with_cost = [
        _search_hypervolume(LightGPSampler(seed=s, space=SPACE, known_cost=known), 30)
        for s in range(4)
    ]
    parego = [_search_hypervolume(LightGPSampler(seed=s, space=SPACE), 30) for s in range(4)]
    assert all(a > b for a, b in zip(with_cost, parego, strict=True)), (with_cost, parego)


def test_a_known_cost_that_cannot_be_computed_leaves_the_candidate_out() -> None:
    def only_narrow(config: Mapping[str, Any]) -> float | None:
        return None if int(config["width"]) > 32 else _params(config)

    sampler = LightGPSampler(seed=0, space=SPACE, known_cost=KnownCost(1, only_narrow))
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    configs = []
    for _ in range(16):
        trial = study.ask()
        config = SPACE.sample(trial)
        configs.append(config)
        study.tell(trial, [_error(config), _params(config)])
    assert all(int(c["width"]) <= 32 for c in configs[10:])  # every modelled proposal


def _quarter(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A shrink ladder of one step: a quarter of the width."""
    width = int(config["width"])
    return [{**config, "width": width // 4}] if width >= 16 else []


def _search_with_moves(seed: int, smaller: Any) -> tuple[float, int]:
    """The front's hypervolume after 24 trials, and how many modelled proposals were a
    shrink move of an earlier trial."""
    known = KnownCost(objective=1, of=_params, smaller=smaller)
    study = optuna.create_study(
        directions=["minimize", "minimize"],
        sampler=LightGPSampler(seed=seed, space=SPACE, known_cost=known),
    )
    configs: list[dict[str, Any]] = []
    moved = 0
    for _ in range(24):
        trial = study.ask()
        config = SPACE.sample(trial)
        moved += len(configs) >= 10 and any(config in _quarter(c) for c in configs)
        configs.append(config)
        study.tell(trial, [_error(config), _params(config)])
    points = np.array([[math.log10(t.values[1]), t.values[0]] for t in study.trials])
    return float(compute_hypervolume(points, np.array([5.5, 3.0]))), moved


def test_the_front_members_are_moved_down_their_shrink_ladder() -> None:
    """A move that quarters the width at once, which the local moves rarely make, is scored
    with the other candidates and taken where the model expects the front to gain (4 seeds:
    3 moves taken). On this toy the hypervolume is a tie, not a gain: over 8 seeds a median of
    10.86 against 10.84 without the moves, a mean of 10.73 against 10.81 (on two seeds a
    move's trial cost more than it gained); the gain was measured with real training
    (docs/samplers.md)."""
    with_moves = [_search_with_moves(seed, _quarter) for seed in range(4)]
    without = [_search_with_moves(seed, None) for seed in range(4)]
    assert sum(moved for _, moved in with_moves) >= 2
    assert sum(moved for _, moved in without) == 0
