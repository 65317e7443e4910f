"""Run Hyperopt searches (``fmin`` over an ``hp.*`` space) with archtune's engine.

A Hyperopt user changes one import::

    from archtune.interop.hyperopt import STATUS_OK, fmin, hp, tpe   # was: from hyperopt import

    space = {
        "lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-1)),
        "model": hp.choice("model", [
            {"kind": "linear"},
            {"kind": "mlp", "units": hp.uniformint("units", 16, 256)},
        ]),
    }
    best = fmin(fn, space, algo=tpe.suggest, max_evals=100)   # {"lr": ..., "model": 1, ...}

``fn`` receives the same point as under Hyperopt and returns a loss or Hyperopt's result dict.
The search runs in archtune (its samplers, worker processes, storage and resume, early
stopping when ``fn`` calls :func:`report`), and ``fmin`` returns the best point in Hyperopt's
convention (a choice's branch index). :func:`from_hyperopt` converts a space on its own. The
names this module does not define (``hp``, ``tpe``, ``rand``, ``Trials``, ``STATUS_OK``...)
are Hyperopt's own. See ``docs/migrating-from-hyperopt.md``.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from archtune._errors import ConfigError
from archtune._imports import require
from archtune._reporter import Decision, Reporter
from archtune.interop._hyperopt_objective import BINDING, STATUS_FAIL, STATUS_OK
from archtune.interop._hyperopt_space import SPREAD_SD, convert_hyperopt
from archtune.space import Space

if TYPE_CHECKING:
    from archtune.interop._tree import ConvertedSpace
    from archtune.search import TuneResult

__all__ = [
    "SPREAD_SD",
    "STATUS_FAIL",
    "STATUS_OK",
    "fmin",
    "from_hyperopt",
    "get_reporter",
    "report",
    "space_eval",
]

#: Hyperopt's names this module passes through, so that one import line serves.
_HYPEROPT_NAMES = (
    "hp",
    "tpe",
    "rand",
    "anneal",
    "atpe",
    "Trials",
    "STATUS_NEW",
    "STATUS_RUNNING",
    "STATUS_SUSPENDED",
    "pyll",
)
#: Hyperopt algorithms whose intent archtune's own default serves (``sampler`` decides).
_MODEL_BASED = ("hyperopt.tpe", "hyperopt.atpe", "hyperopt.anneal")


def __getattr__(name: str) -> Any:
    if name in _HYPEROPT_NAMES:
        module = require("hyperopt", extra="hyperopt", feature="archtune.interop.hyperopt")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def from_hyperopt(space: Any) -> Space:
    """The archtune :class:`~archtune.space.Space` of a Hyperopt space.

    Each label becomes a parameter of the same name; a label inside an ``hp.choice`` branch
    exists only ``when`` that branch is chosen (nested choices included). ``hp.choice`` options
    that are all constants are the choice's options, otherwise the branch indices.

    Example:
        >>> from hyperopt import hp
        >>> space = from_hyperopt({"act": hp.choice("act", ["relu", "tanh"]),
        ...                        "units": hp.uniformint("units", 16, 256)})
        >>> space["act"].options, space["units"].to_dict()
        (('relu', 'tanh'), {'type': 'int', 'low': 16, 'high': 256})

    Raises:
        ConfigError: an expression archtune cannot convert (``scope.*`` arithmetic on a
            parameter, bounds set by another parameter), named by its label.

    Warns:
        ConversionWarning: once per unbounded normal (searched over mu ± 3 sigma) and per
            ``hp.pchoice`` (its weights are not used).
    """
    return convert_hyperopt(space, stacklevel=3).space


def space_eval(space: Any, hp_assignment: Mapping[str, Any]) -> Any:
    """Hyperopt's ``space_eval``: the point of ``space`` for labels in Hyperopt's convention."""
    module = require("hyperopt", extra="hyperopt", feature="archtune.interop.hyperopt")
    return module.space_eval(space, dict(hp_assignment))


def get_reporter() -> Reporter | None:
    """The running trial's reporter (its number, seed, checkpoints), or ``None`` outside one."""
    return BINDING.current()


def report(step: int, **metrics: float) -> Decision:
    """Report ``fn``'s intermediate metrics (``loss`` among them) for early stopping.

    Returns :attr:`Decision.STOP` when archtune's scheduler stopped the trial: ``fn`` should
    then return its current loss. Outside a trial run by archtune (``fn`` called directly, or
    by Hyperopt's own ``fmin``) it does nothing and returns :attr:`Decision.CONTINUE`.

    Example:
        >>> def fn(point):
        ...     for epoch in range(1, 11):
        ...         loss = 1.0 / epoch
        ...         if report(epoch, loss=loss) is Decision.STOP:
        ...             break
        ...     return loss
        >>> fn({})
        0.1
    """
    reporter = BINDING.current()
    if reporter is None:
        return Decision.CONTINUE
    return reporter.report(step, **metrics)


