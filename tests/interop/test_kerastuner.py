"""KerasTuner-style ``build(hp)`` under archtune: the discovered space, replay, a real search."""

from __future__ import annotations

import os
import pickle

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

import optuna  # noqa: E402
from kt_build_functions import build_mlp, build_uncompiled  # noqa: E402

from archtune import ConfigError, Decision, NullReporter, ObjectiveError  # noqa: E402
from archtune.interop import kerastuner as kt  # noqa: E402
from archtune.interop._kt_objective import KerasBuildObjective  # noqa: E402
from archtune.space import Choice, Float, Int, Space  # noqa: E402

# Keras's own fit() on the torch backend converts tensors with np.array(..., copy=False).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

EXPECTED_SPACE = Space(
    {
        "layers": Int(1, 2),
        "units_0": Int(16, 64, step=16),
        "dropout": Choice([False, True]),
        "lr": Float(1e-3, 3e-2, log=True),
        "optimizer": Choice(["adam", "sgd"]),
        "units_1": Int(16, 64, step=16),
        "rate": Float(0.1, 0.5, when={"dropout": True}),
        "momentum": Float(0.5, 0.95, when={"optimizer": "sgd"}),
    }
)


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.set_num_threads(1)
    keras.utils.set_random_seed(0)


def test_discovery_finds_every_name_range_log_scale_and_condition() -> None:
    space = kt.discover_space(build_mlp)
    assert space == EXPECTED_SPACE
    assert space["lr"].log  # type: ignore[union-attr]
    assert space["units_1"].when == {}  # a loop's later layer exists always, as in KerasTuner
    assert list(space).index("momentum") > list(space).index("optimizer")


def test_discovery_warns_when_it_stops_early() -> None:
    with pytest.warns(UserWarning, match="stopped after 1 runs"):
        space = kt.discover_space(build_mlp, max_builds=1)
    assert "units_1" not in space
    assert "momentum" not in space


def test_default_hyperparameters_behave_as_kerastuners() -> None:
    hp = kt.HyperParameters()
    assert hp.Int("units", 32, 256, step=32) == 32
    assert hp.Float("lr", 1e-4, 1e-2, sampling="log") == pytest.approx(1e-4)
    assert hp.Choice("act", ["relu", "tanh"]) == "relu"
    assert hp.Boolean("bn") is False
    assert hp.Fixed("epochs", 3) == 3
    with hp.conditional_scope("act", "tanh"):
        assert hp.Int("extra", 1, 4) is None  # inactive: None, as in KerasTuner
    assert hp.Float("drop", 0.0, 0.5, parent_name="bn", parent_values=[False]) == 0.0
    assert hp.values == {
        "units": 32,
        "lr": 1e-4,
        "act": "relu",
        "bn": False,
        "epochs": 3,
        "drop": 0.0,
    }
    assert hp["units"] == hp.get("units") == 32
    with pytest.raises(ValueError, match="inactive"):
        hp.get("extra")
    with pytest.raises(KeyError, match="does not exist"):
        hp.get("nothing")
    space = hp.to_space()
    assert space["extra"].when == {"act": ("tanh",)}
    assert space["drop"].when == {"bn": (False,)}


def test_replay_builds_the_trials_model() -> None:
    config = {
        "layers": 2,
        "units_0": 48,
        "units_1": 16,
        "dropout": True,
        "rate": 0.25,
        "lr": 0.01,
        "optimizer": "sgd",
        "momentum": 0.9,
    }
    hp = kt.HyperParameters.from_config(config)
    model = build_mlp(hp)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [48, 16, 10]
    assert model.layers[-2].rate == 0.25
    assert float(model.optimizer.momentum) == pytest.approx(0.9)
    assert hp.values == config
    assert hp.missing == []
    partial = kt.HyperParameters.from_config({"layers": 1})
    build_mlp(partial)
    assert partial.values["units_0"] == 16  # not in the config: the default
    assert "units_0" in partial.missing


