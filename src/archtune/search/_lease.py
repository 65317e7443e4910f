"""The driver's lease on a study: who holds it, and whether that driver is still alive.

The lease is the study's ``archtune.driver`` user attribute: ``{host, pid, pid_start, pidns,
started, heartbeat, ttl_s, token}``. The driver that holds the study rewrites ``heartbeat`` (unix
time) every ``ttl_s / 6`` seconds from a small thread with a storage connection of its own; a
lease whose heartbeat is older than its ``ttl_s`` is expired (its driver is gone), and so is one
whose process is no longer there on this machine (same host and pid namespace: checked at once).
Another driver refuses a study with a live lease, and takes over an expired one on ``--resume``.

Every write of a lease is a compare-and-swap on the text that was read (an ``UPDATE ... WHERE``
on Optuna's SQL table of study attributes): two drivers taking over at once cannot both win, and
a driver paused past its time to live cannot write over the one that took over; it finds another
lease in its place and stops without touching the study again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
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

from archtune._errors import ConfigError, StudyStateError
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

_HELD_HERE: set[str] = set()  # tokens of the leases this process holds now


def hostname() -> str:
    """The host name leases record: ``$ARCHTUNE_HOSTNAME``, else the machine's."""
    return os.environ.get(HOSTNAME_ENV) or socket.gethostname()


def lease_ttl() -> float:
    """The time to live of a new lease: ``$ARCHTUNE_LEASE_TTL`` seconds, else 60.

    Raises:
        ConfigError: the variable is not a number of seconds > 0.
    """
    text = os.environ.get(TTL_ENV)
    if not text:
        return DEFAULT_TTL_S
    try:
        ttl = float(text)
    except ValueError:
        ttl = -1.0
    if not ttl > 0:
        raise ConfigError(f"{TTL_ENV} must be a number of seconds > 0, got {text!r}")
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
    """This driver's hold on a study: taken on open, kept alive, released at the end.

    Every change of a stored lease is a compare-and-swap (on SQL storages, one ``UPDATE ...
    WHERE value_json = <what was read>``): a driver takes over only the lease it judged, and
    its heartbeat only replaces its own last one, so a driver that was paused (stopped, hung,
    swapped out) past its time to live can never write over the driver that took over.

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
        self._raw: str | None = None  # the lease as last written (the swap's expected text)
        self._beat_at = time.monotonic()  # when it was last written
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost: str | None = None
        """Set (to what holds the study now) once another driver took the lease over."""

    @property
    def interval_s(self) -> float:
        """Seconds between heartbeats."""
        return max(0.1, self.ttl_s / 6)

    def take(self, *, new_study: bool) -> None:
        """Hold the study: write the lease of a new study, or take over a free or expired one.

        Raises:
            StudyStateError: a live driver holds the study (which is left alone).
        """
        storage, study_id = self._study._storage, self._study._study_id
        _HELD_HERE.add(self._record["token"])
        try:
            if new_study:  # creating the study was the race, and this driver won it
                fresh = self._fresh()
                storage.set_study_user_attr(study_id, attrs.STUDY_DRIVER, fresh)
                self._wrote(fresh)
                return
            stored, raw = _load(storage, study_id)
            state = lease_state(stored)
            if state.status != "live":
                fresh = self._fresh()
                if _swap(storage, study_id, raw, fresh):
                    self._wrote(fresh)
                    return
                stored, _ = _load(storage, study_id)  # another driver was quicker
                state = lease_state(stored)
            what = state.describe() if state.status == "live" else "being taken by another driver"
            raise StudyStateError(
                f"study {self._study.study_name!r} is {what}; wait for it or stop it"
            )
        except BaseException:
            _HELD_HERE.discard(self._record["token"])
            raise

    def start_heartbeat(self, storage: BaseStorage | None) -> None:
        """Refresh the heartbeat from a thread, through ``storage`` (a connection of its own)."""
        if storage is None or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._keep, args=(storage,), name="archtune-lease", daemon=True
        )
        self._thread.start()

    def check(self) -> None:
        """Raise if another driver took the study over; call it before writing to the study.

        The heartbeat thread finds out within a beat. When no heartbeat was written for a
        whole time to live (this process was stopped, or the storage was away), the stored
        lease is read here and now: another driver may have taken over meanwhile.

        Raises:
            StudyStateError: the lease is lost; this driver must not write to the study.
        """
        overdue = time.monotonic() - self._beat_at > self.ttl_s
        if self.lost is None and self._thread is not None and overdue:
            with contextlib.suppress(Exception):  # a storage that is away: the writes will say
                stored, _ = _load(self._study._storage, self._study._study_id)
                if not self._is_mine(stored):
                    self.lost = lease_state(stored).describe()
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
            stored, _ = _load(self._study._storage, self._study._study_id)
        except Exception:
            return True
        return self._is_mine(stored)

    def release(self) -> None:
        """Stop the heartbeat and clear the lease if it is still this driver's."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        _HELD_HERE.discard(self._record["token"])
        if self.lost is None and self._raw is not None:
            with contextlib.suppress(Exception):
                _swap(self._study._storage, self._study._study_id, self._raw, None)

    # -- inside ---------------------------------------------------------------------------
    def _keep(self, storage: BaseStorage) -> None:
        """The heartbeat thread: swap the last heartbeat for a new one, until stopped or lost."""
        study_id = self._study._study_id
        failing = False
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    fresh = self._fresh()
                    if _swap(storage, study_id, self._raw, fresh):
                        self._wrote(fresh)
                        failing = False
                        continue
                    stored, raw = _load(storage, study_id)
                    if self._is_mine(stored):  # a write that went through unacknowledged
                        self._raw = raw
                        continue
                    self.lost = lease_state(stored).describe()
                    logger.error(
                        "study %s: another driver took over (%s)",
                        self._study.study_name,
                        self.lost,
                    )
                    return
                except Exception as exc:  # the storage is away: try again at the next beat
                    if not failing:
                        logger.warning("lease heartbeat failed (retrying): %s", exc)
                    failing = True
        finally:
            _close(storage)

    def _fresh(self) -> dict[str, Any]:
        return {**self._record, "heartbeat": time.time()}

    def _wrote(self, lease: dict[str, Any]) -> None:
        """Note the lease this driver has just written (the next swap expects it)."""
        self._raw = json.dumps(lease)
        self._beat_at = time.monotonic()

    def _is_mine(self, stored: Any) -> bool:
        return isinstance(stored, dict) and stored.get("token") == self._record["token"]


