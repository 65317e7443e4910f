"""Names of the attributes archtune keeps in an Optuna study, and how to read them.

archtune keeps its own records as ordinary Optuna user attributes (prefixed ``archtune.``), so
optuna-dashboard and ``optuna`` commands show them as they are.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

__all__ = [
    "CANCELLED",
    "STUDY_ARTIFACTS",
    "STUDY_BUILTIN",
    "STUDY_CONFIG",
    "STUDY_DRIVER",
    "STUDY_OBJECTIVES",
    "STUDY_SPACE",
    "STUDY_VERSION",
    "TRIAL_ATTEMPT",
    "TRIAL_COST",
    "TRIAL_COUNTED",
    "TRIAL_CURVE",
    "TRIAL_ERROR",
    "TRIAL_FAILURE",
    "TRIAL_INHERITED",
    "TRIAL_METRICS",
    "TRIAL_PAUSED_AT",
    "TRIAL_PBT_PARENT",
    "TRIAL_PBT_START",
    "TRIAL_RETRY_OF",
    "TRIAL_START",
    "TRIAL_STOPPED_AT",
    "TRIAL_THREADS",
    "TRIAL_TRACEBACK",
    "counts_toward_budget",
    "is_infeasible",
    "lineage",
    "was_paused",
    "was_stopped",
]

STUDY_VERSION = "archtune.version"
STUDY_SPACE = "archtune.space"
STUDY_OBJECTIVES = "archtune.objectives"
STUDY_CONFIG = "archtune.config"
STUDY_DRIVER = "archtune.driver"
STUDY_BUILTIN = "archtune.builtin"
"""Built-in training's record (data, network, recipe, backend): what rebuilds its trials."""
STUDY_ARTIFACTS = "archtune.artifacts"
"""The study's artifact folder (trials' checkpoints), where ``--resume`` finds it again."""

TRIAL_METRICS = "archtune.metrics"
TRIAL_RUN_S = "archtune.run_s"
"""Seconds the objective ran in its worker: the trial's duration without the time it waited
(asked ahead, queued for a free worker), which Optuna's start and end times include."""
TRIAL_THREADS = "archtune.threads"
"""Torch's thread count in the worker that trained the trial (absent: no torch); an export
trains the trial again on as many (``backends/_threads.py``)."""
TRIAL_COST = "archtune.cost"
"""Cost known before training (``params``, ``flops``) from the experiment's precheck."""
TRIAL_CURVE = "archtune.curve"
TRIAL_INHERITED = "archtune.inherited_steps"
"""On a rerun: how many entries at the start of its curve are the attempts' before it (a rerun
that resumed from a checkpoint reports only the steps after it); not compute it spent."""
TRIAL_ERROR = "archtune.error"
TRIAL_TRACEBACK = "archtune.traceback"
TRIAL_FAILURE = "archtune.failure"
"""Why: ``error``, ``nan``, ``config``, ``worker_lost``, ``interrupted``, ``timeout``,
``infeasible`` or :data:`CANCELLED`."""
CANCELLED = "cancelled"
"""The failure of a queued trial closed unrun because the budget was spent first."""
TRIAL_COUNTED = "archtune.counted"
"""``False`` on a failed trial that the machinery cut short (it runs again) or cancelled."""
TRIAL_STOPPED_AT = "archtune.stopped_at"
"""The last step of a trial the scheduler stopped early."""
TRIAL_RETRY_OF = "archtune.retry_of"
TRIAL_START = "archtune.start"
"""Set on a trial queued as a starting point (``defaults``: the family's and recipe's)."""
TRIAL_ATTEMPT = "archtune.attempt"
TRIAL_PAUSED_AT = "archtune.pbt.paused_at"
"""Population-based training: the step at which this segment of a member paused (its member
goes on in a later trial of the same lineage, ``archtune.retry_of``)."""
TRIAL_PBT_START = "archtune.pbt.start"
"""Population-based training: the steps the member had trained when this segment started."""
TRIAL_PBT_PARENT = "archtune.pbt.parent"
"""Population-based training: the member (lineage) whose checkpoint this segment copied."""


def counts_toward_budget(trial: FrozenTrial) -> bool:
    """Whether ``trial`` reached an end that ``budget.trials`` counts.

    Complete and stopped-early trials count, and so do failures in the user's own code; a trial
    cut short by the machinery (a killed worker or driver, Ctrl-C) does not: it runs again.
    """
    if is_infeasible(trial) or was_paused(trial):
        return False
    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    if trial.state == TrialState.FAIL:
        return bool(trial.user_attrs.get(TRIAL_COUNTED, True))
    return False


def is_infeasible(trial: FrozenTrial) -> bool:
    """Whether ``trial`` was recorded as infeasible (never trained)."""
    return trial.user_attrs.get(TRIAL_FAILURE) == "infeasible"


def was_paused(trial: FrozenTrial) -> bool:
    """Whether ``trial`` is a segment of a population-based training member that paused (its
    member went on in a later trial)."""
    return TRIAL_PAUSED_AT in trial.user_attrs


def was_stopped(trial: FrozenTrial) -> bool:
    """Whether the scheduler stopped ``trial`` early (told PRUNED, or COMPLETE with the values
    it had when it stopped, capped by the completed trials', so that samplers learn from it)."""
    if is_infeasible(trial) or was_paused(trial):
        return False
    return trial.state == TrialState.PRUNED or (
        trial.state == TrialState.COMPLETE and TRIAL_STOPPED_AT in trial.user_attrs
    )


def lineage(trial: FrozenTrial | optuna.Trial) -> tuple[int, int]:
    """``(first trial number, attempt)`` of a trial that may be a retry of another."""
    attrs: dict[str, Any] = trial.user_attrs
    return int(attrs.get(TRIAL_RETRY_OF, trial.number)), int(attrs.get(TRIAL_ATTEMPT, 1))
