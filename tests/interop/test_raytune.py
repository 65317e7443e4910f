"""archtune.interop.raytune: Ray Tune spaces to archtune, and function trainables under it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

tune = pytest.importorskip("ray.tune")

import optuna  # noqa: E402
from raytune_trainables import (  # noqa: E402
    crash_after_checkpoint,
    curves,
    silent,
    train_digits_archtune,
    train_digits_ray,
)

from archtune import ConfigError, NullReporter, ObjectiveError  # noqa: E402
from archtune.interop import ConversionWarning  # noqa: E402
from archtune.interop import raytune as at  # noqa: E402
from archtune.interop._ray_objective import RayTrainableObjective  # noqa: E402
from archtune.interop._raytune_space import convert_ray_tune  # noqa: E402

CONVERSIONS: list[tuple[str, Any, dict[str, Any]]] = [
    ("uniform", tune.uniform(-1, 2), {"type": "float", "low": -1.0, "high": 2.0}),
    (
        "quniform",
        tune.quniform(0.1, 1.0, 0.1),
        {"type": "float", "low": 0.1, "high": 1.0, "step": 0.1},
    ),
    (
        "loguniform",
        tune.loguniform(1e-4, 1e-1),
        {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    ),
    (
        "qloguniform",
        tune.qloguniform(1e-3, 1.0, 5e-4),
        {"type": "float", "low": 1e-3, "high": 1.0, "log": True},
    ),
    ("randint", tune.randint(0, 5), {"type": "int", "low": 0, "high": 4}),
    ("qrandint", tune.qrandint(10, 100, 15), {"type": "int", "low": 15, "high": 90, "step": 15}),
    ("qrandint q=1", tune.qrandint(1, 10, 1), {"type": "int", "low": 1, "high": 9}),
    ("lograndint", tune.lograndint(1, 100), {"type": "int", "low": 1, "high": 99, "log": True}),
    (
        "qlograndint",
        tune.qlograndint(2, 300, 4),
        {"type": "int", "low": 4, "high": 300, "log": True},
    ),
    ("choice", tune.choice(["relu", "tanh"]), {"type": "choice", "options": ["relu", "tanh"]}),
    ("choice of lists", tune.choice([[16, 16], [32]]), {"type": "choice", "options": [0, 1]}),
    ("grid_search", tune.grid_search([1, 2, 3]), {"type": "choice", "options": [1, 2, 3]}),
]


@pytest.mark.parametrize(
    ("kind", "domain", "expected"), CONVERSIONS, ids=[c[0] for c in CONVERSIONS]
)
def test_each_domain_converts_exactly(kind: str, domain: Any, expected: dict[str, Any]) -> None:
    space = at.from_ray_tune({"p": domain, "epochs": 5})
    assert list(space) == ["p"]
    assert space["p"].to_dict() == expected


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        (tune.randn(1, 2), {"type": "float", "low": -5.0, "high": 7.0}),
        (tune.qrandn(0, 1, 0.5), {"type": "float", "low": -3.0, "high": 3.0, "step": 0.5}),
    ],
    ids=["randn", "qrandn"],
)
def test_normals_warn_once_naming_the_path(domain: Any, expected: dict[str, Any]) -> None:
    with pytest.warns(ConversionWarning) as caught:
        space = at.from_ray_tune({"opt": {"p": domain}})
    assert space["opt/p"].to_dict() == expected
    assert len(caught) == 1
    assert str(caught[0].message).startswith("raytune: opt/p is tune.")


def test_values_match_what_ray_tune_samples() -> None:
    """Quantized values, casts, nested dicts and lists: the config Ray's rules give."""
    space = {
        "lr": tune.qloguniform(1e-3, 1.0, 5e-4),
        "width": tune.qlograndint(2, 300, 4),
        "model": {"act": tune.choice(["relu", "tanh"]), "layers": tune.choice([[16, 16], [32]])},
        "pair": [1, tune.uniform(0, 1)],
        "epochs": 3,
    }
    converted = convert_ray_tune(space)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(30):
        trial = study.ask()
        config = converted.point(converted.space.sample(trial))
        study.tell(trial, 0.0)
        assert config["epochs"] == 3
        assert config["model"]["layers"] in ([16, 16], [32])
        assert isinstance(config["pair"], list)
        assert config["pair"][0] == 1
        assert isinstance(config["width"], int)
        assert config["width"] % 4 == 0
        assert 4 <= config["width"] <= 300
        assert 1e-3 <= config["lr"] <= 1.0
        assert abs(config["lr"] / 5e-4 - round(config["lr"] / 5e-4)) < 1e-9
        assert tune.search.sample.Float(1e-3, 1.0).is_valid(config["lr"])


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (
            {"a": tune.randint(1, 5), "b": tune.sample_from(lambda c: c["a"] * 2)},
            "raytune: b is tune.sample_from(...), a function of the config that archtune cannot "
            "search; compute it in the trainable from the other values, or search it with "
            "tune.choice, tune.uniform or tune.randint",
        ),
        (
            {"epochs": 5},
            "raytune: param_space searches nothing (no tune.* domain and no grid_search); add "
            "one, or run the trainable directly",
        ),
        (
            {"q": tune.qrandint(1, 3, 5)},
            "raytune: q has no multiple of q=5 between 1 and 3; widen the bounds or lower q",
        ),
    ],
    ids=["sample_from", "nothing searched", "empty grid"],
)
def test_what_cannot_be_searched_is_a_one_line_error(space: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        at.from_ray_tune(space)
    assert str(caught.value) == message


# -- the trainable, in this process -----------------------------------------------------------


def _objective(trainable: Any, space: dict[str, Any]) -> RayTrainableObjective:
    return RayTrainableObjective(trainable, convert_ray_tune(space))


def test_reports_are_steps_and_the_last_is_the_result() -> None:
    objective = _objective(curves, {"quality": tune.uniform(0, 1), "epochs": 4})
    reporter = NullReporter()
    metrics = objective({"quality": 0.8}, reporter)
    assert [step for step, _ in reporter.history] == [1, 2, 3, 4]
    assert reporter.history[0][1] == {"score": 0.2, "epoch": 1.0, "training_iteration": 1.0}
    assert metrics == {"score": 0.8, "epoch": 4.0, "training_iteration": 4.0}


def test_a_trainable_that_never_reports_stops_the_study() -> None:
    with pytest.raises(ObjectiveError, match=r"returned without calling report\(\)"):
        _objective(silent, {"x": tune.uniform(0, 1)})({"x": 0.5})


def test_a_rerun_resumes_from_the_last_checkpoint() -> None:
    objective = _objective(
        crash_after_checkpoint, {"x": tune.uniform(0, 1), "epochs": 5, "crash_at": 3}
    )
    checkpoints: dict[int, bytes] = {}
    first = NullReporter(checkpoints=checkpoints)
    with pytest.raises(RuntimeError, match="crash at epoch 3"):
        objective({"x": 0.5}, first)
    assert [step for step, _ in first.history] == [1, 2]
    rerun = NullReporter(checkpoints=checkpoints)
    metrics = objective({"x": 0.5}, rerun)
    assert [step for step, _ in rerun.history] == [3, 4, 5]  # Ray's training_iteration goes on
    assert metrics["start"] == 3.0
    assert metrics["epoch"] == 5.0


def test_outside_a_trial_report_and_get_checkpoint_do_nothing() -> None:
    at.report({"loss": 1.0})
    assert at.get_checkpoint() is None


# -- under archtune's driver ------------------------------------------------------------------


@pytest.mark.integration
def test_archtunes_scheduler_stops_trainables_early() -> None:
    result = at.tune_trainable(
        curves,
        {"quality": tune.uniform(0, 1), "epochs": 9},
        metric="score",
        mode="max",
        n_trials=14,
        seed=0,
        sampler="random",
        scheduler={"name": "asha", "min_steps": 1, "eta": 3, "max_steps": 9},
    )
    stopped = [t for t in result.trials if t.status == "stopped"]
    assert stopped, "ASHA stopped no trainable"
    assert all(t.metrics["training_iteration"] < 9 for t in stopped)
    complete = [t for t in result.trials if t.status == "complete"]
    assert all(t.metrics["training_iteration"] == 9 for t in complete)
    assert result.best_trial.metrics["score"] == max(t.metrics["score"] for t in complete)


# -- the same trainable under real Ray Tune and under archtune --------------------------------


@pytest.mark.ray
@pytest.mark.integration
def test_the_docs_trainable_gives_ray_tunes_metrics_under_archtune(
    local_ray: None, tmp_path: Path
) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    space = {"lr": tune.choice([0.05]), "hidden": tune.choice([32]), "epochs": 4, "seed": 0}
    tuner = tune.Tuner(
        train_digits_ray,
        param_space=space,
        tune_config=tune.TuneConfig(num_samples=1),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), name="docs", verbose=0),
    )
    (ray_result,) = list(tuner.fit())
    assert ray_result.error is None
    frame = ray_result.metrics_dataframe
    under_ray = [
        {"val_loss": float(row.val_loss), "val_accuracy": float(row.val_accuracy)}
        for row in frame.itertuples()
    ]
    assert len(under_ray) == 4

    result = at.tune_trainable(
        train_digits_archtune,
        space,
        metric="val_accuracy",
        mode="max",
        n_trials=1,
        artifacts=str(tmp_path / "artifacts"),
    )
    (trial,) = result.trials
    assert trial.status == "complete"
    curve = result.study.trials[0].user_attrs["archtune.curve"]
    under_archtune = [
        {"val_loss": row["val_loss"], "val_accuracy": row["val_accuracy"]} for row in curve
    ]
    assert [row["step"] for row in curve] == [1, 2, 3, 4]
    assert under_archtune == [pytest.approx(row, rel=1e-6) for row in under_ray]
    assert trial.metrics["val_accuracy"] == pytest.approx(under_ray[-1]["val_accuracy"])


@pytest.mark.integration
def test_the_docs_trainable_is_stopped_early_and_resumable(tmp_path: Path) -> None:
    """Real training under ASHA: stopped trials end mid-way; each epoch left a checkpoint."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    result = at.tune_trainable(
        train_digits_archtune,
        {"lr": tune.loguniform(1e-3, 0.5), "hidden": tune.choice([4, 32]), "epochs": 6, "seed": 0},
        metric="val_accuracy",
        mode="max",
        n_trials=10,
        seed=1,
        sampler="random",
        scheduler={"name": "asha", "min_steps": 1, "eta": 2, "max_steps": 6},
        storage=f"sqlite:///{tmp_path / 'study.db'}",
    )
    stopped = [t for t in result.trials if t.status == "stopped"]
    assert stopped, "ASHA stopped no trial"
    assert all(t.metrics["training_iteration"] < 6 for t in stopped)
    folders = sorted((tmp_path / "study.artifacts").rglob("checkpoint.pkl"))
    assert len(folders) == len(result.trials)  # the trainable's folders reached the store
