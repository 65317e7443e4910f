"""Search, then shrink: the mnist1d-mo search on part of its epochs, then its most accurate
network shrunk from its weights with the rest (``archtune.shrink_trial``).

The mnist1d-mo suite's search trains every network from scratch for at most 40 epochs; this
script gives the same search ``--search-epochs`` of the ``--epochs`` budget (default 800 of
1,200), then hands the study's most accurate trial to ``archtune.shrink_trial`` with what is
left (in trainings of 40 epochs; the shrink retrains its baseline, the trial, within it). The
front is then the search's trials and the shrink's fine-tuned candidates together, each judged
on validation and reported on test, and scored as ``benchmarks.run --suite mnist1d-mo`` scores
a search (its hypervolume and best test accuracy at most 10,000 and 3,000 parameters). The
search alone at the full budget is that suite's ``archtune`` row (docs/benchmarks.md).

    python -m benchmarks.search_then_shrink [--seeds 3] [--epochs 1200] [--search-epochs 800]
        [--max-drop 0.005]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks._mnist1d import OBJECTIVES, P_REF, hypervolume
from benchmarks._mnist1d_archtune import run_archtune
from benchmarks._mnist1d_common import MAX_EPOCHS, one_thread

#: (label, most parameters) of the sizes the issue's goals name.
SIZES = (("<=10k", 10_000), ("<=3k", 3_000))

Point = tuple[int, float, float]  # params, validation accuracy, test accuracy


def front(points: list[Point]) -> list[Point]:
    """The points no other beats on both validation accuracy and parameters, by size."""

    def dominates(a: Point, b: Point) -> bool:
        return a[1] >= b[1] and a[0] <= b[0] and (a[1] > b[1] or a[0] < b[0])

    members = {p for p in points if not any(dominates(o, p) for o in points)}
    return sorted(members)


def score(points: list[Point]) -> dict[str, str]:
    """Hypervolume (test accuracy, parameters) of the front, and its best member per size."""
    members = front(points)
    row = {"hv": f"{hypervolume([(t, p) for p, _, t in members], P_REF):.4f}"}
    for label, limit in SIZES:
        fits = [m for m in members if m[0] <= limit]
        best = max(fits, key=lambda m: m[2], default=None)
        row[label] = "-" if best is None else f"{best[2]:.3f} / {best[0]:,}"
    return row


def run_seed(
    seed: int, epochs: int, search_epochs: int, max_drop: float, work: Path, max_epochs: int
) -> dict[str, str]:
    """One seed: search, shrink its most accurate trial, score both fronts."""
    import archtune
    from archtune.search import load_result

    records = run_archtune(
        seed, search_epochs, max_epochs, 2, work, objectives=OBJECTIVES, start=True
    )
    searched: list[Point] = [
        (r.params, float(r.val_accuracy), float(r.test_accuracy or 0.0))
        for r in records
        if r.val_accuracy is not None
    ]
    used = sum(r.epochs for r in records)
    result = load_result(f"mnist1d-{seed}", f"sqlite:///{work / f'archtune-{seed}.db'}")
    shrunk = archtune.shrink_trial(
        result,
        budget=(epochs - used) / max_epochs,
        max_drop=max_drop,
        n_workers=2,
        output=work / f"shrunk-{seed}.onnx",
        log=lambda line: None,
    )
    candidates: list[Point] = [
        (c.params, c.val_accuracy, c.test_accuracy) for c in (shrunk.baseline, *shrunk.pareto)
    ]
    alone, both = score(searched), score(searched + candidates)
    return {
        "seed": str(seed),
        "epochs": f"{used} + {shrunk.epochs_spent:.0f}",
        "shrunk from": f"{shrunk.baseline.test_accuracy:.3f} / {shrunk.baseline.params:,}",
        "hv": f"{alone['hv']} -> {both['hv']}",
        **{label: f"{alone[label]} -> {both[label]}" for label, _ in SIZES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1200, help="search and shrink together")
    parser.add_argument("--search-epochs", type=int, default=800)
    parser.add_argument("--max-drop", type=float, default=0.005, help="the shrink's")
    parser.add_argument("--max-epochs", type=int, default=MAX_EPOCHS, help="a trial's epochs")
    parser.add_argument("--quick", action="store_true", help="1 seed, 3-epoch trials, 45 epochs")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.max_epochs, args.epochs, args.search_epochs = 1, 3, 45, 15
    one_thread()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            rows.append(
                run_seed(
                    seed,
                    args.epochs,
                    args.search_epochs,
                    args.max_drop,
                    Path(tmp),
                    args.max_epochs,
                )
            )
            print(f"seed {seed} done: {rows[-1]}", flush=True)
    print(
        f"mnist1d, cnn1d, (val_accuracy max, params min): search {args.search_epochs} epochs, "
        f"then shrink_trial of its most accurate trial (max_drop {args.max_drop}) with the rest "
        f"of {args.epochs}; trials of {args.max_epochs} epochs; test accuracy / params, search "
        "alone -> with the shrink"
    )
    header = list(rows[0])
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row[h] for h in header) + " |")


if __name__ == "__main__":
    main()
