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

import contextlib
import dataclasses
import math
import multiprocessing as mp
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archtune._reporter import Decision
from archtune.space import Choice, Fixed, Float, Int, Space

__all__ = [
    "MAX_EPOCHS",
    "METHODS",
    "OBJECTIVES",
    "P_REF",
    "SUITES",
    "archtune_experiment",
    "front",
    "hypervolume",
    "run_one",
    "search",
]

METHODS: tuple[str, ...] = (
    "archtune",
    "archtune-nostart",
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
#: Epochs of a trial that is never stopped.
MAX_EPOCHS = 40
#: The size axis's end, ``log10(params) / log10(P_REF)`` = 1: the largest network of the space
#: on mnist1d (depth 4, width 128, taper 2, kernel 7, no pooling, residual, batch norm, flatten
#: readout; the largest over every choice at the ends of the ranges, see the tests).
P_REF = 5_921_418
_DATA = {"dataset": "mnist1d"}
_MODEL = {"family": "cnn1d"}
_ROOT = Path(__file__).resolve().parent.parent
_SIZES = (("best10k", 10_000), ("best3k", 3_000))


@dataclass
class TrialRecord:
    """One trained trial: its configuration, training seed and final numbers."""

    config: dict[str, Any]
    seed: int
    epochs: int
    val_accuracy: float | None
    params: int
    test_accuracy: float | None = None


@dataclass
class _Budget:
    """The launch rule (see the module's docstring), for trials in one process."""

    total: int
    max_epochs: int
    finished: int = 0
    running: dict[object, int] = field(default_factory=dict)

    @property
    def used(self) -> int:
        return self.finished + sum(self.running.values())

    def decide(self) -> str:
        """``launch``, ``wait`` (a running trial may free budget) or ``done``."""
        if self.used >= self.total:
            return "done"
        if self.finished + self.max_epochs * (len(self.running) + 1) <= self.total:
            return "launch"
        return "wait" if self.running else "launch"


class _Reporter:
    """archtune's ``Reporter``: calls ``on_epoch(step, metrics)``, which says whether to stop."""

    def __init__(
        self, number: int, seed: int, on_epoch: Callable[[int, Mapping[str, float]], bool]
    ) -> None:
        self._number, self._seed, self._on_epoch = number, seed, on_epoch
        self._stop = False

    @property
    def trial_number(self) -> int:
        return self._number

    @property
    def seed(self) -> int | None:
        return self._seed

    @property
    def should_stop(self) -> bool:
        return self._stop

    def report(self, step: int, **metrics: float) -> Decision:
        self._stop = self._on_epoch(step, metrics)
        return Decision.STOP if self._stop else Decision.CONTINUE


def _setup(max_epochs: int) -> tuple[Any, Space]:
    """The objective and space archtune's built-in training makes (same for every method)."""
    from archtune.training import setup_training

    setup = setup_training(_DATA, _MODEL, {"epochs": max_epochs})
    return setup.objective, setup.space


def _params(objective: Any, config: Mapping[str, Any]) -> int:
    return int(objective.precheck(config)["params"])


def _threads() -> None:
    import torch

    torch.set_num_threads(1)


def train_for(config: Mapping[str, Any], seed: int, epochs: int, max_epochs: int) -> TrialRecord:
    """Train ``config`` with ``seed`` for ``epochs`` epochs (its recipe spans ``max_epochs``)."""
    objective, _ = _setup(max_epochs)
    reporter = _Reporter(0, seed, lambda step, _: step >= epochs)
    metrics = objective(dict(config), reporter)
    return TrialRecord(
        dict(config),
        seed,
        int(metrics["epochs"]),
        float(metrics["val_accuracy"]),
        int(metrics["params"]),
        float(metrics["test_accuracy"]),
    )


# -- archtune --------------------------------------------------------------------------------
def archtune_experiment(
    seed: int,
    budget: int,
    max_epochs: int,
    workers: int,
    storage: str | None,
    *,
    objectives: Mapping[str, str] | None = None,
    start: bool = True,
) -> Any:
    """The :class:`~archtune.search.Experiment` that ``archtune.tune()`` builds for this run.

    ``tune(data=..., model=..., recipe={"epochs": max_epochs}, objectives=objectives,
    n_trials=min(999, budget), max_total_steps=budget, n_workers=workers, seed=seed,
    storage=storage, study_name=f"mnist1d-{seed}")``, its other arguments left at their
    defaults; ``start=False`` drops the starting point (the family's default network), which
    ``tune()`` has no argument for.
    """
    from archtune.config import build_experiment

    config: dict[str, Any] = {
        "name": f"mnist1d-{seed}",
        "data": _DATA,
        "model": _MODEL,
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
    experiment = build_experiment(config, source="tune()")
    return experiment if start else dataclasses.replace(experiment, starting_points=())


def _run_archtune(
    seed: int,
    budget: int,
    max_epochs: int,
    workers: int,
    workdir: Path,
    *,
    objectives: Mapping[str, str] | None,
    start: bool,
) -> list[TrialRecord]:
    from archtune.search import Driver

    name = "archtune" if start else "archtune-nostart"
    path = workdir / f"{name}-{seed}.db"
    path.unlink(missing_ok=True)
    experiment = archtune_experiment(
        seed, budget, max_epochs, workers, f"sqlite:///{path}", objectives=objectives, start=start
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


# -- Optuna ----------------------------------------------------------------------------------
def _optuna_storage(path: Path) -> Any:
    import optuna
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def _optuna_worker(
    method: str,
    seed: int,
    slot: int,
    path: str,
    max_epochs: int,
    total: int,
    shared: tuple[Any, Any, Any, Any],
) -> None:
    """One worker process: ask, train, tell, while the launch rule allows."""
    import optuna

    _threads()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    lock, finished, running, active = shared
    objective, space = _setup(max_epochs)
    sampler: optuna.samplers.BaseSampler
    pruner: optuna.pruners.BasePruner
    if method == "random":
        sampler, pruner = (
            optuna.samplers.RandomSampler(seed * 1000 + slot),
            optuna.pruners.NopPruner(),
        )
    else:
        sampler = optuna.samplers.TPESampler(seed=seed * 1000 + slot)
        pruner = optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max_epochs, reduction_factor=3
        )
    study = optuna.load_study(
        study_name="mnist1d", storage=_optuna_storage(Path(path)), sampler=sampler, pruner=pruner
    )
    while True:
        with lock:
            budget = _Budget(total, max_epochs, finished.value)
            budget.running = {i: running[i] for i in range(len(running)) if active[i]}
            decision = budget.decide()
            if decision == "launch":
                active[slot], running[slot] = 1, 0
        if decision == "done":
            return
        if decision == "wait":
            time.sleep(0.2)
            continue
        trial = study.ask()
        config = space.sample(trial)

        def on_epoch(step: int, metrics: Mapping[str, float], trial: Any = trial) -> bool:
            with lock:
                running[slot] = step
            trial.report(metrics["val_accuracy"], step)
            return bool(trial.should_prune())

        reporter = _Reporter(trial.number, seed + trial.number, on_epoch)
        try:
            metrics = objective(config, reporter)
        except Exception as exc:  # diverged (NaN loss) or could not be built: a failed trial
            trial.set_user_attr("epochs", int(running[slot]))
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            print(f"trial {trial.number} failed: {exc}", file=sys.stderr)
        else:
            trial.set_user_attr("metrics", {k: float(v) for k, v in metrics.items()})
            trial.set_user_attr("seed", seed + trial.number)
            trial.set_user_attr("config", dict(config))
            if reporter.should_stop:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, float(metrics["val_accuracy"]))
        with lock:
            finished.value += running[slot]
            active[slot], running[slot] = 0, 0


def _run_optuna(
    method: str, seed: int, budget: int, max_epochs: int, workers: int, workdir: Path
) -> list[TrialRecord]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = workdir / f"{method}-{seed}.journal"
    path.unlink(missing_ok=True)
    optuna.create_study(study_name="mnist1d", storage=_optuna_storage(path), direction="maximize")
    ctx = mp.get_context("spawn")
    shared = (ctx.Lock(), ctx.Value("i", 0), ctx.Array("i", workers), ctx.Array("b", workers))
    with _one_thread_env():
        procs = [
            ctx.Process(
                target=_optuna_worker,
                args=(method, seed, slot, str(path), max_epochs, budget, shared),
            )
            for slot in range(workers)
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"{method}: worker processes exited with {bad}")
    study = optuna.load_study(study_name="mnist1d", storage=_optuna_storage(path))
    records = []
    for trial in study.trials:
        metrics = trial.user_attrs.get("metrics")
        if metrics is None:
            epochs = int(trial.user_attrs.get("epochs", 0))
            if epochs:
                records.append(TrialRecord(dict(trial.params), seed, epochs, None, 0))
            continue
        records.append(
            TrialRecord(
                dict(trial.user_attrs["config"]),
                int(trial.user_attrs["seed"]),
                int(metrics["epochs"]),
                metrics["val_accuracy"],
                int(metrics["params"]),
                metrics["test_accuracy"],
            )
        )
    return records


@contextlib.contextmanager
def _one_thread_env() -> Any:
    """Child processes start torch with one thread (as archtune's workers do)."""
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    old = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, "1"))
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- KerasTuner ------------------------------------------------------------------------------
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


