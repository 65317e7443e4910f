"""Built-in training: configs with ``data:``/``model:``/``recipe:`` blocks and no Python."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from archtune import ConfigError
from archtune.config import load_config
from archtune.search import MAX_INFEASIBLE_IN_ROW, Driver, TooManyFailuresError

pytestmark = pytest.mark.integration


def write(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_a_yaml_with_model_data_recipe_blocks_runs_with_no_python(tmp_path: Path) -> None:
    config = write(
        tmp_path / "cnn.yaml",
        {
            "name": "cnn-recipe",
            "data": {"dataset": "mnist-sample", "max_samples": 600},
            "model": "cnn-16-32-32",
            "recipe": {
                "space": "none",
                "epochs": 2,
                "optimizer": ["adam", "sgd"],
                "lr": 0.003,
                "batch_size": 64,
            },
            "objectives": {"val_accuracy": "max", "params": "min"},
            "budget": {"trials": 2},
            "workers": 2,
            "seed": 0,
        },
    )
    done = subprocess.run(
        [sys.executable, "-m", "archtune", "run", str(config), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="cnn-recipe", storage="sqlite:///archtune.db")
    assert len(study.trials) == 2
    for trial in study.trials:
        assert trial.state == optuna.trial.TrialState.COMPLETE
        metrics = trial.user_attrs["archtune.metrics"]
        assert metrics["params"] == 23_626  # the halved reference CNN
        assert metrics["flops"] > 0
        assert metrics["latency_ms"] > 0
        assert 0.0 <= metrics["test_accuracy"] <= 1.0
        assert metrics["val_accuracy"] == trial.values[0]
        assert metrics["epochs"] == 2.0
        assert [row["step"] for row in trial.user_attrs["archtune.curve"]] == [1, 2]
        assert trial.user_attrs["archtune.cost"]["params"] == 23_626  # known before training
        assert set(trial.params) == {"optimizer"}  # fixed values are not searched
    shown = subprocess.run(
        [sys.executable, "-m", "archtune", "show", "cnn-recipe"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "data: mnist-sample (inputs standardized)" in shown.stdout  # what accuracies mean


def _family_config(tmp_path: Path, **model: Any) -> Path:
    return write(
        tmp_path / "fam.yaml",
        {
            "name": "digits-cnn",
            "data": "digits",
            "model": {"family": "cnn2d", "pooling": "max", "kernel_size": 3, **model},
            "recipe": {"space": "none", "epochs": 1, "batch_size": 128},
            "budget": {"trials": 3},
            "sampler": "random",
            "seed": 0,
        },
    )


def test_infeasible_configurations_are_recorded_and_never_trained(tmp_path: Path) -> None:
    # 8x8 digits: three max-pools reach 1x1, a fourth would pool below 1.
    experiment = load_config(_family_config(tmp_path, depth={"type": "int", "low": 3, "high": 4}))
    result = Driver(experiment).run()
    counts = result.counts
    assert counts["complete"] == 3  # infeasible trials do not use the budget
    assert counts.get("infeasible", 0) >= 1
    for trial in result.trials:
        if trial.status == "infeasible":
            assert trial.config["model.depth"] == 4
            assert trial.error is not None
            assert trial.error.startswith("infeasible: ")
            assert "pool" in trial.error
            assert trial.metrics == {}  # never trained
        else:
            assert trial.config["model.depth"] == 3


def test_a_space_with_nothing_feasible_stops_with_a_clear_error(tmp_path: Path) -> None:
    experiment = load_config(_family_config(tmp_path, depth=5))
    with pytest.raises(TooManyFailuresError, match="configurations in a row were infeasible"):
        Driver(experiment).run()
    study = optuna.load_study(study_name="digits-cnn", storage="sqlite:///archtune.db")
    assert len(study.trials) == MAX_INFEASIBLE_IN_ROW
    assert all(t.user_attrs["archtune.failure"] == "infeasible" for t in study.trials)


def test_lr_auto_centres_the_learning_rate_range_on_the_range_test(tmp_path: Path) -> None:
    experiment = load_config(
        write(
            tmp_path / "auto.yaml",
            {
                "name": "auto-lr",
                "data": {"dataset": "digits"},
                "model": {"family": "mlp", "space": "none"},
                "recipe": {"space": "none", "lr": "auto", "epochs": 1},
                "budget": {"trials": 1},
            },
        )
    )
    lr = experiment.space["lr"]
    record = experiment.study_attrs["archtune.lr_find"]
    assert lr.low == pytest.approx(record["suggestion"] / 10)  # type: ignore[union-attr]
    assert lr.high == pytest.approx(min(1.0, record["suggestion"] * 10))  # type: ignore[union-attr]
    assert lr.log  # type: ignore[union-attr]
    assert 1e-6 < record["suggestion"] < 1.0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"model": {"family": "mlp", "dept": 2}},
            "model.dept is not a parameter of family mlp (did you mean 'depth'?); allowed: depth",
        ),
        ({"model": {"family": "mlpp"}}, "model.family must be auto or one of mlp, cnn2d"),
        ({"recipe": {"learning_rate": 0.1}}, "recipe.learning_rate is not a recipe field"),
        (
            {"recipe": {"lr": {"type": "float", "low": 1.0, "high": 0.1}}},
            "recipe.lr.low must be <= high, got low=1, high=0.1",
        ),
        (
            {"model": "cnn-32-64-64"},
            "model.network 'cnn-32-64-64' takes inputs of shape (28, 28, 1), but the data's are "
            "(8, 8, 1)",
        ),
        ({"model": "resnet-9000"}, "model.network: builtin_network: name must be one of"),
        (
            {"objectives": {"val_mse": "min"}},
            "objectives.val_mse is not a metric of built-in classification training; allowed: "
            "train_loss, val_loss, val_accuracy",
        ),
        (
            {"objective": "objectives:quadratic"},
            "give either `objective` (your function) or `data` and `model`",
        ),
        ({"data": {"dataset": "no-such-data"}}, "data: "),
        (
            {"data": {"dataset": "digits", "val_fraction": 1.5}},
            "data.val_fraction must be a number in (0, 1), got 1.5",
        ),
    ],
)
def test_bad_blocks_name_the_field(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    config = {
        "name": "bad",
        "data": "digits",
        "model": {"family": "mlp"},
        "budget": {"trials": 1},
    } | changes
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path / "bad.yaml", config))
    assert str(info.value).startswith(f"{tmp_path / 'bad.yaml'}: ")
    assert message in str(info.value)


def test_model_command_prints_reference_counts_analytic_and_torch() -> None:
    expected = {
        "cnn-32-64-64": "93,322",
        "cnn-16-32-32": "23,626",
        "mlp-64-64": "5,514",
        "mlp-32-32": "1,738",
    }
    for name, count in expected.items():
        done = subprocess.run(
            [sys.executable, "-m", "archtune", "model", name],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert f"parameters: analytic {count}, PyTorch {count}: they agree" in done.stdout
        assert "output shape" in done.stdout


def test_lr_find_prints_a_finite_suggestion(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "archtune",
            "lr-find",
            "--data",
            "mnist-sample",
            "--model",
            "cnn-16-32-32",
            "--steps",
            "60",
            "--max-samples",
            "600",
            "-o",
            "curve.json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("suggested learning rate"))
    suggestion = float(line.split(":")[1].split()[0])
    assert 1e-7 <= suggestion <= 10
    curve = yaml.safe_load((tmp_path / "curve.json").read_text())
    assert len(curve["lr"]) == len(curve["smoothed_loss"]) > 10

    from archtune.cli._model_cmds import write_curve

    class Result:  # the fields write_curve reads, from the JSON just written
        lrs, losses, smoothed_losses = curve["lr"], curve["loss"], curve["smoothed_loss"]
        suggested_lr, rule = curve["suggested_lr"], curve["rule"]

    write_curve(Result(), tmp_path / "curve.html")
    html = (tmp_path / "curve.html").read_text()
    assert "LR range test" in html
    assert "<script src=" not in html  # self-contained: opens with no network


@pytest.mark.parametrize("backend", ["torch", "keras"])
def test_the_python_api_trains_with_either_backend(backend: str) -> None:
    import archtune

    result = archtune.tune(
        data={"dataset": "digits"},
        model={"family": "mlp", "space": "none", "depth": [1, 2]},
        recipe={"space": "none", "epochs": 2, "lr": 0.003},
        backend=backend,
        n_trials=2,
        sampler="grid",
        scheduler="none",
        seed=0,
    )
    assert result.counts == {"complete": 2}
    by_depth = {t.config["model.depth"]: t for t in result.trials}
    assert by_depth[1].metrics["params"] == 64 * 128 + 128 + 128 * 10 + 10  # depth 1, width 128
    for trial in result.trials:
        assert trial.metrics["val_accuracy"] > 0.5
        frozen = result.study.trials[trial.number]
        assert [row["step"] for row in frozen.user_attrs["archtune.curve"]] == [1, 2]


def test_the_study_keeps_what_rebuilds_its_trials(tmp_path: Path) -> None:
    from archtune.training import TrainObjective

    experiment = load_config(_family_config(tmp_path, depth=2))
    record = experiment.study_attrs["archtune.builtin"]
    rebuilt = TrainObjective.from_record(yaml.safe_load(yaml.safe_dump(record)))
    assert rebuilt == experiment.objective.target


def test_a_new_study_starts_from_the_family_default_and_the_default_recipe() -> None:
    import archtune
    from archtune.arch.families import get_family
    from archtune.training import setup_training

    setup = setup_training({"dataset": "digits"}, {"family": "mlp"}, {"epochs": 2})
    start, one_cycle = setup.starting_points
    # The second start is the same network with the one-cycle recipe at 10x the rate.
    assert {k: v for k, v in one_cycle.items() if k not in ("schedule", "lr", "pct_start")} == {
        k: v for k, v in start.items() if k not in ("schedule", "lr")
    }
    assert (one_cycle["schedule"], one_cycle["lr"]) == ("one_cycle", pytest.approx(1e-2))
    assert one_cycle["pct_start"] == pytest.approx(0.3)
    defaults = get_family("mlp").default_config()
    assert {k: v for k, v in start.items() if k.startswith("model.")} == {
        k: v for k, v in defaults.items() if setup.space[k].contains(v)
    }
    assert start["optimizer"] == "adam"
    assert start["lr"] == pytest.approx(1e-3)
    assert "momentum" not in start  # only for SGD: inactive with Adam
    result = archtune.tune(
        data={"dataset": "digits"},
        model={"family": "mlp"},
        recipe={"epochs": 2},
        n_trials=3,
        scheduler="none",
        seed=0,
    )
    assert "archtune.start" not in result.study.trials[2].user_attrs
    first, second = result.study.trials[:2]
    assert first.user_attrs["archtune.start"] == "defaults"
    assert {k: first.params[k] for k in start} == start
    assert {k: second.params[k] for k in one_cycle} == one_cycle


def test_a_default_outside_the_space_is_left_to_the_sampler() -> None:
    from archtune.training import setup_training

    setup = setup_training(
        {"dataset": "digits"},
        {"family": "mlp"},
        {"epochs": 2, "lr": {"type": "float", "low": 0.01, "high": 0.1}},
    )
    start = setup.starting_points[0]
    assert "lr" not in start
    assert start["optimizer"] == "adam"