def test_define_by_run_with_an_optuna_trial() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(6):
        trial = study.ask()
        hp = kt.HyperParameters.from_trial(trial)
        build_mlp(hp)
        for name, value in hp.values.items():
            assert EXPECTED_SPACE[name].contains(value), (name, value)
        assert hp.values == trial.params
        assert ("momentum" in trial.params) == (trial.params["optimizer"] == "sgd")
        study.tell(trial, 0.0)


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda hp: hp.Float("lr", 1e-4, 1.0, sampling="reverse_log"), "reverse_log"),
        (lambda hp: hp.Int("units", 64, 32), "min_value must be <= max_value"),
        (lambda hp: hp.Float("lr", 1e-4, 1.0, step=0.1, sampling="log"), "step must be None"),
        (lambda hp: hp.Choice("act", ["relu", 3]), "must all have one type"),
        (
            lambda hp: hp.Int("units", 1, 4, parent_name="nope", parent_values=[1]),
            "parent_name must name a hyperparameter declared before",
        ),
        (lambda hp: (hp.Int("units", 1, 4), hp.Int("units", 1, 8)), "declared the same way"),
        (lambda hp: hp.Int("units", 1, 4, default=9), "default must lie in"),
    ],
)
def test_invalid_declarations_are_config_errors(declare: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        declare(kt.HyperParameters())  # type: ignore[operator]


def test_a_condition_on_a_float_is_refused_when_the_space_is_built() -> None:
    def build(hp: kt.HyperParameters) -> None:
        hp.Float("lr", 1e-3, 1e-1)
        with hp.conditional_scope("lr", 1e-3):
            hp.Int("units", 1, 4)

    with pytest.raises(ConfigError, match="discovered space is invalid"):
        kt.discover_space(build)


class StopAfterFirstEpoch(NullReporter):
    def report(self, step: int, **metrics: float) -> Decision:
        super().report(step, **metrics)
        return Decision.STOP


def test_the_worker_objective_reports_each_epoch_and_stops_when_told() -> None:
    objective = KerasBuildObjective(
        build="kt_build_functions:build_mlp",
        data="digits",
        data_options=(("max_samples", 400),),
        epochs=5,
    )
    objective = pickle.loads(pickle.dumps(objective))  # workers receive a pickled copy
    reporter = StopAfterFirstEpoch(seed=0)
    config = {"layers": 1, "units_0": 32, "dropout": False, "lr": 0.01, "optimizer": "adam"}
    metrics = objective(config, reporter)
    assert metrics["epochs"] == 1.0
    assert [step for step, _ in reporter.history] == [1]
    assert {"val_accuracy", "val_loss", "test_accuracy", "params"} <= set(metrics)
    assert metrics["params"] == (64 * 32 + 32) + (32 * 10 + 10)


def test_a_build_that_does_not_compile_stops_the_study_with_the_fix() -> None:
    objective = KerasBuildObjective(build=build_uncompiled, data="digits", epochs=1)
    with pytest.raises(ObjectiveError, match=r"must compile the model .*model.compile"):
        objective({"units": 8}, NullReporter())


def test_a_build_that_cannot_reach_a_worker_is_refused_before_the_study() -> None:
    def local_build(hp: kt.HyperParameters) -> None:
        hp.Int("units", 1, 2)

    with pytest.raises(ConfigError, match="module-level function"):
        kt.tune_builder(local_build, data="digits", n_trials=1)
    with pytest.raises(ConfigError, match="epochs must be an integer >= 1"):
        kt.tune_builder(build_mlp, data="digits", n_trials=1, epochs=0)


@pytest.mark.integration
def test_a_kerastuner_style_search_trains_on_digits() -> None:
    result = kt.tune_builder(
        build_mlp,
        data="digits",
        objectives={"val_accuracy": "max"},
        n_trials=3,
        epochs=3,
        seed=3,  # this seed's three configurations take both optimizers and both depths
    )
    assert result.counts.get("complete") == 3
    assert result.space == EXPECTED_SPACE
    drawn = {trial.config["optimizer"] for trial in result.trials}
    assert drawn == {"adam", "sgd"}, "the seed no longer reaches the conditional branch"
    for trial in result.trials:
        EXPECTED_SPACE.check_config(trial.config)
        assert ("momentum" in trial.config) == (trial.config["optimizer"] == "sgd")
        assert ("rate" in trial.config) == trial.config["dropout"]
        assert trial.metrics["epochs"] == 3.0
        curve = result.study.trials[trial.number].user_attrs["archtune.curve"]
        assert [point["step"] for point in curve] == [1, 2, 3]
    assert result.best_trial.metrics["val_accuracy"] > 0.8
