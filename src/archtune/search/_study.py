"""Create, resume and repair the Optuna study behind an experiment."""

from __future__ import annotations

import json
import logging
import time
import warnings
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from archtune._errors import StudyStateError
from archtune._redact import redact_url
from archtune._version import __version__
from archtune.search import _attrs as attrs
from archtune.search._experiment import Experiment
from archtune.search._lease import Lease, lease_state
from archtune.search._samplers import checked_constraints, known_cost, make_sampler

__all__ = [
    "close_waiting",
    "fail_running",
    "open_study",
    "requeue",
    "storage_of",
    "study_exists",
]

logger = logging.getLogger("archtune")


def _storage(url: str | None, *, attempts: int = 5) -> BaseStorage:
    """Open the storage; retry when another driver is creating the same schema right now.

    Two drivers that open a new, empty database at once both create Optuna's tables, and one
    loses the race (PostgreSQL: a unique violation on a type); a moment later the schema is
    there and opening it succeeds.
    """
    import sqlalchemy.exc

    for attempt in range(attempts):
        try:
            return optuna.storages.get_storage(url)
        except sqlalchemy.exc.SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")  # the loop returns or raises


def _study_exists(storage: BaseStorage, name: str | None) -> bool:
    if name is None:
        return False
    try:
        storage.get_study_id_from_name(name)
    except KeyError:
        return False
    return True


storage_of = _storage
"""Open an Optuna storage by URL (retrying a schema race): for other writers, like shrink."""

study_exists = _study_exists
"""Whether a study of that name is in the storage."""


def open_study(
    experiment: Experiment, *, resume: bool, lease_ttl_s: float | None = None
) -> tuple[optuna.Study, Lease]:
    """Create the study, or reopen it when ``resume`` is true; never either implicitly.

    On resume the stored space and objectives must equal the experiment's, no live driver may
    hold the study (see :mod:`archtune.search._lease`), and trials a driver that is gone left
    RUNNING are marked failed and queued again. The caller holds the returned lease (its
    heartbeat runs already) and releases it at the end.

    Raises:
        StudyStateError: the study exists without ``resume``, is missing with it, differs from
            the experiment, or is held by a live driver.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = _storage(experiment.storage)
    where = redact_url(experiment.storage) if experiment.storage else "memory"
    exists = _study_exists(storage, experiment.name)
    if exists and not resume:
        study = optuna.load_study(study_name=experiment.name, storage=storage)
        _check_not_held(study)
        n_done = sum(attrs.counts_toward_budget(t) for t in study.get_trials(deepcopy=False))
        raise StudyStateError(
            f"study {experiment.name!r} already exists in {where} ({n_done} trials finished); "
            "pass --resume (resume=True) to continue it, or choose another name"
        )
    if resume and not exists:
        raise StudyStateError(
            f"study {experiment.name!r} does not exist in {where}, so it cannot be resumed; "
            "run it without --resume to start it"
        )
    if exists and _replace_unfinished(storage, experiment):
        exists = False
    if exists:
        study = optuna.load_study(study_name=experiment.name, storage=storage)
        _check_matches(study, experiment)
        lease = Lease(study, ttl_s=lease_ttl_s)
        lease.take(new_study=False)  # refused while a live driver holds it
    else:
        study = optuna.create_study(
            storage=storage,
            study_name=experiment.name,
            directions=experiment.objectives.optuna_directions,
            sampler=_sampler(experiment, experiment.seed),
        )
        lease = Lease(study, ttl_s=lease_ttl_s)
        lease.take(new_study=True)
    try:
        if exists:
            fail_running(study, "interrupted: its driver stopped (repaired on resume)")
            n_trials_so_far = len(study.get_trials(deepcopy=False))
            # A fresh seed stream: the same seed again would re-propose the first configurations.
            seed = None if experiment.seed is None else experiment.seed + n_trials_so_far
            study.sampler = _sampler(experiment, seed)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names(experiment.objectives.names)
            study.set_user_attr(attrs.STUDY_VERSION, __version__)
            study.set_user_attr(attrs.STUDY_SPACE, experiment.space.to_dict())
            study.set_user_attr(attrs.STUDY_OBJECTIVES, experiment.objectives.to_dict())
            for key, value in experiment.study_attrs.items():
                study.set_user_attr(key, value)
        study.set_user_attr(attrs.STUDY_CONFIG, experiment.to_record())
        # The heartbeat has a connection of its own (the driver's may be busy for a while).
        lease.start_heartbeat(_storage(experiment.storage) if experiment.storage else None)
    except BaseException:
        lease.release()
        raise
    return study, lease


def requeue(study: optuna.Study, trial: optuna.trial.FrozenTrial, *, next_attempt: bool) -> None:
    """Queue ``trial``'s parameters to run again as a new trial of the same lineage."""
    first, attempt = attrs.lineage(trial)
    study.enqueue_trial(
        trial.params,
        user_attrs={attrs.TRIAL_RETRY_OF: first, attrs.TRIAL_ATTEMPT: attempt + next_attempt},
        skip_if_exists=False,
    )