def _sampler_of(algo: Any, sampler: str | None) -> str:
    if algo is None:
        return sampler or "auto"
    function = algo.func if isinstance(algo, functools.partial) else algo
    module = getattr(function, "__module__", "") or ""
    if module == "hyperopt.rand":
        return sampler or "random"
    if module in _MODEL_BASED:
        return sampler or "auto"
    raise ConfigError(
        f"fmin: algo must be one of Hyperopt's tpe.suggest, atpe.suggest, anneal.suggest, "
        f"rand.suggest or None, got {algo!r}; pass sampler= to choose archtune's sampler"
    )


def _seed_of(rstate: Any, seed: int | None) -> int | None:
    if seed is not None or rstate is None:
        return seed
    integers = getattr(rstate, "integers", None)
    if integers is None:
        raise ConfigError(
            f"fmin: rstate must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rstate).__name__}"
        )
    return int(integers(2**31 - 1))


_UNSUPPORTED = {
    "loss_threshold": "stop on max_evals or timeout",
    "early_stop_fn": "stop on max_evals or timeout; early stopping within trials: report()",
    "pass_expr_memo_ctrl": "take the point as fn's only argument",
    "trials_save_file": "pass storage= (an SQLite URL) and resume=True to continue",
}


def fmin(
    fn: Callable[[Any], Any] | str,
    space: Any,
    algo: Any = None,
    max_evals: int | None = None,
    timeout: float | None = None,
    loss_threshold: float | None = None,
    trials: Any = None,
    rstate: Any = None,
    allow_trials_fmin: bool = True,
    pass_expr_memo_ctrl: Any = None,
    catch_eval_exceptions: bool = False,
    verbose: bool = True,
    return_argmin: bool = True,
    points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
    max_queue_len: int = 1,
    show_progressbar: bool = True,
    early_stop_fn: Any = None,
    trials_save_file: str = "",
    **tune_options: Any,
) -> Any:
    """Hyperopt's ``fmin``, run by archtune: minimise ``fn`` over ``space``.

    Args:
        fn: ``fn(point)`` returning a loss or ``{"loss": ..., "status": STATUS_OK}``
            (``STATUS_FAIL``: a failed trial). A module-level function (worker processes
            import it) or ``"module:function"``. It may call :func:`report` each epoch.
        space: A Hyperopt space (see :func:`from_hyperopt`).
        algo: ``tpe.suggest``, ``atpe.suggest``, ``anneal.suggest`` or ``None``: archtune's
            sampler (``sampler=``, default ``auto``); ``rand.suggest``: random search.
        max_evals: Trials that must reach an end (``n_trials``).
        timeout: Seconds after which no new trial starts and running ones end.
        trials: ``None`` or an empty ``hyperopt.Trials``, which is filled with the results
            (``trials.losses()``, ``trials.best_trial``, ``trials.argmin``).
        rstate: A ``numpy.random.Generator``: seeds the search (``seed=`` overrides).
        return_argmin: ``True``: the best labels (Hyperopt's convention: a choice's index);
            ``False``: the best point (``space_eval`` of it).
        allow_trials_fmin, catch_eval_exceptions, verbose, max_queue_len, show_progressbar:
            Accepted for compatibility. archtune records an exception in ``fn`` as a failed
            trial and goes on (``max_consecutive_failures`` in a row stop the study).
        points_to_evaluate: Points tried first, in Hyperopt's convention (``{label: value}``,
            a choice's branch index), as Hyperopt takes them; a resumed study ignores them.
        loss_threshold, early_stop_fn, pass_expr_memo_ctrl, trials_save_file: Not supported:
            a value other than the default is an error that says what to do instead.
        **tune_options: Any keyword of :func:`archtune.tune` (``n_workers``, ``sampler``,
            ``scheduler``, ``storage``, ``study_name``, ``resume``, ``seed``, ...).

    Returns:
        The best labels, or the best point with ``return_argmin=False`` (``None`` when no
        trial succeeded).

    Raises:
        hyperopt.exceptions.AllTrialsFailed: ``return_argmin`` and no trial succeeded.
        ConfigError: a space archtune cannot convert, or an unsupported argument.
    """
    module = require("hyperopt", extra="hyperopt", feature="archtune.interop.hyperopt.fmin")
    from archtune._api import tune
    from archtune.interop._hyperopt_objective import HyperoptObjective

    given = {
        "loss_threshold": loss_threshold,
        "early_stop_fn": early_stop_fn,
        "pass_expr_memo_ctrl": pass_expr_memo_ctrl,
        "trials_save_file": trials_save_file or None,
    }
    for name, value in given.items():
        if value is not None:
            raise ConfigError(
                f"fmin: {name} is not supported by archtune's fmin, got {value!r}; "
                f"{_UNSUPPORTED[name]}"
            )
    if max_evals is None and timeout is None:
        raise ConfigError("fmin: max_evals must be an integer >= 1 (or set timeout), got None")
    if trials is not None:
        if not isinstance(trials, module.Trials) or type(trials) is not module.Trials:
            raise ConfigError(
                f"fmin: trials must be None or a hyperopt.Trials, got {type(trials).__name__}; "
                "archtune keeps its trials in storage= (MongoTrials and SparkTrials are not used)"
            )
        if len(trials.trials):
            raise ConfigError(
                f"fmin: trials must be empty, got one holding {len(trials.trials)} trials; "
                "archtune continues a search from its storage: pass storage=, study_name= and "
                "resume=True"
            )
    if "objectives" in tune_options:
        raise ConfigError("fmin: objectives is always {'loss': 'min'}; remove objectives=")
    sampler = _sampler_of(algo, tune_options.pop("sampler", None))
    seed = _seed_of(rstate, tune_options.pop("seed", None))
    converted = convert_hyperopt(space, stacklevel=3)
    starts = [
        _config_of(point, converted.space, f"points_to_evaluate[{i}]")
        for i, point in enumerate(points_to_evaluate or ())
    ]
    result = tune(
        HyperoptObjective(fn, converted),
        converted.space,
        objectives={"loss": "min"},
        n_trials=max_evals if max_evals is not None else 2**31 - 1,
        timeout=timeout,
        sampler=sampler,
        seed=seed,
        starting_points=starts,
        **tune_options,
    )
    if trials is not None:
        _fill_trials(trials, result, converted)
    completed = [t for t in result.trials if t.status == "complete" and t.values is not None]
    if not completed:
        if return_argmin:
            raise module.exceptions.AllTrialsFailed(
                f"fmin: no trial of {len(result.trials)} succeeded; the trials' errors are in "
                "the study (archtune show) or in trials= when given"
            )
        return None
    best = result.best_trial
    return converted.used(best.config) if return_argmin else converted.point(best.config)


