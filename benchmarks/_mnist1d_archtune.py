"""The mnist1d suites' archtune runner: ``archtune``, ``archtune-nostart``, ``archtune-data``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks._mnist1d_common import (
    DATA,
    MODEL,
    TrialRecord,
)


def archtune_experiment(
    seed: int,
    budget: int,
    max_epochs: int,
    workers: int,
    storage: str | None,
    *,
    objectives: Mapping[str, str] | None = None,
    start: bool = True,
    fidelity: str = "epochs",
    constraints: Mapping[str, str] | None = None,
    sampler: str = "auto",
    data: Mapping[str, Any] = DATA,
    model: Mapping[str, Any] = MODEL,
) -> Any:
    """The :class:`~archtune.search.Experiment` that ``archtune.tune()`` builds for this run.

    ``tune(data=..., model=..., recipe={"epochs": max_epochs}, objectives=objectives,
    n_trials=min(999, budget), max_total_steps=budget, n_workers=workers, seed=seed,
    storage=storage, study_name=f"mnist1d-{seed}")``, its other arguments left at their
    defaults; ``start=False`` drops the starting point (the family's default network), which
    ``tune()`` has no argument for; ``fidelity="data"`` adds ``scheduler={"fidelity": "data"}``;
    ``constraints``, ``sampler``, ``data`` and ``model`` are ``tune()``'s own arguments (another
    dataset and family than the suites' for a check beyond them).
    """
    from archtune.config import build_experiment

    config: dict[str, Any] = {
        "name": f"mnist1d-{seed}",
        "data": dict(data),
        "model": dict(model),
        "recipe": {"epochs": max_epochs},
        # The epoch budget ends the search first (every trial trains an epoch or more); below
        # 1,000 trials, from which `sampler: auto` has picked NSGA-II for several objectives.
        "budget": {"trials": min(999, budget), "steps": budget},
        "workers": workers,
        "storage": storage,
        "seed": seed,
    }
    if objectives is not None:
        config["objectives"] = dict(objectives)
    if fidelity != "epochs":
        config["scheduler"] = {"fidelity": fidelity}
    if constraints is not None:
        config["constraints"] = dict(constraints)
    if sampler != "auto":
        config["sampler"] = sampler
    experiment = build_experiment(config, source="tune()")
    return experiment if start else dataclasses.replace(experiment, starting_points=())


def run_archtune(
    seed: int,
    budget: int,
    max_epochs: int,
    workers: int,
    workdir: Path,
    *,
    objectives: Mapping[str, str] | None,
    start: bool,
    fidelity: str = "epochs",
    constraints: Mapping[str, str] | None = None,
    sampler: str = "auto",
    name: str | None = None,
    data: Mapping[str, Any] = DATA,
    model: Mapping[str, Any] = MODEL,
) -> list[TrialRecord]:
    from archtune.search import Driver

    if name is None:
        name = "archtune" if start else "archtune-nostart"
        name += "-data" if fidelity == "data" else ""
    path = workdir / f"{name}-{seed}.db"
    path.unlink(missing_ok=True)
    experiment = archtune_experiment(
        seed,
        budget,
        max_epochs,
        workers,
        f"sqlite:///{path}",
        objectives=objectives,
        start=start,
        fidelity=fidelity,
        constraints=constraints,
        sampler=sampler,
        data=data,
        model=model,
    )
    result = Driver(experiment).run()
    records: list[TrialRecord] = []
    if result is None:
        return records
    configs = {t.number: t.config for t in result.trials}
    for trial in result.study.trials:
        metrics = trial.user_attrs.get("archtune.metrics") or {}
        curve = trial.user_attrs.get("archtune.curve") or []
        config = dict(configs.get(trial.number, trial.params))
        if "val_accuracy" not in metrics:
            if curve:  # failed after training some epochs: they count, no model
                records.append(TrialRecord(config, seed, len(curve), None, 0))
            continue
        records.append(
            TrialRecord(
                config,
                seed + trial.number,
                len(curve),
                float(metrics["val_accuracy"]),
                int(metrics["params"]),
                float(metrics["test_accuracy"]),
            )
        )
    return records
