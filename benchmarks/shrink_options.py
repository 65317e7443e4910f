"""Shrink's alternatives, measured: the progressive strategy against the sampler (TPE over the
shrink space), and distillation from the baseline on or off, all at the same budget.

Each variant is ``archtune.shrink`` of the reference CNN on ``mnist-sample`` as a user runs it
(``--budget 10`` baseline trainings of 10 epochs, 2 workers, max drop 0.5 point on
validation); the table gives, per variant, the chosen model's reduction and its change in test
accuracy against the baseline (means over seeds), and the largest reduction among the
fine-tuned candidates within 0.5 point of the baseline on test.

    python -m benchmarks.shrink_options [--seeds 2] [--variants progressive,sampler,distill]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._table import table_head

VARIANTS: dict[str, dict[str, Any]] = {
    "progressive": {"strategy": "progressive"},
    "sampler": {"strategy": "sampler", "n_trials": 32},
    "distill": {"strategy": "progressive", "distill": True},
}


def run(variant: str, seed: int, work: Path) -> dict[str, Any]:
    """One shrink of the reference CNN with ``variant``'s options."""
    import archtune

    started = time.perf_counter()
    result = archtune.shrink(
        "cnn-32-64-64",
        "mnist-sample",
        seed=seed,
        n_workers=2,
        output=work / "chosen.onnx",
        log=lambda line: print(f"  {variant} seed {seed}: {line}", file=sys.stderr),
        **VARIANTS[variant],
    )
    base = result.baseline
    within = [c for c in result.pareto if c.test_accuracy >= base.test_accuracy - 0.005]
    return {
        "variant": variant,
        "seed": seed,
        "reduction": base.params / result.chosen.params,
        "change": result.chosen.test_accuracy - base.test_accuracy,
        "best_within": max((base.params / c.params for c in within), default=1.0),
        "compute": result.epochs_spent / result.baseline_epochs,
        "wall_s": time.perf_counter() - started,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    rows = []
    for variant in args.variants.split(","):
        for seed in range(args.seeds):
            with tempfile.TemporaryDirectory() as tmp:
                rows.append(run(variant, seed, Path(tmp)))
    head = [
        "variant",
        "seeds",
        "chosen reduction",
        "change on test pt",
        "max reduction within 0.5 pt on test",
        "compute (baseline trainings)",
        "wall s",
    ]
    print("\n".join(table_head(head)))
    for variant in args.variants.split(","):
        mine = [r for r in rows if r["variant"] == variant]
        print(
            f"| {variant} | {len(mine)} | "
            f"{statistics.mean(r['reduction'] for r in mine):.1f}x | "
            f"{100 * statistics.mean(r['change'] for r in mine):+.2f} | "
            f"{statistics.mean(r['best_within'] for r in mine):.1f}x | "
            f"{statistics.mean(r['compute'] for r in mine):.1f} | "
            f"{statistics.mean(r['wall_s'] for r in mine):.0f} |"
        )


if __name__ == "__main__":
    main()
