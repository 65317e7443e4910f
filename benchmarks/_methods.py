"""The methods compared on the tabular suites, each run the way its users would run it.

Every method gets the problem's space (:meth:`TabularProblem.space`), the same number of trials
and the same seed; trial ``t`` of run ``seed`` sees the table's noise draw ``(seed, t)`` whatever
the method, so two methods that propose the same configurations see the same results.

- ``archtune``: ``archtune.tune()`` with its defaults (``sampler: auto``), trials in a worker
  process as for any user objective.
- ``optuna-tpe``, ``optuna-gp``, ``optuna-cmaes``, ``random``: Optuna 5's samplers in
  ``study.optimize`` (``random`` is Optuna's ``RandomSampler``). Optuna's default
  multi-objective sampler is its TPE, so ``optuna-tpe`` is also the multi-objective default.
- ``hyperopt-tpe``: Hyperopt's ``tpe.suggest`` through ``fmin`` (one objective only).
- ``archtune-fmin``: the same Hyperopt space and objective through archtune's ``fmin`` shim
  (:mod:`archtune.interop.hyperopt`, ``algo=tpe.suggest`` as a Hyperopt user would leave it),
  so archtune's engine with its defaults; trials in a worker process (one objective only).

Times: ``wall_s`` is the whole run; ``optimizer_s`` is the time spent choosing configurations:
for the peers, the run less the objective's own time (their samplers and in-memory storage);
for archtune, the driver's ``sampler_s`` (asking its sampler, creating the trial), which leaves
out the messages to its worker process and the worker's start (in ``wall_s``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import optuna

from archtune.search import DriverStats
from archtune.space import Choice, Fixed, Int, Space
from benchmarks._tabular import TabularProblem

__all__ = ["OPT_IN_METHODS", "TABULAR_METHODS", "FminObjective", "RunLog", "run_tabular"]

TABULAR_METHODS: tuple[str, ...] = (
    "archtune",
    "optuna-tpe",
    "optuna-gp",
    "optuna-cmaes",
    "hyperopt-tpe",
    "archtune-fmin",
    "random",
)
#: Methods that optimise one objective only.
SINGLE_OBJECTIVE_ONLY = frozenset({"optuna-cmaes", "hyperopt-tpe", "archtune-fmin"})
#: Methods run only when named (``--method``): ``archtune-fmin`` is archtune's engine again,
#: through the Hyperopt shim (docs/migrating-from-hyperopt.md).
OPT_IN_METHODS = frozenset({"archtune-fmin"})


@dataclass
class RunLog:
    """What one run proposed and saw, in order."""

    keys: list[str] = field(default_factory=list)
    values: list[list[float]] = field(default_factory=list)
    wall_s: float = 0.0
    optimizer_s: float = 0.0
    sampler: str = ""


class _Evaluator:
    """Calls the table, counting trials and the time spent in the objective itself."""

    def __init__(self, problem: TabularProblem, seed: int) -> None:
        self.problem = problem
        self.seed = seed
        self.log = RunLog()
        self.objective_s = 0.0

    def __call__(self, config: Mapping[str, Any]) -> list[float]:
        start = time.perf_counter()
        values = self.problem.evaluate(config, (self.seed, len(self.log.keys)))
        self.log.keys.append(self.problem.key(config))
        self.log.values.append(values)
        self.objective_s += time.perf_counter() - start
        return values


def _suggest(trial: optuna.Trial, space: Space) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for name, param in space.items():
        if isinstance(param, Choice):
            config[name] = trial.suggest_categorical(name, list(param.options))
        elif isinstance(param, Int):
            config[name] = trial.suggest_int(name, param.low, param.high)
    return config


def _optuna_sampler(method: str, seed: int) -> optuna.samplers.BaseSampler:
    samplers: dict[str, Callable[[], optuna.samplers.BaseSampler]] = {
        "optuna-tpe": lambda: optuna.samplers.TPESampler(seed=seed),
        "optuna-gp": lambda: optuna.samplers.GPSampler(seed=seed),
        "optuna-cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }
    return samplers[method]()


def _run_optuna(method: str, problem: TabularProblem, trials: int, seed: int) -> RunLog:
    evaluate = _Evaluator(problem, seed)
    space = problem.space()
    directions = [
        optuna.study.StudyDirection.MINIMIZE
        if d == "min"
        else optuna.study.StudyDirection.MAXIMIZE
        for d in problem.directions
    ]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        study = optuna.create_study(directions=directions, sampler=_optuna_sampler(method, seed))
        study.optimize(lambda trial: evaluate(_suggest(trial, space)), n_trials=trials)
        evaluate.log.wall_s = time.perf_counter() - start
    evaluate.log.optimizer_s = evaluate.log.wall_s - evaluate.objective_s
    evaluate.log.sampler = type(study.sampler).__name__
    return evaluate.log


def _hyperopt_space(problem: TabularProblem) -> dict[str, Any]:
    """The problem's space as a Hyperopt user writes it (``hp.choice``, ``hp.uniformint``)."""
    import hyperopt

    space: dict[str, Any] = {}
    for name, param in problem.space().items():
        if isinstance(param, Choice):
            space[name] = hyperopt.hp.choice(name, list(param.options))
        elif isinstance(param, Int):
            space[name] = hyperopt.hp.uniformint(name, param.low, param.high)
    return space


