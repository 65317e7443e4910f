"""Run trials in a pool of local worker processes (spawned, one thread each by default)."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import pickle
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from archtune._errors import ArchtuneError, ObjectiveError
from archtune._reporter import Decision
from archtune.execution._base import BaseExecutor
from archtune.execution._objective import ObjectiveRef
from archtune.execution._protocol import (
    Event,
    TrialDone,
    TrialError,
    TrialTask,
    WorkerLost,
)
from archtune.execution._worker import THREAD_ENV_VARS, StartupFailed, worker_main

__all__ = ["LocalExecutor"]

_MAX_RESTARTS_WITHOUT_PROGRESS = 5


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    number: int | None = None  # the trial it runs


class LocalExecutor(BaseExecutor):
    """A pool of ``n_workers`` spawned processes on this machine.

    Workers are long-lived (the objective's module is imported once per worker, not once per
    trial) and disposable: a worker that dies is reported as :class:`WorkerLost` for the trial
    it ran and replaced by a fresh one. Workers never run the driver's ``__main__`` (as Ray's
    do not): an objective defined there travels by value (:class:`ObjectiveRef`), so a
    notebook, ``python -c``, code read from stdin and a script without the
    ``if __name__ == "__main__":`` guard all work.

    Args:
        n_workers: How many trials run at once.
        threads_per_worker: ``OMP_NUM_THREADS`` (and torch's thread count) in each worker.
    """

    def __init__(self, n_workers: int, *, threads_per_worker: int = 1) -> None:
        if n_workers < 1:
            raise ValueError(f"n_workers must be an integer >= 1, got {n_workers}")
        self._n_workers = n_workers
        self._threads = threads_per_worker
        self._ctx = mp.get_context("spawn")
        self._workers: list[_Worker] = []
        self._objective: ObjectiveRef | None = None
        self._payload = b""
        self._metric_names: list[str] = []
        self._restarts_without_progress = 0

    # -- life cycle -----------------------------------------------------------------------
    def start(self, objective: ObjectiveRef, *, metric_names: list[str]) -> None:
        self._objective = objective
        self._payload = pickle.dumps(objective)  # once: unpickled by each worker itself
        self._metric_names = list(metric_names)
        with self._thread_env():
            self._workers = [self._spawn() for _ in range(self._n_workers)]

    @contextlib.contextmanager
    def _thread_env(self) -> Iterator[None]:
        """Set the thread variables that spawned workers inherit, then restore ours."""
        saved = {name: os.environ.get(name) for name in THREAD_ENV_VARS}
        for name in THREAD_ENV_VARS:
            os.environ[name] = str(self._threads)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def _spawn(self) -> _Worker:
        if self._objective is None:
            raise ArchtuneError("LocalExecutor.start() must be called before submitting trials")
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=worker_main,
            args=(child_conn, self._payload, self._metric_names, os.getpid()),
            name="archtune-worker",
            daemon=True,
        )
        with _main_module_hidden():
            process.start()
        child_conn.close()
        return _Worker(process, parent_conn)

    def shutdown(self) -> list[int]:
        cut_short = [w.number for w in self._workers if w.number is not None]
        for worker in self._workers:
            if worker.number is None and worker.process.is_alive():
                with contextlib.suppress(OSError):
                    worker.conn.send(None)
        for worker in self._workers:
            if worker.number is not None and worker.process.is_alive():
                worker.process.kill()
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.conn.close()
        self._workers = []
        return cut_short

    # -- scheduling -----------------------------------------------------------------------
    @property
    def n_free(self) -> int:
        return sum(1 for w in self._workers if w.number is None)

    @property
    def running(self) -> list[int]:
        return [w.number for w in self._workers if w.number is not None]

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the workers (for tests and fault injection)."""
        return [w.process.pid for w in self._workers if w.process.pid is not None]

    def submit(self, task: TrialTask) -> None:
        worker = next((w for w in self._workers if w.number is None), None)
        if worker is None:
            raise ArchtuneError("no free worker: check n_free before submit()")
        worker.number = task.number
        # A dead worker cannot take it; poll() then reports WorkerLost from its sentinel.
        with contextlib.suppress(OSError):
            worker.conn.send(task)

    def cancel(self, number: int) -> None:
        for index, worker in enumerate(self._workers):
            if worker.number == number:
                worker.process.kill()  # SIGKILL: a trial stuck in C code ignores anything less
                worker.process.join(timeout=5)
                worker.conn.close()
                with self._thread_env():
                    self._workers[index] = self._spawn()
                return

    def answer(self, number: int, decision: Decision) -> None:
        for worker in self._workers:
            if worker.number == number:
                with contextlib.suppress(OSError):
                    worker.conn.send(decision)
                return

    def poll(self, timeout: float) -> list[Event]:
        handles: list[object] = [w.conn for w in self._workers]
        handles += [w.process.sentinel for w in self._workers]
        ready = set(wait(handles, timeout=timeout))  # type: ignore[arg-type]
        events: list[Event] = []
        for index, worker in enumerate(list(self._workers)):
            dead = worker.process.sentinel in ready
            if worker.conn in ready or dead:
                events += self._drain(worker)
            if dead or not worker.process.is_alive():
                events += self._replace(index, worker)
        return events

    def _drain(self, worker: _Worker) -> list[Event]:
        events: list[Event] = []
        try:
            while worker.conn.poll():
                message = worker.conn.recv()
                if isinstance(message, StartupFailed):
                    raise ObjectiveError(str(message))
                if isinstance(message, TrialDone | TrialError):
                    worker.number = None
                    self._restarts_without_progress = 0
                events.append(message)
        except (EOFError, OSError):
            pass  # died mid-message; the sentinel tells
        return events

    def _replace(self, index: int, worker: _Worker) -> list[Event]:
        worker.process.join(timeout=5)
        events: list[Event] = []
        if worker.number is not None:
            code = worker.process.exitcode
            events.append(WorkerLost(worker.number, _describe_exit(code), {"exitcode": code}))
        worker.conn.close()
        self._restarts_without_progress += 1
        if self._restarts_without_progress > _MAX_RESTARTS_WITHOUT_PROGRESS * self._n_workers:
            raise ArchtuneError(
                f"worker processes keep dying ({self._restarts_without_progress} in a row, last: "
                f"{_describe_exit(worker.process.exitcode)}); stopping"
            )
        with self._thread_env():
            self._workers[index] = self._spawn()
        return events


@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Keep a spawned worker from running the driver's ``__main__`` again.

    ``multiprocessing``'s spawn re-runs the parent's main script (from ``__main__.__file__``,
    or ``__spec__`` under ``python -m``) in every child, as ``__mp_main__``: without the
    ``if __name__ == "__main__":`` guard the child calls ``tune()`` again and dies, and code read
    from stdin (``__file__`` is ``"<stdin>"``) cannot be re-run at all. The worker needs nothing
    from it (what names ``__main__`` is sent by value), so both attributes read ``None`` while
    ``Process.start()`` writes the child's preparation data, and are put back at once.
    """
    main = sys.modules.get("__main__")
    saved = {
        attr: getattr(main, attr)
        for attr in ("__file__", "__spec__")
        if getattr(main, attr, None) is not None
    }
    try:
        for attr in saved:
            setattr(main, attr, None)
        yield
    finally:
        for attr, value in saved.items():
            setattr(main, attr, value)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "worker process did not exit"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"worker process was killed by {signal.Signals(-code).name}"
        return f"worker process was killed by signal {-code}"
    return f"worker process exited with code {code}"