def _run_kerastuner(
    method: str, seed: int, budget: int, max_epochs: int, workdir: Path
) -> list[TrialRecord]:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras_tuner as kt  # type: ignore[import-untyped]

    from archtune.backends.keras import KerasBackend

    _threads()
    objective, space = _setup(max_epochs)
    backend = KerasBackend()
    from archtune.training._objective import load_cached

    dataset = load_cached(objective.data)
    records: list[TrialRecord] = []
    state = _Budget(budget, max_epochs)

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

            reporter = _Reporter(number, seed + number, on_epoch)
            result = backend.fit(
                model, dataset, objective.recipe_of(config), reporter=reporter, seed=seed + number
            )
            state.finished += state.running.pop(number)
            record = TrialRecord(
                config,
                seed + number,
                result.epochs_run,
                float(result.metrics["val_accuracy"]),
                _params(objective, config),
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


# -- Ray Tune --------------------------------------------------------------------------------
def _ray_trial(config: dict[str, Any]) -> None:
    """One Ray Tune trial: train and report every epoch (ASHA stops it by ending it)."""
    from ray import tune

    _threads()
    max_epochs = int(config["epochs"])
    objective, _ = _setup(max_epochs)
    params = _params(objective, config)
    seed = int(config.pop("_seed"))

    def on_epoch(step: int, metrics: Mapping[str, float]) -> bool:
        tune.report({"val_accuracy": float(metrics["val_accuracy"]), "params": params})
        return False

    objective(config, _Reporter(0, seed, on_epoch))


class _DefineByRun:
    """Ray's ``OptunaSearch`` space: archtune's own sampling; returns the fixed values."""

    def __init__(self, space: Space) -> None:
        self.space = space

    def __call__(self, trial: Any) -> dict[str, Any]:
        config = self.space.sample(trial)
        return {k: v for k, v in config.items() if isinstance(self.space[k], Fixed)}


def _ray_search_class() -> Any:
    """``OptunaSearch`` that keeps the launch rule (defined lazily: Ray is optional).

    The class is published as this module's ``_RayBudgetSearch`` so that Ray can pickle it.
    """
    cls = globals().get("_RayBudgetSearch")
    if cls is not None:
        return cls
    from ray.tune.search import Searcher
    from ray.tune.search.optuna import OptunaSearch

    class _RayBudgetSearch(OptunaSearch):
        state: _Budget
        seen: dict[str, dict[str, Any]]
        seed0: int

        def suggest(self, trial_id: str) -> dict[Any, Any] | None:
            decision = self.state.decide()
            if decision == "done":
                return Searcher.FINISHED  # type: ignore[return-value]  # Ray's marker
            if decision == "wait":
                return None
            config = super().suggest(trial_id)
            if isinstance(config, dict):
                self.state.running[trial_id] = 0
                number = len(self.seen)
                self.seen[trial_id] = {"config": dict(config), "seed": self.seed0 + number}
                config = {**config, "_seed": self.seed0 + number}
            return config

        def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
            super().on_trial_result(trial_id, result)
            self.state.running[trial_id] = int(result["training_iteration"])
            self.seen[trial_id]["last"] = result

        def on_trial_complete(
            self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
        ) -> None:
            # A trial that the scheduler stops on a result reaches here without
            # on_trial_result for that result.
            super().on_trial_complete(trial_id, result, error)
            epochs = self.state.running.pop(trial_id, 0)
            if result and "training_iteration" in result and "val_accuracy" in result:
                epochs = max(epochs, int(result["training_iteration"]))
                self.seen[trial_id]["last"] = result
            self.state.finished += epochs

    globals()["_RayBudgetSearch"] = _RayBudgetSearch
    return _RayBudgetSearch


def start_local_ray(workers: int) -> None:
    """A local Ray of ``workers`` CPUs whose workers import this repository, one thread each."""
    import ray

    env = {
        "PYTHONPATH": os.pathsep.join([str(_ROOT), str(_ROOT / "src")]),
        "OMP_NUM_THREADS": "1",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    ray.init(
        num_cpus=workers,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": env},
    )


def _run_ray(
    seed: int, budget: int, max_epochs: int, workers: int, workdir: Path
) -> list[TrialRecord]:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    import optuna
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _, space = _setup(max_epochs)
    search = _ray_search_class()(
        space=_DefineByRun(space), metric="val_accuracy", mode="max", seed=seed
    )
    search.state, search.seen, search.seed0 = _Budget(budget, max_epochs), {}, seed
    scheduler = ASHAScheduler(max_t=max_epochs)
    start_local_ray(workers)
    try:
        tuner = tune.Tuner(
            _ray_trial,
            tune_config=tune.TuneConfig(
                metric="val_accuracy",
                mode="max",
                search_alg=search,
                scheduler=scheduler,
                num_samples=-1,
                max_concurrent_trials=workers,
            ),
            run_config=tune.RunConfig(
                name=f"ray-{seed}", storage_path=str(workdir / "ray"), verbose=0
            ),
        )
        tuner.fit()
    finally:
        ray.shutdown()
    records = []
    for item in search.seen.values():
        last = item.get("last")
        if last is None:
            continue
        records.append(
            TrialRecord(
                item["config"],
                item["seed"],
                int(last["training_iteration"]),
                float(last["val_accuracy"]),
                int(last["params"]),
            )
        )
    return records


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
    _threads()
    if method in ("archtune", "archtune-nostart"):
        objectives = OBJECTIVES if suite == "mnist1d-mo" else None
        start = method == "archtune"
        return _run_archtune(
            seed, epochs_budget, max_epochs, workers, workdir, objectives=objectives, start=start
        )
    if method in ("optuna-tpe-hyperband", "random"):
        return _run_optuna(method, seed, epochs_budget, max_epochs, workers, workdir)
    if method.startswith("kerastuner"):
        return _run_kerastuner(method, seed, epochs_budget, max_epochs, workdir)
    return _run_ray(seed, epochs_budget, max_epochs, workers, workdir)


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
