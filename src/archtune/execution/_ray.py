"""Run trials on a Ray cluster: one long-lived actor per worker, messages over Ray calls.

Design. Each worker is a threaded Ray actor that loads the objective once and runs trials one
after another in a thread of its own. The actor keeps three in-process queues: tasks, decisions
and an outbox of :mod:`~archtune.execution._protocol` messages. The driver always holds one
outstanding ``events(timeout)`` call per actor (a long poll that blocks in the actor until a
message is ready or ``timeout`` passes), so :meth:`RayExecutor.poll` is a single ``ray.wait``
over those calls: no busy waiting on either side, and a report reaches the driver as soon as it
is sent. Answers and tasks are one-way actor calls. An actor that dies makes its pending call
fail with a :class:`ray.exceptions.RayError`, which becomes :class:`WorkerLost`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import sys
import threading
from dataclasses import dataclass
from typing import Any

from archtune._errors import ArchtuneError, ObjectiveError
from archtune._imports import require
from archtune._reporter import Decision
from archtune.execution._base import BaseExecutor
from archtune.execution._objective import ObjectiveRef, accepts_reporter, extend_sys_path
from archtune.execution._protocol import Event, TrialDone, TrialError, TrialTask, WorkerLost
from archtune.execution._worker import StartupFailed, run_task

__all__ = ["RayExecutor"]

logger = logging.getLogger("archtune")

_AUTH_MODE = "RAY_AUTH_MODE"
"""Ray's switch for token authentication (Ray >= 2.52): ``token`` or ``disabled``."""

_LONG_POLL_S = 5.0
"""How long one ``events`` call waits in the actor before it returns nothing."""
_MAX_RESTARTS_WITHOUT_PROGRESS = 5
_RESOURCE_KEYS = ("cpus", "gpus")


def _ray() -> Any:
    return require("ray", extra="ray", feature="the Ray executor")


# -- the actor side -------------------------------------------------------------------------
class _QueueConnection:
    """What :func:`run_task` talks to: sends go to the outbox, ``recv`` waits for a decision."""

    def __init__(self, outbox: queue.Queue[Any], decisions: queue.Queue[Decision]) -> None:
        self._outbox = outbox
        self._decisions = decisions

    def send(self, message: Any) -> None:
        self._outbox.put(message)

    def recv(self) -> Decision:
        return self._decisions.get()


class _RayWorker:
    """The body of a worker actor (wrapped with ``ray.remote`` by :class:`RayExecutor`)."""

    def __init__(
        self, payload: tuple[tuple[str, ...], tuple[str, ...], bytes], metric_names: list[str]
    ) -> None:
        self._tasks: queue.Queue[TrialTask | None] = queue.Queue()
        self._decisions: queue.Queue[Decision] = queue.Queue()
        self._outbox: queue.Queue[Any] = queue.Queue()
        self._failed: str | None = None
        search_path, fallback_path, blob = payload
        try:
            extend_sys_path(search_path, fallback_path)  # before unpickling a function by name
            objective: ObjectiveRef = pickle.loads(blob)
            fn = objective.load()
            with_reporter = accepts_reporter(fn)
        except Exception as exc:
            self._failed = f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
            return
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        connection = _QueueConnection(self._outbox, self._decisions)

        def loop() -> None:
            while (task := self._tasks.get()) is not None:
                message = run_task(
                    fn,
                    task,
                    connection,  # type: ignore[arg-type]  # duck-typed Connection
                    with_reporter=with_reporter,
                    metric_names=metric_names,
                )
                self._outbox.put(message)

        threading.Thread(target=loop, name="archtune-trial", daemon=True).start()

    def pid(self) -> int:
        return os.getpid()

    def submit(self, task: TrialTask) -> None:
        self._tasks.put(task)

    def answer(self, decision: Decision) -> None:
        self._decisions.put(decision)

    def events(self, timeout: float) -> list[Any]:
        """Wait up to ``timeout`` seconds for messages; return all that are ready."""
        if self._failed is not None:
            return [StartupFailed(self._failed)]
        try:
            messages = [self._outbox.get(timeout=timeout)]
        except queue.Empty:
            return []
        with contextlib.suppress(queue.Empty):
            while True:
                messages.append(self._outbox.get_nowait())
        return messages


# -- the driver side ------------------------------------------------------------------------
@dataclass
class _Actor:
    handle: Any
    pending: Any  # the ObjectRef of the outstanding ``events`` call
    number: int | None = None  # the trial it runs


