"""archtune's light GP sampler: valid proposals, no repeats, spread-out pending trials, and a
search that beats random search on a problem with structure."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from archtune.search._encoding import Encoding
from archtune.search._gp import GP as _GP
from archtune.search._gp import gaussian_ranks as _gaussian_ranks
from archtune.search._gp import length_scale_centre
from archtune.search._light_gp import LightGPSampler
from archtune.space import Choice, Fixed, Float, Int, Space

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


def _zdt1(trial: optuna.Trial) -> tuple[float, float]:
    """ZDT1 on four inputs: a convex front at g = 1 (x2..x4 = 0)."""
    x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(4)]
    g = 1.0 + 9.0 * sum(x[1:]) / 3.0
    return x[0], g * (1.0 - math.sqrt(x[0] / g))


def _hypervolume(study: optuna.Study) -> float:
    from optuna._hypervolume import compute_hypervolume

    points = np.array([t.values for t in study.trials if t.values is not None])
    return float(compute_hypervolume(points, np.array([1.1, 11.0])))


def test_several_objectives_beat_random_search() -> None:
    def hv(sampler: optuna.samplers.BaseSampler) -> float:
        study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
        study.optimize(_zdt1, n_trials=40)
        return _hypervolume(study)

    gp = [hv(LightGPSampler(seed=s)) for s in range(3)]
    rand = [hv(optuna.samplers.RandomSampler(seed=s)) for s in range(3)]
    assert np.mean(gp) > np.mean(rand) + 0.5, (gp, rand)


def test_parego_weights_pick_the_matching_end_of_the_front() -> None:
    from archtune.search._light_gp import parego_scalarise

    values = np.array([[0.0, 3.0], [1.0, 1.0], [3.0, 0.0], [3.0, 3.0]])
    assert int(np.argmin(parego_scalarise(values, np.array([1.0, 0.0])))) == 0
    assert int(np.argmin(parego_scalarise(values, np.array([0.0, 1.0])))) == 2
    assert int(np.argmin(parego_scalarise(values, np.array([0.5, 0.5])))) == 1
    assert int(np.argmax(parego_scalarise(values, np.array([0.5, 0.5])))) == 3


def _conditional_space() -> Space:
    return Space(
        {
            "optimizer": Choice(["sgd", "momentum", "adam"]),
            "lr": Float(1e-4, 1.0, log=True),
            "momentum": Float(0.5, 0.99, when={"optimizer": "momentum"}),
            "nesterov": Choice([False, True], when={"optimizer": "momentum"}),
            "dampening": Float(0.0, 0.5, when={"nesterov": False}),
            "beta2": Float(0.9, 0.9999, when={"optimizer": "adam"}),
            "width": Int(8, 512, log=True),
            "epochs": Fixed(10),
        }
    )


def _conditional_loss(config: dict[str, object]) -> float:
    """Best: momentum 0.9, nesterov, lr 1e-2, width 64; adam and sgd are a little worse."""
    lr, width = float(config["lr"]), int(config["width"])  # type: ignore[arg-type]
    value = (math.log10(lr) + 2.0) ** 2 + (math.log2(width) - 6.0) ** 2 * 0.2
    if config["optimizer"] == "momentum":
        value += 10.0 * (float(config["momentum"]) - 0.9) ** 2  # type: ignore[arg-type]
        value += 0.0 if config["nesterov"] else 0.3 + float(config["dampening"])  # type: ignore[arg-type]
    else:
        value += 0.8 if config["optimizer"] == "adam" else 1.5
    return value


def test_a_conditional_space_is_modelled_and_proposals_are_valid() -> None:
    space = _conditional_space()

    def best(sampler: optuna.samplers.BaseSampler) -> float:
        study = optuna.create_study(sampler=sampler)
        for _ in range(40):
            trial = study.ask()
            config = space.complete(space.sample(trial))
            space.check_config(config)  # only the active parameters, each in its range
            study.tell(trial, _conditional_loss(config))
        return study.best_value

    gp = [best(LightGPSampler(seed=s, space=space)) for s in range(4)]
    tpe = [best(optuna.samplers.TPESampler(seed=s)) for s in range(4)]
    assert np.mean(gp) < np.mean(tpe), (gp, tpe)


def test_encoding_round_trips_and_repairs_conditions() -> None:
    space = _conditional_space()
    encoding = Encoding(space)
    rng = np.random.default_rng(0)
    points = encoding.random(200, rng)
    for point in points:
        config = encoding.decode(point)
        space.check_config(space.complete(config))
        np.testing.assert_allclose(encoding.encode(config), point, atol=1e-9)
    sgd = encoding.encode({"optimizer": "sgd", "lr": 0.01, "width": 64})
    moved = encoding.neighbours(sgd, rng)
    configs = [encoding.decode(p) for p in moved]
    momentum = [c for c in configs if c["optimizer"] == "momentum"]
    assert momentum
    assert all("momentum" in c and "nesterov" in c for c in momentum)
    assert all("momentum" not in c for c in configs if c["optimizer"] != "momentum")
    moved_lr = [not math.isclose(float(c["lr"]), 0.01, rel_tol=1e-9) for c in configs]
    moved_width = [c["width"] != 64 for c in configs]
    assert all(a + b <= 1 for a, b in zip(moved_lr, moved_width, strict=True))
    assert any(moved_lr)
    assert any(moved_width)


def _close(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9)
    return a == b


def test_a_starting_configuration_makes_start_up_trials_local() -> None:
    space = _conditional_space()
    start = {"optimizer": "momentum", "lr": 0.01, "momentum": 0.9, "nesterov": True, "width": 64}
    study = optuna.create_study(sampler=LightGPSampler(seed=0, space=space))
    study.enqueue_trial(start, user_attrs={"archtune.start": "defaults"})
    changed = []
    for _ in range(9):
        trial = study.ask()
        config = space.sample(trial)
        changed.append(sum(not _close(config.get(k), v) for k, v in start.items()))
        study.tell(trial, _conditional_loss(space.complete(config)))
    odd = changed[1::2]  # every other start-up trial moves one to three parameters
    assert all(1 <= n <= 4 for n in odd), changed
    assert changed[0] == 0


def _strata(values: list[float], low: float, high: float) -> list[int]:
    """Which of ``len(values)`` equal parts of ``[low, high]`` (log scale) each value is in."""
    n = len(values)
    return sorted(int(n * math.log(v / low) / math.log(high / low)) for v in values)


def test_the_latin_hypercube_covers_every_range_evenly() -> None:
    space = _conditional_space()
    encoding = Encoding(space)
    for seed in range(5):
        configs = [
            encoding.decode(p) for p in encoding.latin_hypercube(9, np.random.default_rng(seed))
        ]
        for config in configs:
            space.check_config(space.complete(config))
        assert _strata([float(c["lr"]) for c in configs], 1e-4, 1.0) == list(range(9))
        optimizers = [c["optimizer"] for c in configs]
        assert sorted(optimizers.count(o) for o in ("sgd", "momentum", "adam")) == [3, 3, 3]
    grid = Encoding(Space({"depth": Int(1, 4), "drop": Float(0.0, 0.4, step=0.2)}))
    for seed in range(5):
        configs = [grid.decode(p) for p in grid.latin_hypercube(12, np.random.default_rng(seed))]
        depths = [c["depth"] for c in configs]
        assert [depths.count(d) for d in (1, 2, 3, 4)] == [3, 3, 3, 3]  # the ends as often
        drops = [round(c["drop"], 9) for c in configs]
        assert [drops.count(d) for d in (0.0, 0.2, 0.4)] == [4, 4, 4]


def test_start_up_trials_spread_over_every_parameter_range() -> None:
    """Ten independent draws can put most learning rates in one corner; without a starting
    configuration the start-up's draws land one in each tenth of the range. With one, half the
    start-up moves around the best trial and the few draws stay Optuna's random ones."""
    space = _conditional_space()
    for seed in range(3):
        study = optuna.create_study(sampler=LightGPSampler(seed=seed, space=space))
        for _ in range(10):
            trial = study.ask()
            study.tell(trial, _conditional_loss(space.complete(space.sample(trial))))
        lrs = [float(t.params["lr"]) for t in study.trials]
        assert _strata(lrs, 1e-4, 1.0) == list(range(10)), (seed, lrs)
    start = {"optimizer": "adam", "lr": 0.01, "width": 64}
    first_draws = []
    samplers = [LightGPSampler(seed=0, space=space), optuna.samplers.RandomSampler(seed=0)]
    for sampler, draw in zip(samplers, (2, 1), strict=True):
        study = optuna.create_study(sampler=sampler)
        study.enqueue_trial(start, user_attrs={"archtune.start": "defaults"})
        for _ in range(draw + 1):  # light-gp: trial 1 moves around the start, trial 2 draws
            trial = study.ask()
            config = space.sample(trial)
            study.tell(trial, _conditional_loss(space.complete(config)))
        first_draws.append(config)
    assert first_draws[0] == first_draws[1]


