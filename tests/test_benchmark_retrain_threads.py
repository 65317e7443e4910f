"""``benchmarks.retrain_threads``: an export trains the study's trial again to the same model."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("torch")


@pytest.mark.integration
def test_the_export_column_is_the_study_column(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import retrain_threads

    argv = ["retrain_threads", "--dataset", "digits", "--family", "mlp", "--epochs", "2"]
    monkeypatch.setattr(sys, "argv", [*argv, "--trials", "1"])
    retrain_threads.main()
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 0 |")]
    assert len(rows) == 1
    _, study, export, one_thread, _ = rows[0].strip("|").split("|")[:5]
    assert export.strip() == f"{study.strip()} (1)"  # retrained on its worker's one thread
    assert one_thread.strip() == study.strip()
