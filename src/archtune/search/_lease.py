"""The driver's lease on a study: who holds it, and whether that driver is still alive.

The lease is the study's ``archtune.driver`` user attribute: ``{host, pid, pid_start, pidns,
started, heartbeat, ttl_s, token}``. The driver that holds the study rewrites ``heartbeat`` (unix
time) every ``ttl_s / 6`` seconds from a small thread with a storage connection of its own; a
lease whose heartbeat is older than its ``ttl_s`` is expired (its driver is gone), and so is one
whose process is no longer there on this machine (same host and pid namespace: checked at once).
Another driver refuses a study with a live lease, and takes over an expired one on ``--resume``.

Taking over is not an atomic compare-and-swap (Optuna's storages have none): a driver writes its
lease, waits a moment and reads it back; and the heartbeat thread reads it before each write, so
a driver that finds another's lease in its place stops without touching the study again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import optuna
from optuna.storages import BaseStorage

from archtune._errors import StudyStateError
from archtune.search import _attrs as attrs

__all__ = [
    "DEFAULT_TTL_S",
    "HOSTNAME_ENV",
    "TTL_ENV",
    "Lease",
    "LeaseState",
    "driver_of",
    "hostname",
    "lease_state",
    "lease_ttl",
]

logger = logging.getLogger("archtune")

DEFAULT_TTL_S = 60.0
"""A lease expires this long after its last heartbeat (it beats every sixth of that)."""

HOSTNAME_ENV = "ARCHTUNE_HOSTNAME"
"""The host name a driver records in its lease instead of the machine's (for containers that
share a host name, and for tests that play a second machine)."""

TTL_ENV = "ARCHTUNE_LEASE_TTL"
"""The lease's time to live in seconds (default 60); short values are for tests."""

_SETTLE_S = 0.25  # between writing a lease on resume and reading it back
_HELD_HERE: set[str] = set()  # tokens of the leases this process holds now


def hostname() -> str:
    """The host name leases record: ``$ARCHTUNE_HOSTNAME``, else the machine's."""
    return os.environ.get(HOSTNAME_ENV) or socket.gethostname()


def lease_ttl() -> float:
    """The time to live of a new lease: ``$ARCHTUNE_LEASE_TTL`` seconds, else 60."""
    text = os.environ.get(TTL_ENV)
    if not text:
        return DEFAULT_TTL_S
    try:
        ttl = float(text)
    except ValueError:
        ttl = -1.0
    if not ttl > 0:
        raise StudyStateError(f"{TTL_ENV} must be a number of seconds > 0, got {text!r}")
    return ttl


@dataclass(frozen=True)
class LeaseState:
    """What a stored lease says about the driver that wrote it.

    Attributes:
        status: ``free`` (no driver), ``live`` (its heartbeat is recent) or ``gone`` (expired:
            the heartbeat is older than the lease's time to live, or the process ended).
        host: The driver's host.
        pid: The driver's process id on that host.
        age_s: Seconds since the last heartbeat (``None`` when none was recorded).
        ttl_s: The lease's time to live.
    """

    status: Literal["free", "live", "gone"]
    host: str | None = None
    pid: int | None = None
    age_s: float | None = None
    ttl_s: float | None = None

    def describe(self) -> str:
        """``driver gone (last heartbeat 75 s ago); resume with --resume`` and the like."""
        if self.status == "free":
            return "no driver"
        beat = "no heartbeat recorded" if self.age_s is None else f"{self.age_s:.0f} s ago"
        if self.status == "live":
            return f"run by a live driver on host {self.host} (pid {self.pid}, heartbeat {beat})"
        last = "no heartbeat recorded" if self.age_s is None else f"last heartbeat {beat}"
        return f"driver gone ({last}); resume with --resume"


def lease_state(record: Any, *, now: float | None = None) -> LeaseState:
    """Judge a stored lease (the study's ``archtune.driver`` attribute)."""
    if not isinstance(record, dict) or not record:
        return LeaseState("free")
    now = time.time() if now is None else now
    host = str(record.get("host", "?"))
    pid = _int_or_none(record.get("pid"))
    heartbeat = record.get("heartbeat")
    age = max(0.0, now - float(heartbeat)) if isinstance(heartbeat, int | float) else None
    ttl = float(record.get("ttl_s") or DEFAULT_TTL_S)
    state = {"host": host, "pid": pid, "age_s": age, "ttl_s": ttl}
    here = _same_pid_namespace(record)
    if here and pid == os.getpid():
        alive = record.get("token") in _HELD_HERE  # a driver of this very process
        return LeaseState("live" if alive else "gone", **state)  # type: ignore[arg-type]
    if here and pid is not None:
        started = record.get("pid_start")
        if started is None or _process_start(pid) != started:
            return LeaseState("gone", **state)  # type: ignore[arg-type]
        if age is None:  # a lease of an archtune without heartbeats: its process is alive
            return LeaseState("live", **state)  # type: ignore[arg-type]
    if age is None or age > ttl:
        return LeaseState("gone", **state)  # type: ignore[arg-type]
    return LeaseState("live", **state)  # type: ignore[arg-type]


