"""Curves of the tabular suites from the CSV files of ``benchmarks.run``, as PNG files.

For each tabular suite: the mean rank of each method against the number of trials (over every
problem and seed), and one panel per problem with the mean regret (or hypervolume ratio) per
trial. For ``mnist1d``: each method's best model, test accuracy against parameters.

    python -m benchmarks.plot [--results benchmarks/results] [--out docs] [--trials 100]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from benchmarks._scoring import mean_ranks
from benchmarks.run import RESULTS, _read, cells_at, runs_of_budget

STYLE = {"archtune": {"color": "black", "linewidth": 2.4, "zorder": 10}}


def plot_suite(suite: str, results: Path, out: Path, budget: int) -> Path | None:
    """Draw ``suite``'s curves; return the PNG's path (``None`` without runs)."""
    rows = runs_of_budget(_read(results / f"{suite}.csv"), budget)
    if not rows:
        return None
    lower = suite != "tabular-mo"
    marks = sorted({int(r["trials"]) for r in rows})
    problems = sorted({r["problem"] for r in rows})
    methods = sorted({r["method"] for r in rows})
    ranks = {t: mean_ranks(cells_at(rows, t), lower_is_better=lower) for t in marks}
    scores: dict[str, dict[str, dict[int, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for r in rows:
        scores[r["problem"]][r["method"]][int(r["trials"])].append(float(r["score"]))

    n_panels = len(problems) + 1
    cols = 4
    n_rows = -(-n_panels // cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(4.2 * cols, 3.2 * n_rows), squeeze=False)
    ax = axes[0][0]
    for m in methods:
        ax.plot(marks, [ranks[t].get(m, np.nan) for t in marks], label=m, **STYLE.get(m, {}))
    ax.set_title("mean rank (lower is better)")
    ax.set_xlabel("trials")
    ax.legend(fontsize=7)
    for i, problem in enumerate(problems, 1):
        ax = axes[i // cols][i % cols]
        for m in methods:
            curve = scores[problem][m]
            ax.plot(marks, [np.mean(curve[t]) for t in marks], label=m, **STYLE.get(m, {}))
        ax.set_title(problem, fontsize=8)
        ax.set_xlabel("trials")
        ax.set_ylabel("regret (mean over seeds)" if lower else "hypervolume ratio")
        if lower:
            ax.set_yscale("log")
    for j in range(n_panels, n_rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.suptitle(f"{suite}: {len(problems)} problems, {budget} trials")
    fig.tight_layout()
    path = out / f"benchmarks-{suite}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_mnist1d(results: Path, out: Path) -> Path | None:
    """Each method's best model per seed: test accuracy against parameters (log scale)."""
    rows = _read(results / "mnist1d.csv")
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for method in sorted({r["method"] for r in rows}):
        mine = [r for r in rows if r["method"] == method and r["test_accuracy"]]
        ax.scatter(
            [float(r["params"]) for r in mine],
            [float(r["test_accuracy"]) for r in mine],
            label=method,
            s=60 if method == "archtune" else 30,
            marker="*" if method == "archtune" else "o",
            color="black" if method == "archtune" else None,
            zorder=10 if method == "archtune" else 1,
        )
    ax.set_xscale("log")
    ax.set_xlabel("parameters of the best model")
    ax.set_ylabel("test accuracy")
    budget = rows[0]["epochs_budget"]
    ax.set_title(f"mnist1d: cnn1d and recipe, {budget} epochs per search, one point per seed")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / "benchmarks-mnist1d.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--trials", type=int, default=100)
    args = parser.parse_args()
    for suite in ("tabular", "tabular-mo"):
        path = plot_suite(suite, args.results, args.out, args.trials)
        print(path or f"{suite}: no runs of {args.trials} trials in {args.results}")
    print(plot_mnist1d(args.results, args.out) or f"mnist1d: no runs in {args.results}")


if __name__ == "__main__":
    main()
