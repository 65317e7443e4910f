"""The Python entry point: :func:`tune`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna

from archtune._errors import ConfigError
from archtune.config import build_experiment
from archtune.execution import EXECUTOR_NAMES, BaseExecutor
from archtune.search import (
    SAMPLER_NAMES,
    SCHEDULER_NAMES,
    BaseScheduler,
    Driver,
    Experiment,
    ProgressSink,
    TuneResult,
)
from archtune.space import Param, Space

__all__ = ["tune"]

_ALIASES = {
    "budget.trials": "n_trials",
    "budget.timeout": "timeout",
    "budget.trial_timeout": "trial_timeout",
    "budget.max_consecutive_failures": "max_consecutive_failures",
    "workers": "n_workers",
    "name": "study_name",
}


def tune(
    objective: Callable[..., Any] | str | None = None,
    space: Space | Mapping[str, Param | Mapping[str, Any] | Any] | None = None,
    *,
    n_trials: int,
    objectives: Mapping[str, str] | str | None = None,
    data: str | Mapping[str, Any] | tuple[Any, Any] | None = None,
    model: str | Mapping[str, Any] | None = None,
    recipe: Mapping[str, Any] | None = None,
    backend: str = "torch",
    n_workers: int = 1,
    timeout: str | float | None = None,
    trial_timeout: str | float | None = None,
    max_total_steps: int | None = None,
    sampler: str | optuna.samplers.BaseSampler = "auto",
    scheduler: str | Mapping[str, Any] | BaseScheduler = "auto",
    constraints: Mapping[str, Any] | None = None,
    executor: str | BaseExecutor = "local",
    address: str | None = None,
    resources: Mapping[str, float] | None = None,
    storage: str | None = None,
    artifacts: str | None = None,
    study_name: str | None = None,
    resume: bool = False,
    seed: int | None = None,
    max_consecutive_failures: int = 5,
    max_retries: int = 1,
    progress: ProgressSink | bool | None = None,
    starting_points: Sequence[Mapping[str, Any]] = (),
) -> TuneResult:
    """Search ``space`` for the configurations that optimise ``objectives``.

    Each trial calls ``objective(config, reporter)`` in a worker process; it returns a dict of
    metrics (or one number when there is one objective), may stream intermediate metrics with
    ``reporter.report(step, **metrics)``, and may save and restore its state with
    ``reporter.checkpoint(state)`` and ``reporter.restore()`` (see ``artifacts``: a trial rerun
    after its worker died continues from its last checkpoint). Instead of an objective and a
    space, give ``data`` and ``model`` (and ``recipe``): archtune then builds and trains the
    networks itself, as a config's blocks of the same names do (see docs/configuration.md).

    Args:
        objective: A module-level function, or ``"module:function"``.
        space: A :class:`~archtune.space.Space`, or ``{name: Int(...) | {type: ...}}``.
        n_trials: Trials that must reach an end (complete, stopped or failed in your code).
        objectives: ``{metric: "max" | "min"}``; several give a Pareto front (built-in
            training: ``val_accuracy`` max or ``val_mse`` min by default).
        data: Built-in training: a dataset name, a file, arrays (``(x, y)``, or a mapping
            with the ``.npz`` keys), or ``{dataset: <one of those>, max_samples: ...}``.
            Arrays are written once to an ``.npz`` file the workers load (beside the
            artifacts; see docs/datasets.md).
        model: Built-in training: a built-in network or ``{family: ..., <parameter>: ...}``.
        recipe: Built-in training: recipe fields (values, parameters, ``lr: "auto"``).
        backend: Built-in training: ``torch`` or ``keras``.
        n_workers: Trials that run at once, each in its own process.
        timeout: The run ends after this long (``"10m"``, seconds): no new trial starts, and
            running trials are ended (recorded as ``timeout``; they run again on resume).
        trial_timeout: A trial still running after this long is ended: it fails
            (``archtune.failure=timeout``), counts, and the study goes on.
        max_total_steps: A budget of steps (epochs) over all trials: a trial starts only if it
            fits at full length (``scheduler`` ``max_steps``, or the fixed epochs of built-in
            training) beside the running ones.
        sampler: A name of :data:`archtune.search.SAMPLER_NAMES` (``auto``, ``random``,
            ``tpe``, ``gp``, ``light-gp``, ``cmaes``, ``nsga2``, ``qmc``, ``grid``,
            ``bruteforce``), or an Optuna sampler instance (``optuna.samplers.BaseSampler``),
            used as it is: ``seed`` does not reseed it.
        scheduler: Early stopping: a name of :data:`archtune.search.SCHEDULER_NAMES` (``auto``:
            MO-ASHA for several objectives, ASHA for one; ``none``, ``median``, ``asha``,
            ``hyperband``, ``moasha``, ``pbt``), a mapping with ``name``, ``eta``,
            ``min_steps``, ``max_steps``, ``guard`` and ``fidelity`` (``epochs``, or ``data``:
            rungs are complete trainings on a fraction of the data), or a
            :class:`~archtune.search.BaseScheduler` instance.
        executor: ``local`` (processes on this machine), ``ray`` (actors on a Ray cluster),
            or a :class:`~archtune.execution.BaseExecutor` instance (``n_workers``,
            ``address`` and ``resources`` are then its own business).
        address: ``executor="ray"``: the cluster (``auto``, ``host:port``); none starts one.
        resources: ``executor="ray"``: per trial, ``{"cpus": 1, "gpus": 0}``.
        storage: An Optuna storage URL such as ``"sqlite:///archtune.db"``; in memory if ``None``.
        artifacts: The folder where trials keep their checkpoints (``reporter.checkpoint``;
            built-in training checkpoints every epoch), under a subfolder per study. By
            default ``<db stem>.artifacts`` beside an SQLite file; with an in-memory or
            PostgreSQL storage, checkpoints are off unless this names a folder (for Ray
            clusters, one that every node sees).
        study_name: The study's name in the storage (required to resume).
        resume: Continue the existing study ``study_name``.
        seed: Seeds the sampler and each trial's ``reporter.seed``.
        max_consecutive_failures: Stop after this many failures in a row.
        max_retries: Reruns of a trial whose worker process died.
        progress: Receives live counts (see :class:`archtune.search.ProgressSink`). By default
            (``None``) a notebook cell shows a live progress bar and a script shows none;
            ``False`` shows none anywhere.
        starting_points: Configurations (searched parameters only) that a new study tries
            first, in order; a resumed study queues none.

    Returns:
        The result: ``best_trial`` (one objective) or ``best_trials`` (the Pareto front).

    Example:
        >>> from archtune import Choice, Float, tune
        >>> result = tune(                       # doctest: +SKIP
        ...     "examples.quickstart:train",
        ...     {"lr": Float(1e-4, 1e-1, log=True), "optimizer": Choice(["sgd", "adam"])},
        ...     objectives={"val_accuracy": "max"}, n_trials=20, n_workers=2,
        ... )
    """
    config: dict[str, Any] = {
        "name": study_name if study_name is not None else "study",
        "objective": objective,
        "space": space.to_dict() if isinstance(space, Space) else space,
        "objectives": objectives,
        "data": _data_on_disk(data, storage, artifacts),
        "model": model,
        "recipe": recipe,
        "backend": backend,
        "budget": {
            "trials": n_trials,
            "timeout": timeout,
            "trial_timeout": trial_timeout,
            "steps": max_total_steps,
            "max_consecutive_failures": max_consecutive_failures,
        },
        "workers": n_workers,
        "sampler": _name_or_instance(sampler, optuna.samplers.BaseSampler, "sampler", "auto"),
        "scheduler": _scheduler_setting(scheduler),
        "constraints": constraints,
        "executor": _name_or_instance(executor, BaseExecutor, "executor", "local"),
        "address": address,
        "resources": resources,
        "storage": storage,
        "artifacts": artifacts,
        "seed": seed,
        "max_retries": max_retries,
    }
    from archtune.config import check_storage

    _check_model_kind(model)
    check_storage(storage, source="tune(): storage")  # one line before anything is stored
    # ``storage=None`` means in memory, not the config files' default SQLite file.
    config = {k: v for k, v in config.items() if v is not None or k == "storage"}
    experiment = build_experiment(config, source="tune()", aliases=_ALIASES)
    if study_name is None:  # let Optuna name it
        experiment = dataclasses.replace(experiment, name=None)
    if starting_points:
        experiment = dataclasses.replace(
            experiment,
            starting_points=(*experiment.starting_points, *map(dict, starting_points)),
        )
    experiment = _with_instances(experiment, sampler, scheduler, executor)
    return Driver(
        experiment,
        resume=resume,
        progress=_progress(progress),
        executor=executor if isinstance(executor, BaseExecutor) else None,
        scheduler=scheduler if isinstance(scheduler, BaseScheduler) else None,
    ).run()


_NAMES = {"sampler": SAMPLER_NAMES, "scheduler": SCHEDULER_NAMES, "executor": EXECUTOR_NAMES}
_BASES = {
    "sampler": "optuna.samplers.BaseSampler",
    "scheduler": "archtune.search.BaseScheduler",
    "executor": "archtune.execution.BaseExecutor",
}


def _name_or_instance(value: object, base: type, field: str, default: str) -> object:
    """The name for the config: ``value`` itself, or ``default`` for an instance of ``base``.

    Raises:
        ConfigError: ``value`` is neither a string nor an instance of ``base``.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, base):
        return default
    names = ", ".join(map(repr, _NAMES[field]))
    raise ConfigError(
        f"tune(): {field} must be one of {names} or an instance of {_BASES[field]}, got {value!r}"
    )