class RayExecutor(BaseExecutor):
    """Run trials as Ray actors, on this machine or on a Ray cluster.

    Each of the ``n_workers`` actors reserves ``resources`` for its whole life, loads the
    objective once (it travels once through Ray's object store) and runs trials one after
    another. An actor that dies (killed process, lost node) is reported as
    :class:`WorkerLost` for its trial and replaced.

    Args:
        n_workers: How many trials run at once.
        address: ``None`` uses the Ray this process is connected to if there is one, or else
            starts a new local Ray that :meth:`shutdown` stops (never one named by
            ``RAY_ADDRESS`` or started by ``ray start``: joining is explicit); ``"auto"`` or
            ``"HOST:PORT"`` joins a running cluster (left running). The local Ray has no
            dashboard and keeps Ray's token authentication (on by default in recent Ray;
            a warning if ``RAY_AUTH_MODE`` turns it off): Ray's own servers listen on every
            network interface, and the token is what keeps others out.
        resources: Per trial: ``{"cpus": 1, "gpus": 0}`` (fractions allowed).
        runtime_env: Ray's runtime environment for the actors (``working_dir``,
            ``env_vars``, ``pip``...). When this executor starts a local Ray, the driver's
            own import path is passed on by default.
    """

    def __init__(
        self,
        n_workers: int,
        *,
        address: str | None = None,
        resources: dict[str, float] | None = None,
        runtime_env: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"n_workers must be an integer >= 1, got {n_workers!r}")
        wanted = {"cpus": 1.0, "gpus": 0.0} | dict(resources or {})
        unknown = sorted(set(wanted) - set(_RESOURCE_KEYS))
        if unknown:
            raise ValueError(f"resources may only set cpus and gpus, got {', '.join(unknown)}")
        for key, value in wanted.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"resources.{key} must be a number >= 0, got {value!r}")
        self._n_workers = n_workers
        self._address = address
        self._resources = {key: float(value) for key, value in wanted.items()}
        self._runtime_env = dict(runtime_env) if runtime_env is not None else None
        self._actors: list[_Actor] = []
        self._actor_class: Any = None
        self._payload: Any = None
        self._metric_names: list[str] = []
        self._owns_ray = False
        self._restarts_without_progress = 0

    # -- life cycle -----------------------------------------------------------------------
    def start(self, objective: ObjectiveRef, *, metric_names: list[str]) -> None:
        ray = _ray()
        runtime_env = self._runtime_env
        if not ray.is_initialized():
            if self._address is None:
                if runtime_env is None:
                    runtime_env = {"env_vars": {"PYTHONPATH": _import_path(objective)}}
                _warn_if_token_auth_is_off()
            ray.init(
                # "local": a new Ray, even where RAY_ADDRESS or `ray start` names another.
                address=self._address if self._address is not None else "local",
                include_dashboard=False,
                logging_level=logging.WARNING,
                log_to_driver=True,
            )
            self._owns_ray = True
        self._check_resources(ray)
        self._metric_names = list(metric_names)
        threads = max(1, int(self._resources["cpus"]))
        options: dict[str, Any] = {
            "num_cpus": self._resources["cpus"],
            "num_gpus": self._resources["gpus"],
            "max_concurrency": 4,  # the trial runs in its own thread; these are the calls
            "max_restarts": 0,
        }
        env_vars = {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        runtime_env = dict(runtime_env or {})
        runtime_env["env_vars"] = env_vars | dict(runtime_env.get("env_vars", {}))
        options["runtime_env"] = runtime_env
        self._actor_class = ray.remote(_RayWorker).options(**options)
        self._payload = ray.put(
            (objective.search_path, objective.fallback_path, pickle.dumps(objective))
        )
        self._actors = [self._spawn() for _ in range(self._n_workers)]

    def _check_resources(self, ray: Any) -> None:
        total = ray.cluster_resources()
        for key, name in (("cpus", "CPU"), ("gpus", "GPU")):
            if self._resources[key] > float(total.get(name, 0.0)):
                logger.warning(
                    "each Ray trial needs %g %s but the cluster has %g now; trials wait until "
                    "a node that has them joins",
                    self._resources[key],
                    name,
                    float(total.get(name, 0.0)),
                )

    def _spawn(self) -> _Actor:
        if self._actor_class is None:
            raise ArchtuneError("RayExecutor.start() must be called before submitting trials")
        handle = self._actor_class.remote(self._payload, self._metric_names)
        return _Actor(handle, handle.events.remote(_LONG_POLL_S))

    def shutdown(self) -> list[int]:
        cut_short = self.running
        if self._actors:
            ray = _ray()
            for actor in self._actors:
                with contextlib.suppress(Exception):
                    ray.kill(actor.handle, no_restart=True)
        self._actors = []
        self._payload = None
        if self._owns_ray:
            _ray().shutdown()
            self._owns_ray = False
        return cut_short

    # -- scheduling -----------------------------------------------------------------------
    @property
    def n_free(self) -> int:
        return sum(1 for a in self._actors if a.number is None)

    @property
    def running(self) -> list[int]:
        return [a.number for a in self._actors if a.number is not None]

    def submit(self, task: TrialTask) -> None:
        actor = next((a for a in self._actors if a.number is None), None)
        if actor is None:
            raise ArchtuneError("no free worker: check n_free before submit()")
        actor.number = task.number
        actor.handle.submit.remote(task)  # a dead actor: poll() reports WorkerLost

    def answer(self, number: int, decision: Decision) -> None:
        for actor in self._actors:
            if actor.number == number:
                actor.handle.answer.remote(decision)
                return

    def cancel(self, number: int) -> None:
        for index, actor in enumerate(self._actors):
            if actor.number == number:
                with contextlib.suppress(Exception):
                    _ray().kill(actor.handle, no_restart=True)
                self._actors[index] = self._spawn()
                return

    def poll(self, timeout: float) -> list[Event]:
        ray = _ray()
        refs = [a.pending for a in self._actors]
        if not refs:
            return []
        ready, _ = ray.wait(refs, num_returns=1, timeout=max(0.0, timeout))
        if not ready:
            return []
        ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        done = set(ready)
        events: list[Event] = []
        for index, actor in enumerate(list(self._actors)):
            if actor.pending not in done:
                continue
            try:
                messages = ray.get(actor.pending)
            except ray.exceptions.RayError as exc:
                events += self._replace(index, actor, exc)
                continue
            for message in messages:
                if isinstance(message, StartupFailed):
                    raise ObjectiveError(str(message))
                if isinstance(message, TrialDone | TrialError):
                    actor.number = None
                    self._restarts_without_progress = 0
                events.append(message)
            actor.pending = actor.handle.events.remote(_LONG_POLL_S)
        return events

    def _replace(self, index: int, actor: _Actor, exc: BaseException) -> list[Event]:
        with contextlib.suppress(Exception):
            _ray().kill(actor.handle, no_restart=True)
        reason = _describe_loss(exc)
        events: list[Event] = []
        if actor.number is not None:
            details = {"error": type(exc).__name__, "message": str(exc)[:2000]}
            events.append(WorkerLost(actor.number, reason, details))
        self._restarts_without_progress += 1
        if self._restarts_without_progress > _MAX_RESTARTS_WITHOUT_PROGRESS * self._n_workers:
            raise ArchtuneError(
                f"Ray workers keep dying ({self._restarts_without_progress} in a row, last: "
                f"{reason}); stopping"
            )
        self._actors[index] = self._spawn()
        return events


def _warn_if_token_auth_is_off() -> None:
    """Warn when ``RAY_AUTH_MODE`` turns off the token the local Ray would require.

    Ray (2.60 at least) binds its servers (GCS, raylet, the workers' and this driver's gRPC
    ports) to every network interface with no setting to change that, so its token, required
    by default for a new local Ray while ``RAY_AUTH_MODE`` is unset, is what keeps other
    machines out. (Setting the variable here would not do: Ray reads it once per process.)
    """
    mode = os.environ.get(_AUTH_MODE)
    if mode is not None and mode.strip().lower() != "token":
        logger.warning(
            "%s=%s: the local Ray archtune starts takes connections without a token, and "
            "Ray listens on every network interface; anyone who can reach this machine can "
            "run code in it. Unset %s (or set it to token) to require Ray's token.",
            _AUTH_MODE,
            mode,
            _AUTH_MODE,
        )


def _describe_loss(exc: BaseException) -> str:
    """One line for the trial's error: why its Ray worker is gone (from Ray's message)."""
    name = type(exc).__name__
    text = str(exc)
    if getattr(exc, "preempted", False) or "node was preempted" in text:
        return f"Ray worker was lost: its node was preempted ({name})"
    if "because its node has died" in text:
        return f"Ray worker was lost with its node ({name})"
    if "killed by `ray.kill`" in text:
        return f"Ray worker was killed with ray.kill ({name})"
    if "worker process has died" in text:
        return f"Ray worker process died ({name})"
    return f"Ray worker was lost ({name})"


def _import_path(objective: ObjectiveRef) -> str:
    """The driver's import path (minus the interpreter's own), for actors on this machine.

    ``PYTHONPATH`` comes before the installed packages, so the objective's ``fallback_path``
    (the config's folder) stays out of it: each actor appends it to its ``sys.path`` instead.
    """
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    last = {os.path.realpath(p) for p in objective.fallback_path}
    entries = list(objective.search_path)
    for entry in sys.path:
        path = os.path.realpath(entry or os.getcwd())
        mine = os.path.isdir(path) and not any(path.startswith(p) for p in prefixes)
        if mine and path not in last:
            entries.append(path)
    existing = os.environ.get("PYTHONPATH", "")
    return os.pathsep.join(e for e in dict.fromkeys([*entries, *existing.split(os.pathsep)]) if e)