def _sampler(experiment: Experiment, seed: int | None) -> optuna.samplers.BaseSampler:
    if not isinstance(experiment.sampler, str):
        return experiment.sampler  # the caller's own instance, as it is
    keeps = checked_constraints(experiment.constraints, experiment.precheck)
    return make_sampler(
        experiment.sampler,
        seed=seed,
        space=experiment.space,
        n_objectives=len(experiment.objectives.names),
        n_trials=experiment.n_trials,
        has_constraints=bool(experiment.constraints),
        # a constrained precheck may measure latency: too slow to run for every candidate
        cost=None
        if experiment.constraints and keeps is None
        else known_cost(experiment.objectives, experiment.precheck, experiment.shrink_moves),
        keeps=keeps,
    )


def _replace_unfinished(storage: BaseStorage, experiment: Experiment) -> bool:
    """On resume, let a corrected config replace a study in which no trial completed.

    A study whose every trial failed (a wrong space, objective or recipe) holds no result a
    corrected config could contradict: it is deleted, and the caller creates it again from the
    config. Returns whether it was replaced.
    """
    name = experiment.name
    if name is None:
        return False
    study = optuna.load_study(study_name=name, storage=storage)
    stored_space = study.user_attrs.get(attrs.STUDY_SPACE)
    stored_objectives = study.user_attrs.get(attrs.STUDY_OBJECTIVES)
    if stored_space is None or stored_objectives is None:
        return False  # not archtune's: _check_matches says so
    trials = study.get_trials(deepcopy=False)
    if any(t.state == TrialState.COMPLETE for t in trials):
        return False
    changed = [
        what
        for what, stored, new in (
            ("space", stored_space, experiment.space.to_dict()),
            ("objectives", stored_objectives, experiment.objectives.to_dict()),
            *(
                ("model, data or recipe", study.user_attrs.get(key), value)
                for key, value in experiment.study_attrs.items()
                if key == attrs.STUDY_BUILTIN
            ),
        )
        if _as_json(stored) != _as_json(new)
    ]
    if not changed:
        return False
    _check_not_held(study)
    optuna.delete_study(study_name=name, storage=storage)
    logger.info(
        "resume: no trial of study %r completed, so the config replaces the stored one "
        "(%s changed); its %d earlier trials were dropped",
        name,
        ", ".join(changed),
        len(trials),
    )
    return True


def _as_json(value: Any) -> Any:
    """``value`` as the storage keeps it (tuples become lists)."""
    return json.loads(json.dumps(value, default=str))


