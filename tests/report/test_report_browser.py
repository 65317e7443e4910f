"""The report opened in headless Chromium: no JavaScript errors, every figure drawn."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from archtune.report import write_report
from conftest import Studies

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed, and `make test` could not install it here "
        "(it needs apt-get as root or with passwordless sudo): apt-get install chromium",
    ),
]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(CHROMIUM),
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("which", ["multi", "single"])
def test_report_renders_in_chromium(tmp_path: Path, studies: Studies, which: str) -> None:
    name = studies.multi if which == "multi" else studies.single
    report = write_report(name, tmp_path / "report.html", storage=studies.storage)
    html = report.read_text()
    n_figures = len(re.findall(r'class="plotly-graph-div"', html))
    assert n_figures >= (5 if which == "multi" else 3)

    dom = _chromium(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Uncaught" not in dom.stderr  # no JavaScript error in the console
    drawn = len(re.findall(r'<svg class="main-svg"', dom.stdout))
    assert drawn >= n_figures  # each figure drew its SVG (Plotly adds one or two per figure)

    shot = _chromium(
        tmp_path,
        f"--screenshot={tmp_path / 'report.png'}",
        "--window-size=1300,2400",
        report.as_uri(),
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert (tmp_path / "report.png").stat().st_size > 20_000
