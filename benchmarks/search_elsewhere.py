"""The single-objective mnist1d search on another built-in dataset and family: a check beyond it.

``benchmarks.run --suite mnist1d`` is where archtune's search of one objective (validation
accuracy) was measured. This runs the same search (archtune's defaults, the suites' budget
rule, 2 workers) on ``--dataset`` with ``--family``, with the family's default network queued
first or, with ``--no-start``, without it (``archtune-nostart``), and scores it as that suite
does: the trial with the best validation accuracy, and its test accuracy. Run it on two
checkouts to compare two versions of the search on data neither was designed on.

    python -m benchmarks.search_elsewhere [--dataset digits] [--family cnn2d] [--seeds 3]
        [--first-seed 0] [--epochs 300] [--max-epochs 10] [--no-start]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from benchmarks._mnist1d_archtune import run_archtune
from benchmarks._mnist1d_common import one_thread_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", help="a built-in dataset")
    parser.add_argument("--family", default="cnn2d", help="a built-in family")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=300, help="epochs per search")
    parser.add_argument("--max-epochs", type=int, default=10, help="epochs per trial")
    parser.add_argument("--no-start", action="store_true", help="no default network first")
    args = parser.parse_args()
    start = "without" if args.no_start else "with"
    print(
        f"{args.dataset}, {args.family}, val_accuracy max, {args.epochs} epochs per search, "
        f"trials of at most {args.max_epochs}, {start} the default network first"
    )
    print("| seed | best val | its test | its params | trials |")
    print("|---|---|---|---|---|")
    tests = []
    with tempfile.TemporaryDirectory() as tmp, one_thread_env():
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            records = run_archtune(
                seed,
                args.epochs,
                args.max_epochs,
                2,
                Path(tmp),
                objectives=None,
                start=not args.no_start,
                data={"dataset": args.dataset},
                model={"family": args.family},
            )
            trained = [r for r in records if r.val_accuracy is not None]
            best = max(trained, key=lambda r: r.val_accuracy or 0.0)
            assert best.test_accuracy is not None
            tests.append(best.test_accuracy)
            print(
                f"| {seed} | {best.val_accuracy:.4f} | {best.test_accuracy:.4f} | "
                f"{best.params:,} | {len(records)} |",
                flush=True,
            )
    print(f"mean test accuracy of the best trial: {statistics.mean(tests):.4f}")


if __name__ == "__main__":
    main()
