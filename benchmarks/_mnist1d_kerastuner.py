"""The mnist1d suites' KerasTuner runner: ``kerastuner-hyperband`` and ``kerastuner-bayes``."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archtune.space import Choice, Fixed, Float, Int, Space
from benchmarks._mnist1d_common import (
    Budget,
    EpochReporter,
    TrialRecord,
    one_thread,
    params_of,
    setup,
)


def _declare(hp: Any, space: Space) -> dict[str, Any]:
    """Declare ``space`` on KerasTuner's ``hp``; return the active configuration."""
    config: dict[str, Any] = {}
    for name, param in space.items():
        with contextlib.ExitStack() as stack:
            for parent, values in param.when.items():
                stack.enter_context(hp.conditional_scope(parent, list(values)))
            value: Any
            if isinstance(param, Fixed):
                value = param.value
            elif isinstance(param, Int):
                sampling = "log" if param.log else "linear"
                step = None if param.log else param.step
                value = hp.Int(name, param.low, param.high, step=step, sampling=sampling)
            elif isinstance(param, Float):
                sampling = "log" if param.log else "linear"
                value = hp.Float(name, param.low, param.high, step=param.step, sampling=sampling)
            elif isinstance(param, Choice):
                value = hp.Choice(name, list(param.options))
        if space.is_active(name, config):
            config[name] = value
    return config


def run_kerastuner(
    method: str, seed: int, budget: int, max_epochs: int, workdir: Path
) -> list[TrialRecord]:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras_tuner as kt  # type: ignore[import-untyped]

    from archtune.backends.keras import KerasBackend

    one_thread()
    objective, space = setup(max_epochs)
    backend = KerasBackend()
    from archtune.training._objective import load_cached

    dataset = load_cached(objective.data)
    records: list[TrialRecord] = []
    state = Budget(budget, max_epochs)

    def build(hp: Any) -> Any:
        config = _declare(hp, space)
        network = objective.model.build(config)
        return backend.build(network, seed=seed + len(records))

    base = kt.Hyperband if method == "kerastuner-hyperband" else kt.BayesianOptimization

    class Tuner(base):  # type: ignore[misc, valid-type]
        def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> dict[str, float]:
            hp = trial.hyperparameters
            config = _declare(hp.copy(), space)
            epochs = int(hp.values.get("tuner/epochs", max_epochs))
            number = len(records)
            model = self.hypermodel.build(hp)
            state.running[number] = 0

            def on_epoch(step: int, metrics: Mapping[str, float]) -> bool:
                state.running[number] = step
                return step >= epochs

            reporter = EpochReporter(number, seed + number, on_epoch)
            result = backend.fit(
                model, dataset, objective.recipe_of(config), reporter=reporter, seed=seed + number
            )
            state.finished += state.running.pop(number)
            record = TrialRecord(
                config,
                seed + number,
                result.epochs_run,
                float(result.metrics["val_accuracy"]),
                params_of(objective, config),
                float(result.metrics["test_accuracy"]),
            )
            records.append(record)
            if state.decide() == "done":
                self.oracle.max_trials = len(self.oracle.trials)
            return {"val_accuracy": record.val_accuracy or 0.0}

    kwargs: dict[str, Any] = {"max_epochs": max_epochs, "factor": 3, "hyperband_iterations": 1000}
    if base is kt.BayesianOptimization:
        kwargs = {"max_trials": 100_000}
    directory = workdir / f"kt-{method}-{seed}"
    shutil.rmtree(directory, ignore_errors=True)
    tuner = Tuner(
        hypermodel=build,
        objective=kt.Objective("val_accuracy", "max"),
        seed=seed,
        directory=str(directory),
        project_name="mnist1d",
        overwrite=True,
        **kwargs,
    )
    tuner.search(verbose=0)
    return records
