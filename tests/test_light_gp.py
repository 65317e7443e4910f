"""archtune's light GP sampler: valid proposals, no repeats, spread-out pending trials, and a
search that beats random search on a problem with structure."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from archtune.search._light_gp import _GP, LightGPSampler, _gaussian_ranks

optuna.logging.set_verbosity(optuna.logging.WARNING)

WIDTHS = [16, 32, 64, 128, 256, 512]


def _mixed(trial: optuna.Trial) -> float:
    """A smooth bowl over a mixed space; the best is lr=1e-2, width=128, act=relu, drop=0.2."""
    lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
    width = trial.suggest_categorical("width", WIDTHS)
    act = trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
    drop = trial.suggest_float("drop", 0.0, 0.6, step=0.1)
    layers = trial.suggest_int("layers", 1, 8)
    value = (math.log10(lr) + 2.0) ** 2 + (WIDTHS.index(width) - 3) ** 2 * 0.3
    value += {"relu": 0.0, "tanh": 0.8, "gelu": 0.3}[act] + 4 * (drop - 0.2) ** 2
    return value + 0.2 * (layers - 3) ** 2


def _best_after(sampler: optuna.samplers.BaseSampler, n: int) -> float:
    study = optuna.create_study(sampler=sampler)
    study.optimize(_mixed, n_trials=n)
    return study.best_value


def test_beats_random_search_on_a_structured_problem() -> None:
    gp = [_best_after(LightGPSampler(seed=s), 40) for s in range(4)]
    rnd = [_best_after(optuna.samplers.RandomSampler(seed=s), 40) for s in range(4)]
    assert np.mean(gp) < 0.5 * np.mean(rnd)
    assert max(gp) < 1.0


def test_proposals_are_valid_and_never_repeat_a_configuration() -> None:
    study = optuna.create_study(sampler=LightGPSampler(seed=1, n_startup_trials=5))
    study.optimize(_mixed, n_trials=40)
    seen = set()
    for t in study.trials:
        p = t.params
        assert 1e-5 <= p["lr"] <= 1.0
        assert p["width"] in WIDTHS
        assert p["act"] in ("relu", "tanh", "gelu")
        assert min(abs(p["drop"] - k / 10) for k in range(7)) < 1e-9
        assert isinstance(p["layers"], int)
        assert 1 <= p["layers"] <= 8
        key = tuple(sorted(p.items()))
        assert key not in seen
        seen.add(key)


def test_running_trials_push_the_next_proposal_elsewhere() -> None:
    study = optuna.create_study(sampler=LightGPSampler(seed=0, n_startup_trials=5))
    study.optimize(_mixed, n_trials=12)
    first = study.ask()
    first_params = {k: _suggest(first, k) for k in ("lr", "width", "act", "drop", "layers")}
    second = study.ask()  # asked while the first still runs
    second_params = {k: _suggest(second, k) for k in ("lr", "width", "act", "drop", "layers")}
    assert first_params != second_params


def _suggest(trial: optuna.Trial, name: str) -> object:
    if name == "lr":
        return trial.suggest_float("lr", 1e-5, 1.0, log=True)
    if name == "width":
        return trial.suggest_categorical("width", WIDTHS)
    if name == "act":
        return trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
    if name == "drop":
        return trial.suggest_float("drop", 0.0, 0.6, step=0.1)
    return trial.suggest_int("layers", 1, 8)


def test_same_seed_same_proposals() -> None:
    def params(seed: int) -> list[dict[str, object]]:
        study = optuna.create_study(sampler=LightGPSampler(seed=seed))
        study.optimize(_mixed, n_trials=15)
        return [t.params for t in study.trials]

    assert params(3) == params(3)
    assert params(3) != params(4)


def test_maximisation_is_minimisation_of_the_negative() -> None:
    study = optuna.create_study(direction="maximize", sampler=LightGPSampler(seed=0))
    study.optimize(lambda t: -_mixed(t), n_trials=30)
    assert study.best_value > -1.5


def test_gaussian_ranks_share_ties_and_are_centred() -> None:
    z = _gaussian_ranks(np.array([5.0, 1.0, 3.0, 3.0, 1e9]))
    assert z[2] == z[3]
    assert z[1] < z[2] < z[0] < z[4]
    untied = _gaussian_ranks(np.array([5.0, 1.0, 3.0, 4.0, 1e9]))
    assert abs(float(np.sum(untied))) < 1e-9
    assert untied[4] == pytest.approx(-untied[1])  # a huge value is just the last rank


def test_likelihood_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((25, 3))
    x[:, 1] = rng.integers(3, size=25)
    is_cat = np.array([False, True, False])
    gp = _GP(x, rng.standard_normal(25), is_cat, np.log([0.5, 0.7, 0.3, 0.01]))
    params = np.log([0.4, 0.9, 0.2, 0.05])
    value, grad = gp.neg_log_likelihood(params)
    eps = 1e-6
    numeric = [(gp.neg_log_likelihood(params + eps * e)[0] - value) / eps for e in np.eye(4)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-4)


def test_several_objectives_fall_back_to_random_sampling() -> None:
    sampler = LightGPSampler(seed=0)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), t.suggest_float("y", 0, 1)), 12)
    assert sampler.infer_relative_search_space(study, study.trials[-1]) == {}
