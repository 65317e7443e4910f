"""The real-training suites of the benchmark harness, on a budget of a few epochs."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("keras_tuner", reason="the bench extra is not installed")
pytest.importorskip("mnist1d", reason="the data extra is not installed")

from benchmarks._mnist1d import (
    METHODS,
    OBJECTIVES,
    P_REF,
    TrialRecord,
    _front_columns,
    _setup,
    archtune_experiment,
    front,
    hypervolume,
    run_one,
    search,
)
from benchmarks.run import mnist1d_mo_table

from archtune.space import Choice, Float, Int


def _default_points(max_epochs: int) -> tuple[dict[str, Any], ...]:
    from archtune.training import setup_training

    setup = setup_training({"dataset": "mnist1d"}, {"family": "cnn1d"}, {"epochs": max_epochs})
    return setup.starting_points


def _record(val: float | None, params: int, test: float | None) -> TrialRecord:
    return TrialRecord({}, 0, 1, val, params, test)


@pytest.mark.integration
@pytest.mark.parametrize("method", ["archtune", "random", "kerastuner-bayes"])
def test_each_method_trains_within_the_same_budget_of_epochs(method: str, tmp_path: Path) -> None:
    row = run_one(method, 0, epochs_budget=6, workers=2, workdir=tmp_path, max_epochs=3)
    assert row["method"] == method
    assert 6 <= int(str(row["epochs_used"])) <= 6 + 3 - 1  # the last trial may overshoot
    assert int(str(row["trials"])) >= 2
    assert 0.1 < float(str(row["test_accuracy"])) <= 1.0
    assert int(str(row["params"])) > 0


def test_unknown_method_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match="known: archtune, archtune-nostart, archtune-data, optuna-tpe"
    ):
        run_one("smac", 0, epochs_budget=6, workdir=tmp_path)
    with pytest.raises(ValueError, match="unknown suite 'mnist1d-x'; known: mnist1d, mnist1d-mo"):
        run_one("archtune", 0, epochs_budget=6, workdir=tmp_path, suite="mnist1d-x")
    assert "raytune-asha-optuna" in METHODS


# -- scoring of mnist1d-mo ---------------------------------------------------------------------
def test_the_front_is_chosen_on_validation_and_scored_on_test() -> None:
    small = _record(0.95, 1_000, 0.90)
    large = _record(0.97, 10_000, 0.96)
    dominated = _record(0.96, 20_000, 0.99)  # best on test, but dominated on validation
    records = [large, dominated, _record(None, 0, None), small]
    assert front(records) == [small, large]  # smallest first; failed trials are left out
    # With P = 1e5: small at (0.10, 3/5), large at (0.04, 4/5), reference (1, 1):
    # (1 - 0.04) * (1 - 0.8) + (1 - 0.10) * (0.8 - 0.6) = 0.192 + 0.18
    assert hypervolume([(0.90, 1_000), (0.96, 10_000)], 1e5) == pytest.approx(0.372)
    # A test point dominated by another adds nothing; one larger than P adds nothing.
    points = [(0.90, 1_000), (0.96, 10_000), (0.89, 5_000), (0.999, 200_000)]
    assert hypervolume(points, 1e5) == pytest.approx(0.372)
    assert hypervolume([], 1e5) == 0.0


def test_the_front_columns_give_the_hypervolume_and_the_best_at_each_size() -> None:
    records = [
        _record(0.95, 1_000, 0.90),
        _record(0.93, 2_500, 0.91),  # dominated by the first on validation: not on the front
        _record(0.96, 2_900, 0.97),
        _record(0.97, 9_000, 0.96),
        _record(0.98, 40_000, 0.985),
    ]
    row = _front_columns(records, max_epochs=2)
    log_p = math.log10(P_REF)
    on_front = [(0.90, 1_000), (0.97, 2_900), (0.96, 9_000), (0.985, 40_000)]
    # By hand, sorted by test loss: each point adds its width times the height it newly covers.
    by_loss = sorted((1 - acc, math.log10(p) / log_p) for acc, p in on_front)
    expected, ceiling = 0.0, 1.0
    for x, y in by_loss:
        if y < ceiling:
            expected, ceiling = expected + (1 - x) * (ceiling - y), y
    assert float(str(row["hv"])) == pytest.approx(expected, abs=1e-6)
    assert row["front_size"] == 4
    assert str(row["front"]).split()[0] == "1000:0.9500:0.9000"
    assert (row["best_val_accuracy"], row["test_accuracy"], row["params"]) == (0.98, 0.985, 40_000)
    assert (row["best10k_test_accuracy"], row["best10k_params"]) == (0.97, 2_900)
    assert (row["best3k_test_accuracy"], row["best3k_params"]) == (0.97, 2_900)
    assert row["p_ref"] == P_REF


def test_only_the_front_is_retrained_for_its_test_accuracy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import benchmarks._mnist1d as mnist1d

    retrained: list[int] = []

    def train_for(config: Any, seed: int, epochs: int, max_epochs: int) -> TrialRecord:
        retrained.append(seed)
        return TrialRecord(dict(config), seed, epochs, 0.9, 1_000, 0.8)

    monkeypatch.setattr(mnist1d, "train_for", train_for)
    # Ray's records: no test accuracy kept.
    records = [
        TrialRecord({}, seed, 1, val, params)
        for seed, val, params in [(10, 0.9, 1_000), (11, 0.8, 2_000), (12, 0.95, 5_000)]
    ]
    row = _front_columns(records, max_epochs=2)
    assert sorted(retrained) == [10, 12]
    assert row["front"] == "1000:0.9000:0.8000 5000:0.9500:0.8000"


def test_p_ref_is_the_largest_network_of_the_space() -> None:
    objective, space = _setup(2)
    largest = {
        "model.depth": 4,
        "model.width": 128,
        "model.taper": 2.0,
        "model.kernel_size": 7,
        "model.pooling": "none",
        "model.connection": "residual",
        "model.norm": "batch",
        "model.readout": "flatten",
    }
    fixed = {"model.dropout": 0.0, "model.activation": "relu"}  # no weights
    assert objective.precheck({**largest, **fixed})["params"] == P_REF
    # Every choice, and both ends of each range (a network grows with depth, width and taper).
    values: list[Sequence[Any]] = []
    for name in largest:
        param = space[name]
        assert isinstance(param, Choice | Int | Float)
        values.append(param.options if isinstance(param, Choice) else (param.low, param.high))
    sizes = [
        objective.precheck({**fixed, **dict(zip(largest, combo, strict=True))})["params"]
        for combo in itertools.product(*values)
    ]
    assert max(sizes) == P_REF


def test_the_table_gives_archtunes_hypervolume_ratio_seed_by_seed() -> None:
    def row(method: str, seed: int, hv: float, acc10k: str) -> dict[str, str]:
        return {
            "suite": "mnist1d-mo",
            "method": method,
            "seed": str(seed),
            "epochs_budget": "60",
            "max_epochs": "10",
            "p_ref": str(P_REF),
            "hv": str(hv),
            "front_size": "3",
            "test_accuracy": "0.97",
            "params": "20000",
            "best10k_test_accuracy": acc10k,
            "best10k_params": "9000" if acc10k else "",
            "best3k_test_accuracy": "",
            "best3k_params": "",
            "epochs_used": "60",
            "trials": "9",
            "wall_s": "30",
        }

    rows = [
        row("archtune", 0, 0.4, "0.991"),
        row("archtune", 1, 0.6, "0.95"),
        row("random", 0, 0.2, ""),
        row("random", 1, 0.4, "0.96"),
    ]
    table = mnist1d_mo_table(rows)
    assert "60 epochs per search, at most 10 per trial" in table
    lines = {line.split(" | ")[0]: line for line in table.splitlines() if line.startswith("| ")}
    assert "| 1.75 (2.00, 1.50) |" in lines["| random"]  # 0.4 / 0.2, 0.6 / 0.4, their mean
    assert "| 0.9705 / 9,000, 1/2 |" in lines["| archtune"]  # seeds >= 99 % at <= 10k
    assert "| nan / nan, 0/2 |" in lines["| archtune"]  # no front member <= 3k


# -- archtune without its starting point ----------------------------------------------------------
@pytest.mark.parametrize("objectives", [None, OBJECTIVES])
def test_the_experiment_is_the_one_tune_builds(
    objectives: dict[str, str] | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archtune._api

    built: list[Any] = []

    class Capture:
        def __init__(self, experiment: Any, **_: Any) -> None:
            built.append(experiment)

        def run(self) -> None:
            return None

    monkeypatch.setattr(archtune._api, "Driver", Capture)
    archtune._api.tune(
        data={"dataset": "mnist1d"},
        model={"family": "cnn1d"},
        recipe={"epochs": 2},
        objectives=objectives,
        n_trials=6,
        max_total_steps=6,
        n_workers=2,
        seed=3,
        storage="sqlite:///unused.db",
        study_name="mnist1d-3",
    )
    ours = archtune_experiment(3, 6, 2, 2, "sqlite:///unused.db", objectives=objectives)
    # The precheck is a method of an equal objective, not of the same one.
    assert dataclasses.replace(ours, precheck=None) == dataclasses.replace(built[0], precheck=None)
    assert ours.starting_points[:2] == _default_points(2)
    # Accuracy against parameters also starts down the family's shrink ladder (two steps, and
    # the smaller one's twin without pooling).
    assert len(ours.starting_points) == (2 if objectives is None else 5)
    nostart = archtune_experiment(3, 6, 2, 2, None, objectives=objectives, start=False)
    assert nostart.starting_points == ()
    data = archtune_experiment(3, 6, 9, 2, None, objectives=objectives, fidelity="data")
    assert data.scheduler.fidelity == "data"
    assert data.objective.target.stages == ((1 / 9, 1), (1 / 3, 3), (1.0, 9))


def _study(path: Path, seed: int) -> Any:
    import optuna

    return optuna.load_study(study_name=f"mnist1d-{seed}", storage=f"sqlite:///{path}")


@pytest.mark.integration
def test_archtune_nostart_does_not_begin_with_the_default_network(tmp_path: Path) -> None:
    records = search(
        "archtune-nostart", 0, epochs_budget=4, workers=2, workdir=tmp_path, max_epochs=2
    )
    assert records
    first = records[0].config
    for default in _default_points(2):
        assert {name: first.get(name) for name in default} != default
    trials = _study(tmp_path / "archtune-nostart-0.db", 0).trials
    assert not any("archtune.start" in t.user_attrs for t in trials)


@pytest.mark.integration
def test_mnist1d_mo_runs_archtune_on_two_objectives_from_the_default_network(
    tmp_path: Path,
) -> None:
    row = run_one(
        "archtune",
        0,
        epochs_budget=6,
        workers=2,
        workdir=tmp_path,
        max_epochs=2,
        suite="mnist1d-mo",
    )
    study = _study(tmp_path / "archtune-0.db", 0)
    assert len(study.directions) == 2  # val_accuracy max, params min
    first = study.trials[0]
    assert first.user_attrs.get("archtune.start") == "defaults"
    assert row["suite"] == "mnist1d-mo"
    assert 6 <= int(str(row["epochs_used"])) <= 6 + 2 - 1
    assert int(str(row["trials"])) >= 3
    assert 0.0 < float(str(row["hv"])) < 1.0
    assert 1 <= int(str(row["front_size"])) <= int(str(row["trials"]))
    assert len(str(row["front"]).split()) == row["front_size"]


def test_search_then_shrink_scores_the_joint_front_on_validation() -> None:
    from benchmarks.search_then_shrink import front, score

    # (params, validation, test): the 5,000-parameter point is beaten on validation by the
    # 4,000 one, so it leaves the front even though its test accuracy is the higher
    points = [(1_000, 0.90, 0.89), (4_000, 0.97, 0.96), (5_000, 0.96, 0.99), (20_000, 0.99, 0.99)]
    assert front(points) == [(1_000, 0.90, 0.89), (4_000, 0.97, 0.96), (20_000, 0.99, 0.99)]
    row = score(points)
    assert row["<=10k"] == "0.960 / 4,000"
    assert row["<=3k"] == "0.890 / 1,000"
    assert 0 < float(row["hv"]) < 1


@pytest.mark.integration
def test_the_constrained_benchmark_runs_both_samplers_within_the_bound(tmp_path: Path) -> None:
    from benchmarks._mnist1d_archtune import run_archtune
    from benchmarks.constrained import METHODS, best

    for name, sampler, start in METHODS:
        records = run_archtune(
            0,
            8,
            2,
            2,
            tmp_path,
            objectives=None,
            start=start,
            constraints={"params": "<= 3000"},
            sampler=sampler,
            name=name,
        )
        trained = [r for r in records if r.val_accuracy is not None]
        assert trained
        assert all(r.params <= 3000 for r in trained)
        chosen = best(records, 3000)
        assert chosen is not None
        assert chosen.val_accuracy == max(r.val_accuracy or 0.0 for r in trained)
        study = _study(tmp_path / f"{name}-0.db", 0)
        assert bool(study.trials[0].user_attrs.get("archtune.start")) is start
        recorded = study.user_attrs["archtune.config"]["sampler"]
        assert recorded.startswith("auto: light-gp") if sampler == "auto" else recorded == "tpe"
    assert best(records, 100) is None


@pytest.mark.integration
def test_the_constrained_benchmark_can_run_archtune_s_arm_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import constrained

    argv = ["constrained", "--dataset", "digits", "--family", "mlp", "--seeds", "1"]
    argv += ["--max-params", "3000", "--epochs", "4", "--max-epochs", "1", "--archtune-only"]
    monkeypatch.setattr("sys.argv", argv)
    constrained.main()
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "| seed | archtune test / params |"
    rows = [line.split("|")[1:-1] for line in lines if line.startswith("| 0 |")]
    assert len(rows) == 1
    assert len(rows[0]) == 2
    accuracy, params = rows[0][1].split("/")
    assert 0 < float(accuracy) <= 1
    assert int(params.replace(",", "")) <= 3000
    assert lines[-1].startswith("archtune's mean: ")
    mean = float(lines[-1].removeprefix("archtune's mean: ").removesuffix(" %"))
    assert mean == pytest.approx(100 * float(accuracy), abs=0.05)  # the cell has 3 decimals
    assert not any(line.startswith("mean difference") for line in lines)


@pytest.mark.integration
def test_the_front_elsewhere_prints_one_scored_row_per_seed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import front_elsewhere

    argv = ["front_elsewhere", "--family", "mlp", "--seeds", "1", "--epochs", "6"]
    monkeypatch.setattr("sys.argv", [*argv, "--max-epochs", "1", "--sizes", "100000,10"])
    front_elsewhere.main()
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| 0 |")]
    assert len(rows) == 1
    _, _, hv, trials, largest, tiny, _ = rows[0].split("|")
    assert 0 < float(hv) < 1
    assert int(trials) >= 4  # the starts: the default network, one-cycle, the ladder
    assert largest.strip() != "-"  # the front has a member of at most 100,000 parameters
    assert tiny.strip() == "-"  # and none of at most 10
    assert lines[-1] == f"mean hv: {float(hv):.4f}"


@pytest.mark.integration
def test_search_elsewhere_prints_the_best_trial_of_each_seed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import search_elsewhere

    argv = ["search_elsewhere", "--family", "mlp", "--seeds", "2", "--first-seed", "3"]
    monkeypatch.setattr("sys.argv", [*argv, "--epochs", "4", "--max-epochs", "1", "--no-start"])
    search_elsewhere.main()
    lines = capsys.readouterr().out.splitlines()
    assert "without the default network first" in lines[0]
    rows = [
        line.split("|")[1:-1]
        for line in lines
        if line.startswith("| 3 |") or line.startswith("| 4 |")
    ]
    assert [r[0].strip() for r in rows] == ["3", "4"]
    tests = [float(r[2]) for r in rows]
    assert all(0.0 < t <= 1.0 for t in tests)
    assert all(int(r[4]) >= 4 for r in rows)  # 4 epochs of 1-epoch trials
    assert lines[-1] == f"mean test accuracy of the best trial: {sum(tests) / 2:.4f}"


@pytest.mark.integration
def test_the_small_start_pair_trains_each_pooling_and_dropout(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import small_start_pair

    monkeypatch.setattr("sys.argv", ["small_start_pair", "--epochs", "1", "--seeds", "1"])
    small_start_pair.main()
    rows = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines()[3:]]
    # The ladder's smallest cnn2d start on digits (dropout 0 at its size) and the default's 0.1.
    assert [(r[0].strip(), r[1].strip()) for r in rows] == [
        ("none", "0"),
        ("none", "0.1"),
        ("max", "0"),
        ("max", "0.1"),
    ]
    assert len({r[2] for r in rows}) == 1  # pooling and dropout cost no parameter
    assert all(0 < float(r[5]) <= 1 for r in rows)
