"""``--json`` documents, and optuna-dashboard served on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from archtune.cli._report_cmds import result_json, show_json, studies_json
from archtune.search import load_result
from conftest import Studies


def test_show_json(studies: Studies, capsys: pytest.CaptureFixture[str]) -> None:
    show_json(studies.multi, studies.storage)
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= {"schema", "name", "objectives", "counts", "best_trials", "n_trials"}
    assert doc["name"] == "multi"
    assert doc["multi_objective"] is True
    assert doc["objectives"] == [
        {"metric": "val_accuracy", "direction": "max"},
        {"metric": "params", "direction": "min"},
    ]
    assert sum(doc["counts"].values()) == doc["n_trials"] == 6
    assert doc["best_trials"]
    for trial in doc["best_trials"]:
        assert set(trial) >= {"number", "status", "values", "config", "metrics"}
        assert set(trial["values"]) == {"val_accuracy", "params"}
        assert "model.depth" in trial["config"]
        assert trial["status"] == "complete"


def test_result_json_single(studies: Studies, capsys: pytest.CaptureFixture[str]) -> None:
    result_json(load_result(studies.single, studies.storage), studies.storage, top=2)
    doc = json.loads(capsys.readouterr().out)
    assert doc["multi_objective"] is False
    assert 1 <= len(doc["best_trials"]) <= 2
    values = [t["values"]["val_accuracy"] for t in doc["best_trials"]]
    assert values == sorted(values, reverse=True)


def test_studies_json(studies: Studies, capsys: pytest.CaptureFixture[str]) -> None:
    studies_json(studies.storage)
    doc = json.loads(capsys.readouterr().out)
    assert doc["storage"] == studies.storage
    by_name = {s["name"]: s for s in doc["studies"]}
    assert set(by_name) == {"multi", "single"}
    assert by_name["single"]["best_values"]["val_accuracy"] > 0.5
    assert by_name["multi"]["best_values"] is None
    assert by_name["multi"]["n_best"] >= 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _terminal_signals() -> None:
    """Ctrl-C as a terminal delivers it: default handling, not blocked."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@pytest.mark.integration
def test_dashboard_serves_on_localhost(studies: Studies, tmp_path: Path) -> None:
    pytest.importorskip("optuna_dashboard")
    port = _free_port()
    code = (
        "from archtune.cli._report_cmds import dashboard_command; "
        f"dashboard_command({studies.storage!r}, port={port})"
    )
    log = (tmp_path / "dashboard.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_terminal_signals,  # as from a shell, whatever the test process inherited
    )
    try:
        deadline = time.monotonic() + 60
        body = b""
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/studies", timeout=5
                ) as r:
                    assert r.status == 200
                    body = r.read()
                break
            except OSError:
                time.sleep(0.3)
        assert b"multi" in body, (tmp_path / "dashboard.log").read_text()
        os.kill(proc.pid, signal.SIGINT)  # Ctrl-C
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            log.flush()
            pytest.fail(
                "the dashboard did not stop within 60 s of Ctrl-C; its output so far:\n"
                + (tmp_path / "dashboard.log").read_text()
            )
        assert code == 0
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
    output = (tmp_path / "dashboard.log").read_text()
    assert f"http://127.0.0.1:{port}/dashboard/" in output
    assert "dashboard stopped" in output


def test_dashboard_on_a_taken_port_says_so(studies: Studies) -> None:
    pytest.importorskip("optuna_dashboard")
    from archtune import ConfigError
    from archtune.report._dashboard import serve_dashboard

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"--port {port}: 127.0.0.1:{port} is in use"):
            serve_dashboard(studies.storage, port=port)