def _check_matches(study: optuna.Study, experiment: Experiment) -> None:
    stored_space = study.user_attrs.get(attrs.STUDY_SPACE)
    stored_objectives = study.user_attrs.get(attrs.STUDY_OBJECTIVES)
    if stored_space is None or stored_objectives is None:
        raise StudyStateError(
            f"study {experiment.name!r} was not created by archtune, so it cannot be resumed "
            "here; choose another name"
        )
    if stored_objectives != experiment.objectives.to_dict():
        raise StudyStateError(
            f"cannot resume {experiment.name!r}: its objectives are {stored_objectives}, the "
            f"config's are {experiment.objectives.to_dict()}; resume with the original "
            "objectives or choose another name"
        )
    _check_same_training(study, experiment)
    new_space = experiment.space.to_dict()
    if stored_space != new_space:
        names = sorted(set(stored_space) | set(new_space))
        diff = next(n for n in names if stored_space.get(n) != new_space.get(n))
        raise StudyStateError(
            f"cannot resume {experiment.name!r}: the space differs at parameter {diff!r} "
            f"(study: {stored_space.get(diff)}, config: {new_space.get(diff)}); resume with "
            "the original space or choose another name"
        )


def _check_same_training(study: optuna.Study, experiment: Experiment) -> None:
    """Built-in training resumed on other data or another network would mix two searches in
    one study: its trials would no longer be comparable."""
    stored = study.user_attrs.get(attrs.STUDY_BUILTIN)
    new = experiment.study_attrs.get(attrs.STUDY_BUILTIN)
    if not isinstance(stored, dict) or not isinstance(new, dict):
        return
    new = _as_json(new)
    for block in ("data", "model"):
        if stored.get(block) != new.get(block):
            raise StudyStateError(
                f"cannot resume {experiment.name!r}: its {block} was {stored.get(block)}, the "
                f"config's is {new.get(block)}; resume with the original {block} or choose "
                "another name"
            )


def _check_not_held(study: optuna.Study) -> None:
    state = lease_state(study.user_attrs.get(attrs.STUDY_DRIVER))
    if state.status == "live":
        raise StudyStateError(
            f"study {study.study_name!r} is {state.describe()}; wait for it or stop it"
        )


def fail_running(study: optuna.Study, reason: str) -> None:
    """Mark every RUNNING trial as interrupted (not counted) and queue it to run again.

    Only the driver that holds the study calls this: on resume, for the trials a dead driver
    left, and when its own run stops early.
    """
    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        try:
            _mark_uncounted(study, trial, "interrupted", reason)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                study.tell(trial.number, state=TrialState.FAIL)
        except (optuna.exceptions.UpdateFinishedTrialError, ValueError):
            continue  # it ended meanwhile (its driver's last write, as this one took over)
        requeue(study, trial, next_attempt=False)


def close_waiting(study: optuna.Study, reason: str) -> int:
    """Close every WAITING trial as cancelled (FAIL, not counted), with ``reason``.

    For a driver whose budget is spent: a trial queued to run again (an interrupted one's
    rerun) would otherwise wait in the study for a run that never comes. Each closed rerun
    names the trial it would have run again. Returns how many were closed.
    """
    storage = study._storage
    closed = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        first = trial.user_attrs.get(attrs.TRIAL_RETRY_OF)
        why = reason if first is None else f"{reason} (a rerun of trial {first})"
        try:
            _mark_uncounted(study, trial, attrs.CANCELLED, why)
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
        closed += 1
    return closed


def _mark_uncounted(
    study: optuna.Study, trial: optuna.trial.FrozenTrial, failure: str, reason: str
) -> None:
    """Record why ``trial`` ends without counting toward the budget (before its state is
    set): its kind of failure and its one-line reason."""
    storage = study._storage
    storage.set_trial_user_attr(trial._trial_id, attrs.TRIAL_FAILURE, failure)
    storage.set_trial_user_attr(trial._trial_id, attrs.TRIAL_COUNTED, False)
    storage.set_trial_user_attr(trial._trial_id, attrs.TRIAL_ERROR, reason)
