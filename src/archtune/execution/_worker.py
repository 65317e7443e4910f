"""The code that runs inside a worker process: load the objective once, then run trials."""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from archtune._errors import ObjectiveError
from archtune._reporter import Decision
from archtune.backends._threads import training_threads
from archtune.execution._artifacts import ArtifactStore, CheckpointWarning, Curve
from archtune.execution._objective import ObjectiveFn, ObjectiveRef, accepts_reporter
from archtune.execution._protocol import Report, TrialDone, TrialError, TrialTask

__all__ = ["ConnectionReporter", "StartupFailed", "run_task", "worker_main"]

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
"""Set to the per-worker thread count before a worker starts (see ``LocalExecutor``)."""


class StartupFailed(Exception):
    """Sent by a worker whose objective could not be loaded; carries the message."""


NO_STORE_MESSAGE = (
    "reporter.checkpoint() kept nothing: this study has no artifact store (its storage is in "
    "memory or a database server). Set `artifacts:` in the config (tune(artifacts=...)) to a "
    "folder every worker can write"
)
_warned_no_store = False


def _warn_no_store() -> None:
    """Warn once per process that checkpoints are off (every later call is silent)."""
    global _warned_no_store
    if not _warned_no_store:
        _warned_no_store = True
        warnings.warn(NO_STORE_MESSAGE, CheckpointWarning, stacklevel=3)


class ConnectionReporter:
    """The :class:`~archtune.CheckpointReporter` of a worker.

    Each report is a round trip to the driver; checkpoints go straight to the study's artifact
    store (``task.artifacts``), in the folder of the trial's lineage, so a rerun finds what
    the attempt before it saved. Each checkpoint also keeps the lineage's reports so far: the
    earlier attempts' (those before this attempt's first step) and this one's.
    """

    def __init__(self, conn: Connection, task: TrialTask) -> None:
        self._conn = conn
        self._task = task
        self._stop = False
        self._store = None if task.artifacts is None else ArtifactStore(task.artifacts)
        self._lineage = task.number if task.lineage is None else task.lineage
        self._reports: Curve = []  # this attempt's
        self._earlier: Curve | None = None  # the lineage's before it, read at the first save
        self.last_metrics: dict[str, float] = {}

    @property
    def trial_number(self) -> int:
        return self._task.number

    @property
    def seed(self) -> int | None:
        return self._task.seed

    @property
    def should_stop(self) -> bool:
        return self._stop

    def report(self, step: int, **metrics: float) -> Decision:
        clean = {name: _to_float(name, value) for name, value in metrics.items()}
        self._conn.send(Report(self._task.number, int(step), clean))
        decision = self._conn.recv()
        self.last_metrics = clean
        if self._store is not None:
            self._reports.append((int(step), clean))
        if decision is Decision.STOP:
            self._stop = True
        return Decision(decision)

    @property
    def keeps_checkpoints(self) -> bool:
        return self._store is not None

    @property
    def resumes_paused(self) -> bool:
        """Whether this trial continues a population-based training member's paused
        segment: training goes on from a checkpoint that says it was stopped."""
        return self._task.resumes_paused

    def checkpoint(self, state: Any) -> None:
        if self._store is None:
            _warn_no_store()
            return
        if self._earlier is None:
            self._earlier = self._store.load_reports(self._lineage)
        first = self._reports[0][0] if self._reports else None
        earlier = [r for r in self._earlier if first is None or r[0] < first]
        self._store.save_checkpoint(
            self._lineage, state, trial=self._task.number, reports=earlier + self._reports
        )

    def restore(self, *, from_trial: int | None = None) -> Any | None:
        if self._store is None:
            return None
        return self._store.load_checkpoint(self._lineage if from_trial is None else from_trial)


def _to_float(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"reported metric {name!r} must be a number, got {value!r}") from None


def _to_metrics(
    result: Any, reporter: ConnectionReporter, metric_names: list[str]
) -> dict[str, Any]:
    """Turn what the objective returned into a metrics dict.

    A mapping is the metrics; a bare number is the value of the single objective; ``None``
    means "the last reported metrics".
    """
    if result is None:
        return dict(reporter.last_metrics)
    if isinstance(result, Mapping):
        return {str(k): _plain(v) for k, v in result.items()}
    if (isinstance(result, int | float) and not isinstance(result, bool)) or hasattr(
        result, "__float__"
    ):
        if len(metric_names) != 1:
            raise ObjectiveError(
                f"the objective returned one number ({result!r}) but the study has "
                f"{len(metric_names)} objectives ({', '.join(metric_names)}); return a dict "
                "of metrics"
            )
        return {metric_names[0]: float(result)}
    raise ObjectiveError(
        f"the objective must return a dict of metrics, a number or None, got {result!r}"
    )


def _plain(value: Any) -> Any:
    """A JSON-able form of a metric value (numpy scalars become floats)."""
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int):
        return value
    with contextlib.suppress(TypeError, ValueError):
        return float(value)  # NaN stays NaN: the driver fails the trial if it is an objective
    return repr(value)


def run_task(
    fn: ObjectiveFn,
    task: TrialTask,
    conn: Connection,
    *,
    with_reporter: bool,
    metric_names: list[str],
) -> TrialDone | TrialError:
    """Run one trial and return the message that ends it (never raises for user errors)."""
    reporter = ConnectionReporter(conn, task)
    start = time.perf_counter()
    try:
        result = fn(dict(task.config), reporter) if with_reporter else fn(dict(task.config))
        metrics = _to_metrics(result, reporter, metric_names)
    except ObjectiveError as exc:
        return TrialError(
            task.number, "config", str(exc), traceback.format_exc(), time.perf_counter() - start
        )
    except (BrokenPipeError, EOFError, ConnectionResetError):
        raise  # the driver is gone: let the worker exit
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        return TrialError(
            task.number, "error", message, traceback.format_exc(), time.perf_counter() - start
        )
    took = time.perf_counter() - start
    return TrialDone(task.number, metrics, reporter.should_stop, took, training_threads())


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when the driver dies (best effort elsewhere)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)


def worker_main(
    conn: Connection, objective: ObjectiveRef | bytes, metric_names: list[str], parent_pid: int
) -> None:
    """Entry point of a worker process.

    ``objective`` comes pickled (bytes), so that a failure to unpickle it (a module the
    worker cannot import) is sent to the driver as :class:`StartupFailed`, one line at once,
    instead of killing the process during ``multiprocessing``'s start-up.

    Ctrl-C is the driver's to handle: workers ignore SIGINT and are stopped by the driver.
    """
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if isinstance(objective, bytes):
            objective = pickle.loads(objective)
        if not isinstance(objective, ObjectiveRef):
            raise TypeError(f"a worker needs an ObjectiveRef, got {type(objective).__name__}")
        fn = objective.load()
        with_reporter = accepts_reporter(fn)
    except Exception as exc:
        conn.send(StartupFailed(str(exc) or type(exc).__name__))
        return
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    try:
        while True:
            task = conn.recv()
            if task is None:
                return
            conn.send(
                run_task(fn, task, conn, with_reporter=with_reporter, metric_names=metric_names)
            )
    except (BrokenPipeError, EOFError, ConnectionResetError):
        return