def _table_config(point: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, str) else int(v) for k, v in point.items()}


def _run_hyperopt(problem: TabularProblem, trials: int, seed: int) -> RunLog:
    import hyperopt
    import numpy as np

    evaluate = _Evaluator(problem, seed)
    space = _hyperopt_space(problem)
    sign = 1.0 if problem.directions[0] == "min" else -1.0

    def objective(config: dict[str, Any]) -> float:
        return sign * evaluate(_table_config(config))[0]

    start = time.perf_counter()
    hyperopt.fmin(
        objective,
        space,
        algo=hyperopt.tpe.suggest,
        max_evals=trials,
        trials=hyperopt.Trials(),
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    evaluate.log.wall_s = time.perf_counter() - start
    evaluate.log.optimizer_s = evaluate.log.wall_s - evaluate.objective_s
    evaluate.log.sampler = "hyperopt.tpe"
    return evaluate.log


class _LastStats:
    """A progress sink that keeps the driver's last counts (its sampler time among them)."""

    def __init__(self) -> None:
        self.stats: DriverStats | None = None

    def update(self, stats: DriverStats) -> None:
        self.stats = stats


def _run_archtune(problem: TabularProblem, trials: int, seed: int) -> RunLog:
    from archtune import tune

    space = Space(
        {"problem": Fixed(problem.name), "run_seed": Fixed(seed), **dict(problem.space().items())}
    )
    objectives = dict(zip(problem.metrics, problem.directions, strict=True))
    progress = _LastStats()
    start = time.perf_counter()
    result = tune(
        "benchmarks._tabular:objective",
        space,
        objectives=objectives,
        n_trials=trials,
        seed=seed,
        progress=progress,
    )
    wall = time.perf_counter() - start
    log = RunLog(wall_s=wall)
    ordered = sorted(result.trials, key=lambda t: t.number)
    for trial in ordered:
        if trial.values is None:
            raise RuntimeError(
                f"archtune trial {trial.number} ended {trial.status}: {trial.error}"
            )
        params = {k: v for k, v in trial.config.items() if k not in ("problem", "run_seed")}
        log.keys.append(problem.key(params))
        log.values.append(list(trial.values))
    log.optimizer_s = progress.stats.sampler_s if progress.stats is not None else wall
    config = result.study.user_attrs.get("archtune.config", {})
    log.sampler = str(config.get("sampler", "")) if isinstance(config, dict) else ""
    return log


@dataclass(frozen=True)
class FminObjective:
    """Hyperopt's ``fn`` for a tabular problem, run in archtune's worker processes.

    The same loss as ``hyperopt-tpe``'s: trial ``t`` sees the table's noise draw
    ``(seed, t)``, ``t`` being archtune's trial number.
    """

    problem: str
    seed: int

    def __call__(self, point: Mapping[str, Any]) -> float:
        from archtune.interop.hyperopt import get_reporter
        from benchmarks._tabular import get_problem

        problem = get_problem(self.problem)
        reporter = get_reporter()
        number = reporter.trial_number if reporter is not None else 0
        sign = 1.0 if problem.directions[0] == "min" else -1.0
        return sign * problem.evaluate(_table_config(point), (self.seed, number))[0]


def _run_archtune_fmin(problem: TabularProblem, trials: int, seed: int) -> RunLog:
    import hyperopt
    import numpy as np

    from archtune.interop.hyperopt import fmin

    space = _hyperopt_space(problem)
    record = hyperopt.Trials()
    progress = _LastStats()
    start = time.perf_counter()
    fmin(
        FminObjective(problem.name, seed),
        space,
        algo=hyperopt.tpe.suggest,
        max_evals=trials,
        trials=record,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
        progress=progress,
    )
    log = RunLog(wall_s=time.perf_counter() - start)
    sign = 1.0 if problem.directions[0] == "min" else -1.0
    for trial in record.trials:
        if trial["result"]["status"] != "ok":
            raise RuntimeError(f"archtune-fmin trial {trial['tid']} failed: {trial['result']}")
        labels = {k: v[0] for k, v in trial["misc"]["vals"].items() if v}
        log.keys.append(problem.key(_table_config(hyperopt.space_eval(space, labels))))
        log.values.append([sign * float(trial["result"]["loss"])])
    log.optimizer_s = progress.stats.sampler_s if progress.stats is not None else log.wall_s
    log.sampler = "archtune fmin (sampler auto)"
    return log


def run_tabular(method: str, problem: TabularProblem, trials: int, seed: int) -> RunLog:
    """Run ``method`` on ``problem`` for ``trials`` trials with ``seed``."""
    if method not in TABULAR_METHODS:
        raise ValueError(f"method must be one of {', '.join(TABULAR_METHODS)}, got {method!r}")
    if len(problem.metrics) > 1 and method in SINGLE_OBJECTIVE_ONLY:
        raise ValueError(f"{method} optimises one objective; {problem.name} has two")
    if method == "archtune":
        return _run_archtune(problem, trials, seed)
    if method == "hyperopt-tpe":
        return _run_hyperopt(problem, trials, seed)
    if method == "archtune-fmin":
        return _run_archtune_fmin(problem, trials, seed)
    return _run_optuna(method, problem, trials, seed)
