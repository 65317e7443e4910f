"""The real-training suites ``mnist1d`` and ``mnist1d-mo``: tuners on the same space and epochs.

Every method searches archtune's ``cnn1d`` family default space plus archtune's default recipe
space (all 27 parameters, ``epochs`` fixed at ``max_epochs``) on the built-in ``mnist1d``
dataset, with archtune's splits (data seed 0: 3,200 train, 800 validation, the 1,000 predefined
test samples). Each trial builds the network from its configuration and trains it with
archtune's trainer (PyTorch, one thread; Keras on PyTorch for KerasTuner) for at most
``max_epochs`` epochs (default 40, as ``benchmarks.families`` trains ``cnn1d`` on
``mnist1d``), reporting the validation accuracy after every epoch so that early-stopping
methods can stop it. Trial ``n`` trains with seed ``seed + n`` (as archtune seeds its trials).

The budget is ``epochs_budget`` training epochs, counting every epoch any trial trains. The same
launch rule holds for every method: a trial starts only if the epochs already trained plus
``max_epochs`` for every running trial and for the new one fit in the budget, or, when no trial
runs and some budget is left, as the last trial (which may overshoot by less than
``max_epochs``). ``epochs_used`` is measured from the trials' reports.

- ``archtune``: ``archtune.tune(data="mnist1d", model={"family": "cnn1d"},
  max_total_steps=epochs_budget)`` with its defaults (objective ``val_accuracy``, ``sampler:
  auto``, ``scheduler: auto``), 2 worker processes; ``budget.steps`` is the launch rule above.
  The experiment is built as ``tune()`` builds it and run by archtune's ``Driver``, with
  ``n_trials=min(999, epochs_budget)`` (the epoch budget ends the search first; below 1,000
  trials, from which ``sampler: auto`` has picked NSGA-II for several objectives).
- ``archtune-nostart``: the same without the starting point (a new study of built-in training
  first trains the family's default network with the default recipe): the benchmark replaces
  the experiment's ``starting_points`` with none, so the sampler proposes the first trial.
- ``archtune-data``: ``archtune`` with ``scheduler={"fidelity": "data"}``: its rungs are
  complete trainings on a fraction of the training split, and its steps (the budget's units)
  count passes over the whole split (docs/samplers.md, "Fidelity beyond epochs").
- ``optuna-tpe-hyperband``: Optuna's ``TPESampler`` and ``HyperbandPruner`` (``min_resource=1``,
  ``max_resource=max_epochs``, ``reduction_factor=3``); ``random``: ``RandomSampler``, no
  pruning. Both run 2 worker processes on one journal-file storage, each asking and telling
  trials that train with archtune's :class:`~archtune.training.TrainObjective`.
- ``kerastuner-hyperband`` (``factor=3``) and ``kerastuner-bayes`` (``BayesianOptimization``):
  KerasTuner 1.4 with a ``build(hp)`` that declares the same space (conditions as
  ``conditional_scope``) and builds the network with archtune's Keras backend; ``run_trial``
  trains it with archtune's Keras trainer (the same recipe code as the other methods). One
  trial at a time: KerasTuner runs trials in parallel only with its distributed gRPC mode.
  Hyperband's later rounds retrain from scratch for ``tuner/epochs`` epochs (KerasTuner's own
  ``run_trial`` would reload the previous round's checkpoint; archtune's trainer initialises
  the weights); the epochs it retrains are counted.
- ``raytune-asha-optuna``: Ray Tune with ``ASHAScheduler`` (``max_t=max_epochs``, its defaults
  otherwise: grace period 1, reduction factor 4) and ``OptunaSearch`` (TPE, seeded), 2
  concurrent trials on ``ray.init(num_cpus=2)``.

The best model of a method is the trial with the best final validation accuracy among every
trial that trained (finished or stopped early). Its test accuracy is that of the trained model
as it ended (archtune's trainer evaluates the test split once, after training; the number is
only read for the chosen trials). Ray Tune stops trials by ending their process, so its chosen
trials are retrained with the same seed for the epochs they got (training is deterministic on
the CPU). ``best10k_*``/``best3k_*``: the same for the most accurate trial with at most 10,000
and 3,000 parameters.

``mnist1d-mo``, accuracy against size: ``archtune`` and ``archtune-nostart`` search
``objectives={"val_accuracy": "max", "params": "min"}`` (their defaults otherwise: ``sampler:
auto``, ``scheduler: auto``, which is MO-ASHA); the peers search as above, for validation accuracy
alone (Optuna's pruners, KerasTuner's Hyperband and Ray's ASHA have no multi-objective mode). Every
method is scored the same way: its front is the set of its trained trials (finished or stopped)
that no other of them dominates in (val_accuracy max, params min), chosen on validation; its score
``hv`` is the hypervolume of the front's (test_accuracy, params) points in (1 - test_accuracy,
log10(params) / log10(P)) with the reference point (1, 1), ``P`` = :data:`P_REF`, the largest
network of the space (fixed, so that rows compare across runs and seeds; larger is better).
``best10k_*``/``best3k_*`` there: the front member of at most 10,000 and 3,000 parameters with the
best test accuracy (the issue's goals are >= 99 % and >= 98 %). Ray's front members are retrained
for their test accuracy (only they are). The table gives archtune's hypervolume divided by each
method's, seed by seed.

Caveats at small budgets (a few hundred epochs): archtune's rung guard never stops the first 3
trials nor every 5th; Optuna's TPE samples its first 10 trials at random (with the
same seeds as ``random``, so their first configurations coincide); KerasTuner's Bayesian
optimisation samples 3 initial points per parameter at random; KerasTuner counts each Hyperband
promotion as a new trial (``trials``). Runs start processes with ``spawn``: call
:func:`run_one` under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

from benchmarks._mnist1d_archtune import archtune_experiment, run_archtune
from benchmarks._mnist1d_common import MAX_EPOCHS, P_REF, TrialRecord, one_thread, train_for
from benchmarks._mnist1d_common import setup as _setup  # noqa: F401  (tests use it)
from benchmarks._mnist1d_kerastuner import run_kerastuner
from benchmarks._mnist1d_optuna import run_optuna
from benchmarks._mnist1d_raytune import run_ray, start_local_ray

__all__ = [
    "MAX_EPOCHS",
    "METHODS",
    "OBJECTIVES",
    "P_REF",
    "SUITES",
    "TrialRecord",
    "archtune_experiment",
    "front",
    "hypervolume",
    "run_one",
    "search",
    "start_local_ray",
    "train_for",
]

METHODS: tuple[str, ...] = (
    "archtune",
    "archtune-nostart",
    "archtune-data",
    "optuna-tpe-hyperband",
    "random",
    "kerastuner-hyperband",
    "kerastuner-bayes",
    "raytune-asha-optuna",
)
#: ``mnist1d``: the best model by validation accuracy; ``mnist1d-mo``: the front's hypervolume.
SUITES: tuple[str, ...] = ("mnist1d", "mnist1d-mo")
#: What archtune searches in ``mnist1d-mo`` (the front every method is scored on).
OBJECTIVES = {"val_accuracy": "max", "params": "min"}
_SIZES = (("best10k", 10_000), ("best3k", 3_000))


# -- the row ---------------------------------------------------------------------------------
def _best(records: list[TrialRecord], max_params: int | None = None) -> TrialRecord | None:
    fits = [
        r
        for r in records
        if r.val_accuracy is not None and (max_params is None or r.params <= max_params)
    ]
    return max(fits, key=lambda r: r.val_accuracy or 0.0, default=None)


def _test_accuracy(record: TrialRecord, max_epochs: int) -> float:
    """The record's test accuracy, retraining it (same seed and epochs) when it was not kept."""
    if record.test_accuracy is None:
        retrained = train_for(record.config, record.seed, record.epochs, max_epochs)
        if retrained.val_accuracy != record.val_accuracy:
            print(
                f"retraining gave val_accuracy {retrained.val_accuracy}, the search "
                f"{record.val_accuracy}",
                file=sys.stderr,
            )
        record.test_accuracy = retrained.test_accuracy
    return float(record.test_accuracy or math.nan)


