"""Create, resume and repair the Optuna study behind an experiment."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
import time
import warnings
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from archtune._errors import StudyStateError
from archtune.search import _attrs as attrs
from archtune.search._experiment import Experiment
from archtune.search._samplers import make_sampler

__all__ = [
    "fail_running",
    "open_study",
    "release_study",
    "requeue",
    "storage_of",
    "study_exists",
]


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


def open_study(experiment: Experiment, *, resume: bool) -> optuna.Study:
    """Create the study, or reopen it when ``resume`` is true; never either implicitly.

    On resume the stored space and objectives must equal the experiment's, no live driver may
    hold the study, and trials a dead driver left RUNNING are marked failed and queued again.

    Raises:
        StudyStateError: the study exists without ``resume``, is missing with it, differs from
            the experiment, or is held by a running driver.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = _storage(experiment.storage)
    where = experiment.storage or "memory"
    exists = _study_exists(storage, experiment.name)
    if exists and not resume:
        study = optuna.load_study(study_name=experiment.name, storage=storage)
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
    if exists:
        study = optuna.load_study(study_name=experiment.name, storage=storage)
        _check_matches(study, experiment)
        _check_not_held(study)
        fail_running(study, "interrupted: its driver stopped (repaired on resume)")
        n_trials_so_far = len(study.get_trials(deepcopy=False))
        # A fresh seed stream: the same seed again would re-propose the first configurations.
        seed = None if experiment.seed is None else experiment.seed + n_trials_so_far
        study.sampler = _sampler(experiment, seed)
    else:
        study = optuna.create_study(
            storage=storage,
            study_name=experiment.name,
            directions=experiment.objectives.optuna_directions,
            sampler=_sampler(experiment, experiment.seed),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(experiment.objectives.names)
        study.set_user_attr(attrs.STUDY_VERSION, _version())
        study.set_user_attr(attrs.STUDY_SPACE, experiment.space.to_dict())
        study.set_user_attr(attrs.STUDY_OBJECTIVES, experiment.objectives.to_dict())
        for key, value in experiment.study_attrs.items():
            study.set_user_attr(key, value)
    study.set_user_attr(attrs.STUDY_CONFIG, experiment.to_record())
    study.set_user_attr(attrs.STUDY_DRIVER, _lease())
    return study


def release_study(study: optuna.Study) -> None:
    """Mark the study as held by no driver."""
    with contextlib.suppress(Exception):
        study.set_user_attr(attrs.STUDY_DRIVER, None)


def requeue(study: optuna.Study, trial: optuna.trial.FrozenTrial, *, next_attempt: bool) -> None:
    """Queue ``trial``'s parameters to run again as a new trial of the same lineage."""
    first, attempt = attrs.lineage(trial)
    study.enqueue_trial(
        trial.params,
        user_attrs={attrs.TRIAL_RETRY_OF: first, attrs.TRIAL_ATTEMPT: attempt + next_attempt},
        skip_if_exists=False,
    )


def _sampler(experiment: Experiment, seed: int | None) -> optuna.samplers.BaseSampler:
    return make_sampler(
        experiment.sampler,
        seed=seed,
        space=experiment.space,
        n_objectives=len(experiment.objectives.names),
        n_trials=experiment.n_trials,
        has_constraints=bool(experiment.constraints),
    )


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
    new_space = experiment.space.to_dict()
    if stored_space != new_space:
        names = sorted(set(stored_space) | set(new_space))
        diff = next(n for n in names if stored_space.get(n) != new_space.get(n))
        raise StudyStateError(
            f"cannot resume {experiment.name!r}: the space differs at parameter {diff!r} "
            f"(study: {stored_space.get(diff)}, config: {new_space.get(diff)}); resume with "
            "the original space or choose another name"
        )


def _check_not_held(study: optuna.Study) -> None:
    lease = study.user_attrs.get(attrs.STUDY_DRIVER)
    if not lease or lease.get("host") != socket.gethostname():
        return
    pid = int(lease.get("pid", -1))
    started = lease.get("pid_start")
    if pid != os.getpid() and started is not None and _process_start(pid) == started:
        raise StudyStateError(
            f"study {study.study_name!r} is being run by process {pid} on this machine "
            f"(since {lease.get('started')}); stop it first, or wait for it to finish"
        )


def fail_running(study: optuna.Study, reason: str) -> None:
    """Mark every RUNNING trial as interrupted (not counted) and queue it to run again.

    Only the driver that holds the study calls this: on resume, for the trials a dead driver
    left, and when its own run stops early.
    """
    storage = study._storage
    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        storage.set_trial_user_attr(trial._trial_id, attrs.TRIAL_FAILURE, "interrupted")
        storage.set_trial_user_attr(trial._trial_id, attrs.TRIAL_COUNTED, False)
        storage.set_trial_user_attr(trial._trial_id, attrs.TRIAL_ERROR, reason)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study.tell(trial.number, state=TrialState.FAIL)
        requeue(study, trial, next_attempt=False)


def _lease() -> dict[str, Any]:
    pid = os.getpid()
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "pid_start": _process_start(pid),
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _process_start(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (tells a live process from a reused pid)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except (OSError, ProcessLookupError):
        return None
    return "alive"


def _version() -> str:
    from archtune import __version__

    return __version__
