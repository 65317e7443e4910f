"""The mnist1d-mo search on another built-in dataset and family: a check beyond the suite.

``benchmarks.run --suite mnist1d-mo`` is where archtune's search of accuracy against parameters
was designed. This runs the same search (``objectives: {val_accuracy: max, params: min}``,
archtune's defaults, the suites' budget rule, 2 workers) on ``--dataset`` with ``--family``
and scores it as that suite does: the front is the trained trials that no other beats on both
validation accuracy and parameters, ``hv`` the hypervolume of their (test accuracy,
parameters) points, and each ``--sizes`` column the front's best test accuracy at most that
size. Run it on two checkouts to compare two versions of the search on data neither was
designed on.

    python -m benchmarks.front_elsewhere [--dataset digits] [--family cnn2d] [--seeds 3]
        [--epochs 300] [--max-epochs 10] [--sizes 10000,3000,1000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from benchmarks._mnist1d import hypervolume
from benchmarks._mnist1d_archtune import run_archtune
from benchmarks._mnist1d_common import P_REF, one_thread_env
from benchmarks.search_then_shrink import front


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits", help="a built-in dataset")
    parser.add_argument("--family", default="cnn2d", help="a built-in family")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=300, help="epochs per search")
    parser.add_argument("--max-epochs", type=int, default=10, help="epochs per trial")
    parser.add_argument("--sizes", default="10000,3000,1000", help="most parameters, by size")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(
        f"{args.dataset}, {args.family}, (val_accuracy max, params min), {args.epochs} epochs "
        f"per search, trials of at most {args.max_epochs}; hv with P = {P_REF:,}"
    )
    print("| seed | hv | trials | " + " | ".join(f"<= {s:,}: test / params" for s in sizes) + " |")
    print("|---|---|---|" + "---|" * len(sizes))
    volumes = []
    with tempfile.TemporaryDirectory() as tmp, one_thread_env():
        for seed in range(args.seeds):
            records = run_archtune(
                seed,
                args.epochs,
                args.max_epochs,
                2,
                Path(tmp),
                objectives={"val_accuracy": "max", "params": "min"},
                start=True,
                data={"dataset": args.dataset},
                model={"family": args.family},
            )
            points = [
                (r.params, r.val_accuracy, r.test_accuracy)
                for r in records
                if r.val_accuracy is not None and r.test_accuracy is not None
            ]
            members = front(points)
            volumes.append(hypervolume([(test, params) for params, _, test in members], P_REF))
            cells = []
            for size in sizes:
                fits = [m for m in members if m[0] <= size]
                chosen = max(fits, key=lambda m: m[2], default=None)
                cells.append("-" if chosen is None else f"{chosen[2]:.3f} / {chosen[0]:,}")
            row = " | ".join(cells)
            print(f"| {seed} | {volumes[-1]:.4f} | {len(records)} | {row} |", flush=True)
    print(f"mean hv: {statistics.mean(volumes):.4f}")


if __name__ == "__main__":
    main()
