"""A size bound stated as a constraint: the best model of at most N parameters (mnist1d).

A user who needs a network of at most 10,000 parameters says so:
``tune(..., constraints={"params": "<= 10000"})``. This runs that search on mnist1d (the
``cnn1d`` family and recipe space, one objective, validation accuracy) with the suites' budget
rule (``--epochs`` epochs per search, trials of at most ``--max-epochs``, 2 workers) for:

- ``archtune``: ``sampler: auto`` as it is (``light-gp``, which never proposes a network that
  breaks the bound, and starts from the family's default network scaled to fit it);
- ``archtune-tpe-nostart``: what ``auto`` did before: Optuna's TPE, which learns the bound from
  the configurations that break it (they cost no training), and no start (the default network
  breaks the bound, so its start was never trained).

The table gives, per seed, the test accuracy of each method's best model by validation (within
the bound by construction) and its size, archtune's accuracy minus the other's, and archtune's
mean (`--archtune-only` runs its arm alone: the other does not change with archtune's search).

    python -m benchmarks.constrained [--max-params 10000] [--seeds 3] [--epochs 1200]
        [--archtune-only]

``--dataset`` and ``--family`` run the same comparison on another built-in dataset and family
(e.g. ``--dataset digits --family mlp``), a check beyond the data the change was designed on.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from benchmarks._mnist1d_archtune import run_archtune
from benchmarks._mnist1d_common import DATA, MAX_EPOCHS, MODEL, TrialRecord, one_thread_env

#: Each method: its name, ``sampler``, and whether the study starts from the default network.
METHODS = (("archtune", "auto", True), ("archtune-tpe-nostart", "tpe", False))


def best(records: list[TrialRecord], max_params: int) -> TrialRecord | None:
    """The trained record with the best validation accuracy within the bound."""
    fits = [r for r in records if r.val_accuracy is not None and r.params <= max_params]
    return max(fits, key=lambda r: r.val_accuracy or 0.0, default=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-params", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1200, help="epochs per search")
    parser.add_argument("--max-epochs", type=int, default=MAX_EPOCHS, help="epochs per trial")
    parser.add_argument("--dataset", default=DATA["dataset"], help="a built-in dataset")
    parser.add_argument("--family", default=MODEL["family"], help="a built-in family")
    parser.add_argument(
        "--archtune-only",
        action="store_true",
        help="run archtune's arm only (the other does not change with archtune's search)",
    )
    args = parser.parse_args()
    methods = METHODS[:1] if args.archtune_only else METHODS
    paired = len(methods) > 1  # a column of archtune's accuracy minus the other's
    bound = {"params": f"<= {args.max_params}"}
    print(
        f"{args.dataset}, {args.family}, params <= {args.max_params:,}, {args.epochs} epochs "
        f"per search, trials of at most {args.max_epochs}"
    )
    print(
        "| seed | "
        + " | ".join(f"{m} test / params" for m, _, _ in methods)
        + (" | difference |" if paired else " |")
    )
    print("|---|" + "---|" * (len(methods) + paired))
    differences: list[float] = []
    means: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, one_thread_env():
        for seed in range(args.seeds):
            cells, accuracies = [], []
            for name, sampler, start in methods:
                records = run_archtune(
                    seed,
                    args.epochs,
                    args.max_epochs,
                    2,
                    Path(tmp),
                    objectives=None,
                    start=start,
                    constraints=bound,
                    sampler=sampler,
                    name=name,
                    data={"dataset": args.dataset},
                    model={"family": args.family},
                )
                chosen = best(records, args.max_params)
                accuracy = float(chosen.test_accuracy or 0.0) if chosen else 0.0
                accuracies.append(accuracy)
                cells.append(f"{accuracy:.3f} / {chosen.params:,}" if chosen else "none")
            means.append(accuracies[0])
            row = " | ".join(cells)
            if not paired:
                print(f"| {seed} | {row} |", flush=True)
                continue
            differences.append(accuracies[0] - accuracies[1])
            print(f"| {seed} | {row} | {100 * differences[-1]:+.1f} pt |", flush=True)
    if differences:
        print(f"mean difference: {100 * statistics.mean(differences):+.2f} pt")
    print(f"archtune's mean: {100 * statistics.mean(means):.2f} %")


if __name__ == "__main__":
    main()
