"""Where trials run: the driver <-> worker protocol and the executors that speak it."""

from archtune.execution._artifacts import ArtifactStore
from archtune.execution._base import BaseExecutor
from archtune.execution._local import LocalExecutor
from archtune.execution._objective import ObjectiveRef
from archtune.execution._protocol import (
    Event,
    Report,
    TrialDone,
    TrialError,
    TrialTask,
    WorkerLost,
)
from archtune.execution._ray import RayExecutor
from archtune.execution._registry import (
    EXECUTOR_NAMES,
    EXECUTORS,
    ExecutorName,
    ExecutorRequest,
    make_executor,
)

__all__ = [
    "EXECUTORS",
    "EXECUTOR_NAMES",
    "ArtifactStore",
    "BaseExecutor",
    "Event",
    "ExecutorName",
    "ExecutorRequest",
    "LocalExecutor",
    "ObjectiveRef",
    "RayExecutor",
    "Report",
    "TrialDone",
    "TrialError",
    "TrialTask",
    "WorkerLost",
    "make_executor",
]
