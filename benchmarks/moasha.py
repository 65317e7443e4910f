"""MO-ASHA against the same multi-objective search without early stopping, same epochs.

Both runs search the ``cnn1d`` family and the default recipe on ``mnist1d`` (9 epochs per full
trial, 2 workers) for (val_accuracy max, params min) with the same sampler (``--sampler``:
archtune's default ``auto``, which is ``light-gp`` here; ``tpe`` gives the runs before
2026-12-05). The early-stopping run (``scheduler: moasha``, with its guard) gets
``--trials``; the run without early stopping (``scheduler: none``) then gets as many full trials
as the epochs the first one spent (rounded up), so both spend the same training budget in
epochs. The score is the hypervolume of the completed trials in (1 - val_accuracy,
log10(params) / log10(P)) with the reference point (1, 1), P being 1.5 times the largest model
either run trained: larger is better. ``HV starts`` is that of the starting points alone (the
family's default network and its cost ladder, which both runs train first and to the end): the
part of each run's hypervolume that no scheduler changes. ``MO-ASHA / starts`` is then the
ratio the early-stopping run would show against a run that found nothing beyond its starts.
``HV bound`` is that of one network of 100 % accuracy at the smallest size either run trained:
no run of this space reaches more on this scale. ``bound / none`` is then the largest ratio
any run could show against the run without early stopping.

``--fidelity data`` runs the early-stopping search with rungs that are complete trainings on a
fraction of the data (``scheduler: {fidelity: data}``; epochs count passes over the whole split).

    python -m benchmarks.moasha [--trials 30] [--seeds 3] [--sampler auto] [--fidelity epochs]
        [--quick]
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from optuna._hypervolume import compute_hypervolume

import archtune
from archtune.search import TuneResult
from archtune.search import _attrs as attrs

EPOCHS = 9


def run(
    scheduler: str, n_trials: int, seed: int, storage: str, sampler: str, fidelity: str = "epochs"
) -> TuneResult:
    return archtune.tune(
        data={"dataset": "mnist1d"},
        model={"family": "cnn1d"},
        recipe={"epochs": EPOCHS},
        objectives={"val_accuracy": "max", "params": "min"},
        n_trials=n_trials,
        n_workers=2,
        sampler=sampler,
        scheduler={"name": scheduler, "max_steps": EPOCHS}
        | ({"fidelity": fidelity} if scheduler == "moasha" else {}),
        seed=seed,
        storage=storage,
        study_name=f"{scheduler}-{seed}",
    )


def epochs_spent(result: TuneResult) -> int:
    return sum(len(t.user_attrs.get("archtune.curve") or []) for t in result.study.trials)


def points(result: TuneResult, *, starts_only: bool = False) -> list[tuple[float, float]]:
    starts = {t.number for t in result.study.trials if attrs.TRIAL_START in t.user_attrs}
    return [
        (float(t.metrics["val_accuracy"]), float(t.metrics["params"]))
        for t in result.trials
        if t.status == "complete" and (t.number in starts or not starts_only)
    ]


def hypervolume(pts: list[tuple[float, float]], p_ref: float) -> float:
    if not pts:
        return 0.0
    losses = np.array([(1 - acc, math.log10(params) / math.log10(p_ref)) for acc, params in pts])
    return float(compute_hypervolume(losses, np.array([1.0, 1.0])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sampler", default="auto", help="the same for both runs")
    parser.add_argument("--fidelity", default="epochs", choices=("epochs", "data"))
    parser.add_argument("--quick", action="store_true", help="8 trials, 1 seed")
    args = parser.parse_args()
    n_trials, seeds = (8, 1) if args.quick else (args.trials, args.seeds)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(seeds):
            storage = f"sqlite:///{Path(tmp) / 'moasha.db'}"
            early = run("moasha", n_trials, seed, storage, args.sampler, args.fidelity)
            budget = epochs_spent(early)
            full = run("none", math.ceil(budget / EPOCHS), seed, storage, args.sampler)
            early_points, full_points = points(early), points(full)
            p_ref = 1.5 * max(p for _, p in early_points + full_points)
            rows.append(
                {
                    "seed": seed,
                    "epochs": (budget, epochs_spent(full)),
                    "trials": (len(early.trials), len(full.trials)),
                    "stopped": early.counts.get("stopped", 0),
                    "hv": (hypervolume(early_points, p_ref), hypervolume(full_points, p_ref)),
                    "hv_starts": hypervolume(points(early, starts_only=True), p_ref),
                    "hv_bound": hypervolume(
                        [(1.0, min(p for _, p in early_points + full_points))], p_ref
                    ),
                    "best": (max(a for a, _ in early_points), max(a for a, _ in full_points)),
                }
            )
    print(
        f"cnn1d + default recipe on mnist1d, (val_accuracy max, params min), {EPOCHS} epochs "
        f"per full trial, 2 workers, sampler {args.sampler}, MO-ASHA fidelity {args.fidelity}; "
        "hypervolume: larger is better"
    )
    print(
        f"{'seed':>4}{'epochs':>14}{'trials':>10}{'stopped':>9}{'HV moasha':>11}"
        f"{'HV none':>9}{'ratio':>7}{'best acc':>16}{'HV starts':>11}{'MO-ASHA / starts':>18}"
        f"{'HV bound':>10}{'bound / none':>14}"
    )
    for row in rows:
        ratio = _ratio(*row["hv"])
        print(
            f"{row['seed']:>4}{row['epochs'][0]:>7}/{row['epochs'][1]:<6}"
            f"{row['trials'][0]:>5}/{row['trials'][1]:<4}{row['stopped']:>9}"
            f"{row['hv'][0]:>11.4f}{row['hv'][1]:>9.4f}{ratio:>7.2f}"
            f"{row['best'][0]:>8.3f}/{row['best'][1]:.3f}"
            f"{row['hv_starts']:>11.4f}{_ratio(row['hv'][0], row['hv_starts']):>18.2f}"
            f"{row['hv_bound']:>10.4f}{_ratio(row['hv_bound'], row['hv'][1]):>14.2f}"
        )
    mean_ratio = statistics.mean(r["hv"][0] / r["hv"][1] for r in rows if r["hv"][1])
    print(f"mean hypervolume ratio MO-ASHA / no early stopping: {mean_ratio:.2f} (goal >= 1.3)")
    over_starts = statistics.mean(_ratio(r["hv"][0], r["hv_starts"]) for r in rows)
    print(f"mean hypervolume ratio MO-ASHA / its starting points alone: {over_starts:.2f}")
    bound = statistics.mean(_ratio(r["hv_bound"], r["hv"][1]) for r in rows)
    print(f"mean bound on that ratio (a perfect network at the smallest size): {bound:.2f}")


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.inf


if __name__ == "__main__":
    main()