def _rdb(storage: BaseStorage) -> Any:
    """The SQL storage behind ``storage``, or ``None`` (in memory)."""
    backend = getattr(storage, "_backend", storage)
    return backend if isinstance(backend, optuna.storages.RDBStorage) else None


def _load(storage: BaseStorage, study_id: int) -> tuple[Any, str | None]:
    """The stored lease and its stored text (``None``, ``None`` when there is none)."""
    rdb = _rdb(storage)
    if rdb is None:
        stored = storage.get_study_user_attrs(study_id).get(attrs.STUDY_DRIVER)
        return stored, json.dumps(stored)
    import sqlalchemy as sa

    table = _attr_table()
    query = sa.select(table.c.value_json).where(
        table.c.study_id == study_id, table.c.key == attrs.STUDY_DRIVER
    )
    with rdb.engine.connect() as conn:
        raw = conn.execute(query).scalar_one_or_none()
    return (None, None) if raw is None else (json.loads(raw), raw)


def _swap(storage: BaseStorage, study_id: int, expected: str | None, value: Any) -> bool:
    """Write ``value`` as the lease if the stored text is still ``expected``; say if it was.

    On SQL storages one ``UPDATE ... WHERE value_json = expected``: atomic. In memory (one
    process: nobody to race with), and where no lease was ever stored, a read and a write.
    """
    rdb = _rdb(storage)
    if rdb is None or expected is None:
        _, raw = _load(storage, study_id)
        if raw != expected:
            return False
        storage.set_study_user_attr(study_id, attrs.STUDY_DRIVER, value)
        return True
    import sqlalchemy as sa

    table = _attr_table()
    statement = (
        sa.update(table)
        .where(
            table.c.study_id == study_id,
            table.c.key == attrs.STUDY_DRIVER,
            table.c.value_json == expected,
        )
        .values(value_json=json.dumps(value))
    )
    with rdb.engine.begin() as conn:
        return bool(conn.execute(statement).rowcount == 1)


def _attr_table() -> Any:
    """Optuna's SQL table of study user attributes (``study_id``, ``key``, ``value_json``)."""
    from optuna.storages._rdb.models import StudyUserAttributeModel

    return StudyUserAttributeModel.__table__


def _close(storage: BaseStorage) -> None:
    """Dispose of the heartbeat's own database connections."""
    rdb = _rdb(storage)
    if rdb is not None:
        with contextlib.suppress(Exception):
            rdb.engine.dispose()


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