def front(records: list[TrialRecord]) -> list[TrialRecord]:
    """The trained records that no other dominates in (val_accuracy max, params min), by size."""
    trained = [r for r in records if r.val_accuracy is not None]

    def dominates(a: TrialRecord, b: TrialRecord) -> bool:
        va, vb = float(a.val_accuracy or 0.0), float(b.val_accuracy or 0.0)
        return va >= vb and a.params <= b.params and (va > vb or a.params < b.params)

    members = [r for r in trained if not any(dominates(o, r) for o in trained)]
    return sorted(members, key=lambda r: (r.params, -(r.val_accuracy or 0.0)))


def hypervolume(points: list[tuple[float, int]], p_ref: float = P_REF) -> float:
    """Hypervolume of ``(accuracy, params)`` points: ``benchmarks.moasha``'s measure.

    In (1 - accuracy, log10(params) / log10(p_ref)), both minimised, up to the reference point
    (1, 1); a network larger than ``p_ref`` adds nothing.
    """
    from benchmarks.moasha import hypervolume as moasha_hypervolume

    return moasha_hypervolume([(a, float(p)) for a, p in points if 1 <= p <= p_ref], p_ref)


def search(
    method: str,
    seed: int,
    *,
    epochs_budget: int,
    workers: int = 2,
    workdir: Path,
    max_epochs: int = MAX_EPOCHS,
    suite: str = "mnist1d",
) -> list[TrialRecord]:
    """Run one search of ``method``; its trained (and failed) trials, in the order they began.

    In ``suite="mnist1d-mo"`` archtune searches :data:`OBJECTIVES`; the peers search as in
    ``mnist1d``. See :func:`run_one` for the other arguments.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; known: {', '.join(SUITES)}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    one_thread()
    if method.startswith("archtune"):
        objectives = OBJECTIVES if suite == "mnist1d-mo" else None
        return run_archtune(
            seed,
            epochs_budget,
            max_epochs,
            workers,
            workdir,
            objectives=objectives,
            start=method != "archtune-nostart",
            fidelity="data" if method == "archtune-data" else "epochs",
        )
    if method in ("optuna-tpe-hyperband", "random"):
        return run_optuna(method, seed, epochs_budget, max_epochs, workers, workdir)
    if method.startswith("kerastuner"):
        return run_kerastuner(method, seed, epochs_budget, max_epochs, workdir)
    return run_ray(seed, epochs_budget, max_epochs, workers, workdir)


def run_one(
    method: str,
    seed: int,
    *,
    epochs_budget: int,
    workers: int = 2,
    workdir: Path,
    max_epochs: int = MAX_EPOCHS,
    suite: str = "mnist1d",
) -> dict[str, object]:
    """Run one search of ``method`` with ``seed`` on mnist1d; return its row for the CSV.

    ``workers`` is ignored by KerasTuner (one trial at a time); ``max_epochs`` bounds each
    trial (small values make quick tests: ``epochs_budget=6, max_epochs=3`` takes seconds to
    a minute per method). The row has the CSV's columns plus ``max_epochs`` and ``workers``;
    ``suite="mnist1d-mo"`` scores the front instead of the best model (see the module).
    """
    start = time.perf_counter()
    records = search(
        method,
        seed,
        epochs_budget=epochs_budget,
        workers=workers,
        workdir=workdir,
        max_epochs=max_epochs,
        suite=suite,
    )
    row: dict[str, object] = {
        "suite": suite,
        "problem": "mnist1d/cnn1d",
        "method": method,
        "seed": seed,
        "epochs_budget": epochs_budget,
        "max_epochs": max_epochs,
        "workers": 1 if method.startswith("kerastuner") else workers,
        "epochs_used": sum(r.epochs for r in records),
        "trials": len(records),
        "best_val_accuracy": "",
        "test_accuracy": "",
        "params": "",
    }
    if suite == "mnist1d-mo":
        row |= _front_columns(records, max_epochs)
    else:
        row |= _best_columns(records, max_epochs)
    row["wall_s"] = round(time.perf_counter() - start, 1)
    return row


def _best_columns(records: list[TrialRecord], max_epochs: int) -> dict[str, object]:
    """``mnist1d``: the best model by validation accuracy, and the best under each size."""
    row: dict[str, object] = {}
    best = _best(records)
    if best is not None:
        row["best_val_accuracy"] = best.val_accuracy
        row["test_accuracy"] = _test_accuracy(best, max_epochs)
        row["params"] = best.params
    for prefix, limit in _SIZES:
        small = _best(records, limit)
        row[f"{prefix}_test_accuracy"] = "" if small is None else _test_accuracy(small, max_epochs)
        row[f"{prefix}_params"] = "" if small is None else small.params
    return row


def _front_columns(records: list[TrialRecord], max_epochs: int) -> dict[str, object]:
    """``mnist1d-mo``: the front's hypervolume on the test split, its members, its best ones.

    ``front`` lists each member as ``params:val_accuracy:test_accuracy``, smallest first.
    """
    members = front(records)
    for record in members:
        _test_accuracy(record, max_epochs)  # Ray: retrains the front, and only the front
    points = [(float(r.test_accuracy or 0.0), r.params) for r in members]
    row: dict[str, object] = {"p_ref": P_REF, "hv": round(hypervolume(points), 6)}
    row["front_size"] = len(members)
    row["front"] = " ".join(
        f"{r.params}:{r.val_accuracy:.4f}:{r.test_accuracy:.4f}" for r in members
    )
    best = _best(members)
    if best is not None:
        row["best_val_accuracy"] = best.val_accuracy
        row["test_accuracy"] = best.test_accuracy
        row["params"] = best.params
    for prefix, limit in _SIZES:
        fits = [r for r in members if r.params <= limit]
        small = max(fits, key=lambda r: r.test_accuracy or 0.0, default=None)
        row[f"{prefix}_test_accuracy"] = "" if small is None else small.test_accuracy
        row[f"{prefix}_params"] = "" if small is None else small.params
    return row
