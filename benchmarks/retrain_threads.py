"""An export trains its trial again: the same model as the study's, or another one?

``archtune export`` rebuilds a trial's network and trains it again with the trial's recipe
and seed. On a CPU the torch thread count changes the rounding of every product, and over
tens of epochs that becomes another model (docs/report.md, "The retrained model is the
trial's model"). This runs a study (``--dataset`` with ``--family``, ``--epochs`` per trial,
two workers of one thread each, its first ``--trials`` trials: the family's starting
networks), then trains each trial again three ways and prints validation and test accuracy:
as ``export_trial`` does now (on the thread count the study recorded for the trial), and on
one and on ``--threads`` threads of this process (an export before it followed the count).

    python -m benchmarks.retrain_threads [--dataset mnist1d] [--family cnn1d] [--epochs 40]
        [--trials 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main() -> None:
    import torch

    import archtune
    from archtune.backends._threads import torch_threads
    from archtune.report._export import (
        _retrain,
        builtin_objective,
        export_trial,
        trial_seed,
    )

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist1d", help="a built-in dataset")
    parser.add_argument("--family", default="cnn1d", help="a built-in family")
    parser.add_argument("--epochs", type=int, default=40, help="epochs per trial")
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="the other thread count")
    args = parser.parse_args()
    result = archtune.tune(
        data={"dataset": args.dataset},
        model={"family": args.family},
        recipe={"epochs": args.epochs},
        n_trials=args.trials,
        n_workers=2,
        seed=0,
    )
    objective = builtin_objective(result, "retrain_threads")
    print(
        f"{args.dataset}, {args.family}, {args.epochs} epochs, seed 0; this process has "
        f"{torch.get_num_threads()} torch threads; validation / test accuracy"
    )
    print(
        "| trial | study's worker | export (its recorded threads) | 1 thread | "
        f"{args.threads} threads |"
    )
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for trial in (t for t in result.trials if t.status == "complete"):
            done = export_trial(
                result, Path(folder) / f"t{trial.number}.pt", format="torchscript",
                trial=trial.number,
            )  # fmt: skip
            cells = [_cell(trial.metrics), f"{_cell(done.metrics)} ({done.threads})"]
            for threads in (1, args.threads):
                with torch_threads(threads):
                    seed = trial_seed(result, trial)
                    _, _, metrics, _ = _retrain(objective, trial.config, seed)
                cells.append(_cell(metrics))
            print(f"| {trial.number} | " + " | ".join(cells) + " |")


def _cell(metrics: dict[str, float]) -> str:
    return f"{100 * metrics['val_accuracy']:.3f} / {100 * metrics['test_accuracy']:.1f} %"


if __name__ == "__main__":
    main()
