"""The Optuna glue: experiments, samplers, objectives, schedulers, the driver and results."""

from archtune.search._constraints import Constraint, parse_constraints
from archtune.search._driver import (
    MAX_INFEASIBLE_IN_ROW,
    Driver,
    DriverStats,
    ProgressSink,
    TooManyFailuresError,
)
from archtune.search._experiment import Experiment
from archtune.search._lease import LeaseState, driver_of
from archtune.search._median import MedianScheduler
from archtune.search._objectives import Direction, Objectives
from archtune.search._result import (
    ENDED_UNFINISHED,
    TRIAL_STATUSES,
    TrialResult,
    TrialStatus,
    TuneResult,
    load_result,
)
from archtune.search._rung_guard import RungGuard
from archtune.search._rung_schedulers import (
    ASHAScheduler,
    HyperbandScheduler,
    MOASHAScheduler,
    rung_levels,
)
from archtune.search._samplers import (
    SAMPLER_NAMES,
    SAMPLERS,
    SamplerRequest,
    choose_sampler,
    make_sampler,
)
from archtune.search._scheduler_base import BaseScheduler, NoScheduler, StudyView
from archtune.search._schedulers import (
    SCHEDULER_NAMES,
    SCHEDULERS,
    SchedulerRequest,
    SchedulerSpec,
    make_scheduler,
)

__all__ = [
    "ENDED_UNFINISHED",
    "MAX_INFEASIBLE_IN_ROW",
    "SAMPLERS",
    "SAMPLER_NAMES",
    "SCHEDULERS",
    "SCHEDULER_NAMES",
    "TRIAL_STATUSES",
    "ASHAScheduler",
    "BaseScheduler",
    "Constraint",
    "Direction",
    "Driver",
    "DriverStats",
    "Experiment",
    "HyperbandScheduler",
    "LeaseState",
    "MOASHAScheduler",
    "MedianScheduler",
    "NoScheduler",
    "Objectives",
    "ProgressSink",
    "RungGuard",
    "SamplerRequest",
    "SchedulerRequest",
    "SchedulerSpec",
    "StudyView",
    "TooManyFailuresError",
    "TrialResult",
    "TrialStatus",
    "TuneResult",
    "choose_sampler",
    "driver_of",
    "load_result",
    "make_sampler",
    "make_scheduler",
    "parse_constraints",
    "rung_levels",
]
