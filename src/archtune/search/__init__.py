"""The Optuna glue: experiments, samplers, objectives, schedulers, the driver and results."""

from archtune.search._driver import (
    MAX_INFEASIBLE_IN_ROW,
    Driver,
    DriverStats,
    ProgressSink,
    TooManyFailuresError,
)
from archtune.search._experiment import Experiment
from archtune.search._objectives import Direction, Objectives
from archtune.search._result import TrialResult, TuneResult, load_result
from archtune.search._samplers import SAMPLER_NAMES, make_sampler
from archtune.search._scheduler import BaseScheduler, NoScheduler, StudyView

__all__ = [
    "MAX_INFEASIBLE_IN_ROW",
    "SAMPLER_NAMES",
    "BaseScheduler",
    "Direction",
    "Driver",
    "DriverStats",
    "Experiment",
    "NoScheduler",
    "Objectives",
    "ProgressSink",
    "StudyView",
    "TooManyFailuresError",
    "TrialResult",
    "TuneResult",
    "load_result",
    "make_sampler",
]