def test_every_proposal_keeps_the_constraints_it_is_given() -> None:
    # A narrow bound (one random configuration in two hundred keeps it): most random draws,
    # local moves and model candidates break it, so each path falls back to a kept draw.
    space = _conditional_space()

    def keeps(config: dict[str, object]) -> bool:
        return float(config["lr"]) < 1.047e-4  # type: ignore[arg-type]

    start = {"optimizer": "adam", "lr": 1.02e-4, "width": 64}
    proposals: dict[bool, list[float]] = {}
    for constrained in (True, False):
        sampler = LightGPSampler(seed=0, space=space, keeps=keeps if constrained else None)
        study = optuna.create_study(sampler=sampler)
        study.enqueue_trial(start, user_attrs={"archtune.start": "defaults"})
        for _ in range(20):
            trial = study.ask()
            config = space.complete(space.sample(trial))
            study.tell(trial, _conditional_loss(config))
        proposals[constrained] = [float(t.params["lr"]) for t in study.trials]
    assert all(lr < 1.047e-4 for lr in proposals[True]), proposals[True]
    assert not all(lr < 1.047e-4 for lr in proposals[False])  # the bound is not met by chance


def test_trials_outside_the_space_are_left_out_of_the_model() -> None:
    """A study resumed with another space keeps its old trials; the sampler skips them."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    space = _conditional_space()
    study = optuna.create_study(sampler=LightGPSampler(seed=0, space=space, n_startup_trials=3))
    old = optuna.trial.create_trial(
        params={"optimizer": "lamb", "lr": -1.0},
        distributions={
            "optimizer": CategoricalDistribution(["lamb"]),
            "lr": FloatDistribution(-2.0, 0.0),
        },
        value=0.0,
    )
    study.add_trial(old)
    for _ in range(8):
        trial = study.ask()
        config = space.complete(space.sample(trial))
        space.check_config(config)
        study.tell(trial, _conditional_loss(config))
    assert len(study.trials) == 9


def test_repair_keeps_an_active_number_at_the_middle_of_its_range() -> None:
    space = Space(
        {
            "schedule": Choice(["constant", "plateau"]),
            "patience": Int(1, 3, when={"schedule": "plateau"}),
        }
    )
    encoding = Encoding(space)
    point = encoding.encode({"schedule": "plateau", "patience": 2})  # patience at 0.5
    rng = np.random.default_rng(0)
    for _ in range(20):
        np.testing.assert_array_equal(encoding.repair(point[None, :], rng)[0], point)
    off = encoding.encode({"schedule": "constant"})
    revived = encoding.repair(np.array([[1.0, off[1]]] * 50), rng)
    assert set(revived[:, 1].tolist()) <= {0.0, 0.5, 1.0}
    assert len(set(revived[:, 1].tolist())) > 1  # a newly active parameter gets random values


def test_length_scales_grow_with_the_number_of_inputs() -> None:
    """Up to nine inputs (the spaces it was chosen on) the prior's centre is 0.5; above, it
    grows as the square root, so random configurations stay as far apart as there."""
    assert length_scale_centre(1) == length_scale_centre(9) == 0.5
    assert length_scale_centre(36) == pytest.approx(1.0)
    rng = np.random.default_rng(0)

    def typical(d: int) -> float:
        a, b = rng.random((2, 500, d))
        return float(np.median(np.linalg.norm(a - b, axis=1)) / length_scale_centre(d))

    assert typical(36) == pytest.approx(typical(9), rel=0.1)


def test_a_many_input_model_relates_a_neighbour_to_its_tried_configuration() -> None:
    """In a 30-input space, a configuration one category and a tenth of one range away from
    the best tried one is predicted nearer that trial's value, and with less doubt, than with
    the length scales of 0.5 the small spaces use."""
    d = 30
    rng = np.random.default_rng(0)
    is_cat = np.arange(d) % 2 == 0
    x = rng.random((12, d))
    x[:, is_cat] = rng.integers(3, size=(12, int(is_cat.sum())))
    y = _gaussian_ranks(rng.random(12))
    best = int(np.argmin(y))
    neighbour = x[best].copy()
    neighbour[0] = (neighbour[0] + 1) % 3
    neighbour[1] = np.clip(neighbour[1] + 0.1, 0, 1)

    def predict(scale: float) -> tuple[float, float]:
        log_params = np.concatenate([np.full(d, math.log(scale)), [math.log(1e-2)]])
        mean, std = _GP(x, y, is_cat, log_params).predict(neighbour[None, :])
        return float(mean[0]), float(std[0])

    mean, std = predict(length_scale_centre(d))
    mean_small, std_small = predict(0.5)
    assert abs(mean - y[best]) < abs(mean_small - y[best]) - 0.2
    assert std < std_small - 0.05
