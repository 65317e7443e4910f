"""One live driver per study, across hosts: the lease, its heartbeat, expiry and takeover.

A second host is played by a driver subprocess whose recorded host name is overridden
(``ARCHTUNE_HOSTNAME``): it cannot see the first driver's process, only its heartbeat.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

import archtune
import objectives as obj
from archtune import Float, StudyStateError
from archtune.search import LeaseState
from archtune.search._lease import (
    Lease,
    _load,
    _pid_namespace,
    _process_start,
    _swap,
    hostname,
    lease_state,
)
from archtune.search._study import storage_of
from archtune.testing import find_pg_bin, postgres_server

ARCHTUNE = [sys.executable, "-m", "archtune"]
COMPLETE = optuna.trial.TrialState.COMPLETE
RUNNING = optuna.trial.TrialState.RUNNING


# -- judging a lease ------------------------------------------------------------------------
def test_a_lease_is_live_while_its_heartbeat_is_recent_and_gone_after_its_ttl() -> None:
    now = 1_000_000.0
    record = {"host": "elsewhere", "pid": 4242, "heartbeat": now - 3.2, "ttl_s": 60.0}
    live = lease_state(record, now=now)
    assert live == LeaseState("live", "elsewhere", 4242, pytest.approx(3.2), 60.0)
    assert (
        live.describe() == "run by a live driver on host elsewhere (pid 4242, heartbeat 3 s ago)"
    )
    gone = lease_state({**record, "heartbeat": now - 75.0}, now=now)
    assert gone.status == "gone"
    assert gone.describe() == "driver gone (last heartbeat 75 s ago); resume with --resume"
    assert lease_state({**record, "ttl_s": 2.0}, now=now).status == "gone"  # its own ttl
    assert lease_state(None).status == "free"
    assert lease_state({}).status == "free"
    # A lease without a heartbeat (an older archtune) from another host cannot be live.
    legacy = lease_state({"host": "elsewhere", "pid": 4242}, now=now)
    assert legacy.describe() == "driver gone (no heartbeat recorded); resume with --resume"


def test_on_this_host_a_dead_process_is_gone_at_once() -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    here = {"host": hostname(), "pidns": _pid_namespace(), "heartbeat": time.time()}
    gone = lease_state({**here, "pid": int(dead.stdout), "pid_start": "12345"})
    assert gone.status == "gone"  # its heartbeat is fresh, but the process has ended
    parent = os.getppid()
    alive = lease_state({**here, "pid": parent, "pid_start": _process_start(parent)})
    assert alive.status == "live"
    # The same pid in another pid namespace (another container) is another process.
    other = lease_state({**here, "pid": int(dead.stdout), "pid_start": "1", "pidns": -1})
    assert other.status == "live"  # judged by its heartbeat only


def test_the_host_name_may_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHTUNE_HOSTNAME", "node-7")
    assert hostname() == "node-7"
    monkeypatch.delenv("ARCHTUNE_HOSTNAME")
    assert hostname() == socket.gethostname()


def test_resume_is_refused_while_another_driver_is_live_and_takes_over_once_it_is_gone(
    tmp_path: Path,
) -> None:
    storage = f"sqlite:///{tmp_path / 'lease.db'}"
    settings: dict[str, Any] = {
        "objectives": {"score": "max"},
        "scheduler": "none",
        "storage": storage,
        "study_name": "held",
        "seed": 0,
    }
    archtune.tune(obj.quadratic, {"x": Float(0, 1)}, n_trials=2, **settings)
    study = optuna.load_study(study_name="held", storage=storage)
    stranded = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})  # its trial
    lease = {"host": "elsewhere", "pid": 1234, "heartbeat": time.time(), "ttl_s": 60.0}
    study.set_user_attr("archtune.driver", lease)
    refusal = (
        r"^study 'held' is run by a live driver on host elsewhere \(pid 1234, heartbeat \d+ s "
        r"ago\); wait for it or stop it$"
    )
    for resume in (True, False):  # without --resume too: "pass --resume" would not help
        with pytest.raises(StudyStateError, match=refusal):
            archtune.tune(obj.quadratic, {"x": Float(0, 1)}, n_trials=4, resume=resume, **settings)
    assert study._storage.get_trial(stranded._trial_id).state == RUNNING  # left alone

    study.set_user_attr("archtune.driver", {**lease, "heartbeat": time.time() - 61})
    result = archtune.tune(obj.quadratic, {"x": Float(0, 1)}, n_trials=4, resume=True, **settings)
    assert result.counts == {"complete": 4, "interrupted": 1}
    repaired = result.study.trials[stranded.number]
    assert repaired.user_attrs["archtune.failure"] == "interrupted"
    assert result.study.user_attrs["archtune.driver"] is None


def test_a_lease_changes_hands_by_compare_and_swap(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cas.db'}"
    study = optuna.create_study(storage=url, study_name="cas")
    study.set_user_attr("archtune.driver", None)
    storage, study_id = study._storage, study._study_id
    _, seen = _load(storage, study_id)  # two drivers judged the same free lease
    assert _swap(storage, study_id, seen, {"token": "first"})
    assert not _swap(storage, study_id, seen, {"token": "second"})  # the later one loses
    assert study.user_attrs["archtune.driver"] == {"token": "first"}


def test_a_holder_never_writes_over_the_lease_that_replaced_its_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cas.db'}"
    study = optuna.create_study(storage=url, study_name="cas")
    lease = Lease(study, ttl_s=0.6)
    lease.take(new_study=True)
    lease.start_heartbeat(storage_of(url))
    other = {"host": "elsewhere", "pid": 7, "heartbeat": time.time(), "ttl_s": 60.0}
    study.set_user_attr("archtune.driver", other)  # another driver took the study over
    deadline = time.monotonic() + 10
    while lease.lost is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the heartbeat finds out within a beat (0.1 s here)
    with pytest.raises(StudyStateError, match=r"^study 'cas' was taken over by another driver"):
        lease.check()
    assert not lease.still_mine()
    lease.release()
    assert study.user_attrs["archtune.driver"] == other  # neither a heartbeat nor the release


# -- two drivers, two "hosts", a real storage ---------------------------------------------
@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(find_pg_bin() is None, reason="PostgreSQL not installed"),
            ],
        ),
    ]
)
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'archtune.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    storage_of(url)  # the schema exists before any driver starts
    return url


def _config(path: Path, url: str, *, trials: int, seconds: float) -> Path:
    name = f"{path.stem}-{time.monotonic_ns()}"  # one PostgreSQL database serves every test
    config = {
        "name": name,
        "objective": "objectives:slow",
        "space": {
            "x": {"type": "float", "low": 0.0, "high": 1.0},
            "seconds": {"type": "fixed", "value": seconds},
        },
        "objectives": {"score": "max"},
        "budget": {"trials": trials},
        "workers": 2,
        "sampler": "random",
        "scheduler": "none",
        "storage": url,
        "seed": 0,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _name(config: Path) -> str:
    return str(yaml.safe_load(config.read_text())["name"])


def _on_host(env: dict[str, str], host: str, **extra: str) -> dict[str, str]:
    return {**env, "ARCHTUNE_HOSTNAME": host, **extra}


def _study(url: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=url)


def _wait_for_complete(url: str, name: str, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            trials = _study(url, name).get_trials(deepcopy=False, states=(COMPLETE,))
        except KeyError:
            trials = []  # not created yet
        if len(trials) >= n:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {n} complete trials after {timeout} s")


def _archtune(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ARCHTUNE, *args], env=env, capture_output=True, text=True, timeout=180)


def _start(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*ARCHTUNE, "run", str(config), "--quiet", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop_between_transactions(process: subprocess.Popen[str], db: Path) -> None:
    """SIGSTOP ``process`` at a moment it holds no SQLite lock (a stopped process that does
    would lock every other writer out: SQLite's own limit, not a lease's)."""
    for _ in range(200):
        process.send_signal(signal.SIGSTOP)
        time.sleep(0.05)
        probe = sqlite3.connect(db, timeout=0.2, isolation_level=None)
        try:
            probe.execute("BEGIN EXCLUSIVE")
            probe.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:
            process.send_signal(signal.SIGCONT)
            time.sleep(0.05)
        finally:
            probe.close()
    raise AssertionError("the driver always held a lock of the database")


def _one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.integration
def test_a_driver_on_another_host_is_refused_and_the_first_finishes(
    tmp_path: Path, cli_env: dict[str, str], storage_url: str
) -> None:
    config = _config(tmp_path / "busy.yaml", storage_url, trials=12, seconds=1.0)
    name = _name(config)
    first = _start(config, _on_host(cli_env, "host-a"))
    try:
        _wait_for_complete(storage_url, name, 1)
        second = _archtune(
            "run", str(config), "--resume", "--quiet", env=_on_host(cli_env, "host-b")
        )
        assert first.poll() is None  # the first was running all along
        _, first_err = first.communicate(timeout=180)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 2, second.stderr
    assert re.search(
        rf"study '{name}' is run by a live driver on host host-a \(pid {first.pid}, heartbeat "
        r"\d+ s ago\); wait for it or stop it",
        _one_line(second.stderr),
    )
    assert first.returncode == 0, first_err
    study = _study(storage_url, name)
    assert [t.state for t in study.trials] == [COMPLETE] * 12  # nothing was marked interrupted
    assert study.user_attrs["archtune.driver"] is None


@pytest.mark.integration
def test_a_killed_driver_is_reported_gone_after_its_ttl_and_resume_completes(
    tmp_path: Path, cli_env: dict[str, str], storage_url: str
) -> None:
    config = _config(tmp_path / "killed.yaml", storage_url, trials=8, seconds=0.6)
    name = _name(config)
    ttl = 3.0
    first = _start(config, _on_host(cli_env, "host-a", ARCHTUNE_LEASE_TTL=str(ttl)))
    try:
        _wait_for_complete(storage_url, name, 2)
        os.kill(first.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert _study(storage_url, name).get_trials(deepcopy=False, states=(RUNNING,))

    # On its own host the driver's process is seen to be gone at once.
    same_host = _archtune("show", name, "--storage", storage_url, env=_on_host(cli_env, "host-a"))
    assert same_host.returncode == 0, same_host.stderr
    assert "driver gone (last heartbeat" in same_host.stdout
    # Elsewhere, once the heartbeat is older than the lease's ttl.
    time.sleep(max(0.0, killed_at + ttl + 0.5 - time.monotonic()))
    shown = _archtune("show", name, "--storage", storage_url, env=_on_host(cli_env, "host-b"))
    assert shown.returncode == 0, shown.stderr
    line = _one_line(shown.stdout)
    assert re.search(
        r"\d+ stalled; driver gone \(last heartbeat \d+ s ago\); resume with "
        r"--resume",
        line,
    ), line
    assert " running" not in line
    listed = _archtune("studies", "--storage", storage_url, env=_on_host(cli_env, "host-b"))
    assert listed.returncode == 0, listed.stderr
    assert "driver gone (last heartbeat" in _one_line(listed.stdout)

    resumed = _archtune("run", str(config), "--resume", "--quiet", env=_on_host(cli_env, "host-b"))
    assert resumed.returncode == 0, resumed.stderr
    study = _study(storage_url, name)
    complete = study.get_trials(deepcopy=False, states=(COMPLETE,))
    assert len(complete) == 8  # every budgeted trial, nothing lost
    assert not study.get_trials(deepcopy=False, states=(RUNNING,))
    interrupted = [t for t in study.trials if t.state == optuna.trial.TrialState.FAIL]
    assert interrupted
    assert all(t.user_attrs["archtune.failure"] == "interrupted" for t in interrupted)
    rerun = {t.user_attrs.get("archtune.retry_of") for t in study.trials} - {None}
    assert rerun == {t.number for t in interrupted}  # each cut-short trial ran again
    assert study.user_attrs["archtune.driver"] is None


@pytest.mark.integration
def test_a_driver_whose_heartbeat_lapsed_leaves_the_study_to_the_one_that_took_over(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    url = f"sqlite:///{tmp_path / 'archtune.db'}"
    storage_of(url)
    config = _config(tmp_path / "lapsed.yaml", url, trials=10, seconds=1.0)
    name = _name(config)
    first = _start(config, _on_host(cli_env, "host-a", ARCHTUNE_LEASE_TTL="2"))
    second: subprocess.Popen[str] | None = None
    try:
        _wait_for_complete(url, name, 1)
        _stop_between_transactions(first, tmp_path / "archtune.db")  # hung: no heartbeat
        time.sleep(3.0)
        second = _start(config, _on_host(cli_env, "host-b"), "--resume")
        deadline = time.monotonic() + 60
        while (_study(url, name).user_attrs.get("archtune.driver") or {}).get("host") != "host-b":
            assert time.monotonic() < deadline, "the second driver did not take over"
            time.sleep(0.2)
        first.send_signal(signal.SIGCONT)
        _, first_err = first.communicate(timeout=60)
        _, second_err = second.communicate(timeout=180)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.kill()
    assert first.returncode == 2, first_err
    assert f"study '{name}' was taken over by another driver" in _one_line(first_err)
    assert "UpdateFinishedTrialError" not in first_err
    assert second.returncode == 0, second_err
    study = _study(url, name)
    assert len(study.get_trials(deepcopy=False, states=(COMPLETE,))) == 10
    assert not study.get_trials(deepcopy=False, states=(RUNNING,))
    assert study.user_attrs["archtune.driver"] is None