def _check_model_kind(model: object) -> None:
    """A model object (imported, Keras, PyTorch) is refused with the call that takes it."""
    if model is None or isinstance(model, str | Mapping):
        return
    raise ConfigError(
        f"tune(): model must be a built-in network's name or a family ({{'family': 'mlp', "
        f"...}}), got a {type(model).__name__}; a model of your own (an ImportedModel, a Keras "
        "model, a PyTorch module) is the baseline of archtune.shrink(model, data), which "
        "searches smaller structures from its weights, or is built in your own training "
        "function, tune(objective, space)"
    )


def _data_on_disk(data: object, storage: str | None, artifacts: str | None) -> object:
    """``data`` with arrays in memory replaced by the ``.npz`` file they are written to: in
    ``<artifacts>/data``, by default the ``data`` folder beside an SQLite file's artifacts,
    else a temporary folder of this process (see :mod:`archtune.data._in_memory`)."""
    from archtune.data._in_memory import arrays_of, write_arrays
    from archtune.search._artifacts import default_artifact_root

    def written(value: object) -> str | None:
        arrays = arrays_of(value)
        if arrays is None:
            return None
        root = Path(artifacts) if artifacts is not None else default_artifact_root(storage)
        return write_arrays(arrays, None if root is None else root / "data")

    if isinstance(data, Mapping) and "dataset" in data:  # {dataset: (x, y), val_fraction: ...}
        path = written(data["dataset"])
        return data if path is None else {**data, "dataset": path}
    path = written(data)
    return data if path is None else path


def _scheduler_setting(scheduler: object) -> object:
    if isinstance(scheduler, Mapping):
        return scheduler
    return _name_or_instance(scheduler, BaseScheduler, "scheduler", "none")


def _with_instances(
    experiment: Experiment, sampler: object, scheduler: object, executor: object
) -> Experiment:
    """The experiment with the caller's instances, recorded in the study by class name."""
    if isinstance(sampler, optuna.samplers.BaseSampler):
        experiment = dataclasses.replace(experiment, sampler=sampler)
    if isinstance(scheduler, BaseScheduler):
        spec = dataclasses.replace(experiment.scheduler, name=type(scheduler).__name__)
        experiment = dataclasses.replace(experiment, scheduler=spec)
    if isinstance(executor, BaseExecutor):
        experiment = dataclasses.replace(experiment, executor=type(executor).__name__)
    return experiment


def _progress(progress: ProgressSink | bool | None) -> ProgressSink | None:
    """The sink to use: the caller's, or in a Jupyter kernel the notebook's progress bar."""
    if progress is None or progress is True:
        from archtune._notebook import TuneProgress, in_notebook

        return TuneProgress() if in_notebook() else None
    if progress is False:
        return None
    return progress