def _index(value: Any) -> int:
    """A branch index (``-1`` when ``value`` is not a whole number)."""
    if isinstance(value, bool):
        return -1
    try:
        return operator.index(value)
    except TypeError:
        return int(value) if isinstance(value, float) and value.is_integer() else -1


def _config_of(point: Any, space: Space, where: str) -> dict[str, Any]:
    """A point in Hyperopt's convention as a configuration of ``space`` (indices to options)."""
    from archtune.space import Choice, Int

    if not isinstance(point, Mapping):
        raise ConfigError(f"fmin: {where} must be a dict of labels to values, got {point!r}")
    config: dict[str, Any] = {}
    for label, param in space.items():
        if not space.is_active(label, config):
            continue
        if label not in point:
            raise ConfigError(
                f"fmin: {where} must give {label!r}, which the other values make active, "
                f"got labels {sorted(point)}"
            )
        value = point[label]
        if isinstance(param, Choice):
            index = _index(value)
            if not 0 <= index < len(param.options):
                raise ConfigError(
                    f"fmin: {where}.{label} must be a branch index of hp.choice {label!r} "
                    f"(0 to {len(param.options) - 1}), got {value!r}"
                )
            value = param.options[index]
        elif isinstance(param, Int) and isinstance(value, float) and value.is_integer():
            value = int(value)
        if not param.contains(value):
            raise ConfigError(
                f"fmin: {where}.{label} must lie in {param.to_dict()}, got {value!r}"
            )
        config[label] = value
    return config


def _fill_trials(trials: Any, result: TuneResult, converted: ConvertedSpace) -> None:
    """Record archtune's trials in a ``hyperopt.Trials``, as Hyperopt's own fmin would."""
    from hyperopt.base import JOB_STATE_DONE

    ended = [t for t in result.trials if t.status in ("complete", "stopped", "failed")]
    tids = trials.new_trial_ids(len(ended))
    docs = []
    for tid, trial in zip(tids, ended, strict=True):
        used = converted.used(trial.config)
        misc = {
            "tid": tid,
            "cmd": ("domain_attachment", "FMinIter_Domain"),
            "workdir": None,
            "idxs": {label: [tid] if label in used else [] for label in converted.space},
            "vals": {label: [used[label]] if label in used else [] for label in converted.space},
        }
        if trial.status == "failed" or trial.values is None:
            outcome: dict[str, Any] = {"status": STATUS_FAIL, "failure": trial.error}
        else:
            numbers = {k: v for k, v in trial.metrics.items() if isinstance(v, int | float)}
            outcome = {**numbers, "loss": float(trial.values[0]), "status": STATUS_OK}
            if trial.status == "stopped":
                outcome["archtune_status"] = "stopped"
        (doc,) = trials.new_trial_docs([tid], [None], [outcome], [misc])
        doc["state"] = JOB_STATE_DONE  # as Hyperopt records a STATUS_FAIL result
        docs.append(doc)
    trials.insert_trial_docs(docs)
    trials.refresh()