def driver_of(study: optuna.Study) -> LeaseState:
    """The state of the driver that holds ``study`` (``free`` when none does)."""
    return lease_state(study.user_attrs.get(attrs.STUDY_DRIVER))


class Lease:
    """This driver's hold on a study: written on open, kept alive, released at the end.

    Args:
        study: The study to hold.
        ttl_s: How long the lease outlives its last heartbeat (default: :func:`lease_ttl`).
    """

    def __init__(self, study: optuna.Study, *, ttl_s: float | None = None) -> None:
        self._study = study
        self.ttl_s = lease_ttl() if ttl_s is None else float(ttl_s)
        pid = os.getpid()
        self._record: dict[str, Any] = {
            "host": hostname(),
            "pid": pid,
            "pid_start": _process_start(pid),
            "pidns": _pid_namespace(),
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "heartbeat": time.time(),
            "ttl_s": self.ttl_s,
            "token": uuid.uuid4().hex,
        }
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: str | None = None
        """Set (to what holds the study now) once another driver took the lease over."""

    @property
    def interval_s(self) -> float:
        """Seconds between heartbeats."""
        return max(0.1, self.ttl_s / 6)

    def acquire(self, *, verify: bool) -> None:
        """Write the lease; with ``verify``, read it back a moment later (a racing driver).

        Raises:
            StudyStateError: another driver wrote its lease over this one meanwhile.
        """
        _HELD_HERE.add(self._record["token"])
        self._write(self._study._storage)
        if verify:
            time.sleep(_SETTLE_S)
            stored = self._stored(self._study._storage)
            if not self._is_mine(stored):
                _HELD_HERE.discard(self._record["token"])
                raise StudyStateError(
                    f"study {self._study.study_name!r} is {lease_state(stored).describe()}; "
                    "wait for it or stop it"
                )

    def start_heartbeat(self, storage: BaseStorage | None) -> None:
        """Refresh the heartbeat from a thread, through ``storage`` (a connection of its own)."""
        if storage is None or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._beat, args=(storage,), name="archtune-lease", daemon=True
        )
        self._thread.start()

    def check(self) -> None:
        """Raise if another driver took the study over (the heartbeat thread found out).

        Raises:
            StudyStateError: the lease is lost; this driver must not write to the study.
        """
        if self.lost is not None:
            raise self.lost_error()

    def lost_error(self) -> StudyStateError:
        """The error of a driver whose lease another driver took over."""
        return StudyStateError(
            f"study {self._study.study_name!r} was taken over by another driver ("
            f"{self.lost or 'its lease was replaced'}): this driver's heartbeat had lapsed; it "
            "stops and leaves the study to the other"
        )

    def still_mine(self) -> bool:
        """Read the stored lease: is it still this one? (``True`` if the storage cannot say.)"""
        if self.lost is not None:
            return False
        try:
            return self._is_mine(self._stored(self._study._storage))
        except Exception:
            return True

    def release(self) -> None:
        """Stop the heartbeat and clear the lease if it is still this driver's."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        _HELD_HERE.discard(self._record["token"])
        with contextlib.suppress(Exception):
            if self.lost is None and self._is_mine(self._stored(self._study._storage)):
                self._study.set_user_attr(attrs.STUDY_DRIVER, None)

    # -- inside ---------------------------------------------------------------------------
    def _beat(self, storage: BaseStorage) -> None:
        failing = False
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    stored = self._stored(storage)
                    if not self._is_mine(stored):
                        self.lost = lease_state(stored).describe()
                        logger.error(
                            "study %s: another driver took over (%s)",
                            self._study.study_name,
                            self.lost,
                        )
                        return
                    self._write(storage)
                    failing = False
                except Exception as exc:  # the storage is away: try again at the next beat
                    if not failing:
                        logger.warning("lease heartbeat failed (retrying): %s", exc)
                    failing = True
        finally:
            _close(storage)

    def _write(self, storage: BaseStorage) -> None:
        self._record["heartbeat"] = time.time()
        storage.set_study_user_attr(self._study._study_id, attrs.STUDY_DRIVER, self._record)

    def _stored(self, storage: BaseStorage) -> Any:
        return storage.get_study_user_attrs(self._study._study_id).get(attrs.STUDY_DRIVER)

    def _is_mine(self, stored: Any) -> bool:
        return isinstance(stored, dict) and stored.get("token") == self._record["token"]


def _close(storage: BaseStorage) -> None:
    """Dispose of the heartbeat's own database connections."""
    backend: Any = getattr(storage, "_backend", storage)
    with contextlib.suppress(Exception):
        backend.engine.dispose()


def _same_pid_namespace(record: dict[str, Any]) -> bool:
    """Whether the lease's pid means the same process here: same host, same pid namespace."""
    if record.get("host") != hostname():
        return False
    return record.get("pidns") is None or record.get("pidns") == _pid_namespace()


def _pid_namespace() -> int | None:
    """The inode of this process's pid namespace (containers on one host differ); Linux only."""
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


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
