"""The HTML report of real studies: figures present, self-contained, sections that apply."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

from archtune import StudyStateError
from archtune.cli._report_cmds import report_command
from archtune.report import pick_trial, summarize, write_report
from archtune.search import load_result
from conftest import Studies

pytest.importorskip("plotly")


def _no_external_scripts(text: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, flags=re.IGNORECASE)
    assert not re.search(r"<link[^>]*href\s*=\s*[\"']https?:", text, flags=re.IGNORECASE)


def test_multi_objective_report_has_every_figure(studies: Studies, tmp_path: Path) -> None:
    path = write_report(studies.multi, tmp_path / "r.html", storage=studies.storage)
    text = path.read_text(encoding="utf-8")
    assert len(text) > 1_000_000  # the Plotly bundle is embedded
    assert "plotly.js" in text
    for title in (
        "Pareto front: val_accuracy against params",
        "Pareto front: val_accuracy against flops",
        "Pareto front: val_accuracy against latency_ms",
        "Optimization history: val_accuracy",
        "Best val_accuracy against compute spent",
        "Parallel coordinates of parameters",
        "Parameter importance",
        "Learning curves: val_accuracy",
    ):
        assert f'"text":"{title}"' in text, title
    for section in (
        "Compute spent",
        "Trials by state",
        "A smaller structure or more accuracy?",
        "Was tuning worth the training time?",
        "Which learning rate?",
        "Pareto front: models and their configurations",
    ):
        assert section in text, section
    assert "LR range test" not in text  # no lr: auto in this study
    _no_external_scripts(text)


def test_summary_counts_the_compute(studies: Studies) -> None:
    result = load_result(studies.multi, studies.storage)
    summary = summarize(result)
    assert summary.n_trials == 6
    assert sum(summary.counts.values()) == 6
    epochs = sum(
        len(t.user_attrs.get("archtune.curve", []))
        for t in optuna.load_study(study_name="multi", storage=studies.storage).trials
    )
    assert summary.epochs == epochs > 0
    assert summary.trial_seconds > 0
    assert summary.importances is not None
    assert set(summary.importances) <= {"lr", "model.depth"}


def test_single_objective_report_leaves_out_the_front(studies: Studies, tmp_path: Path) -> None:
    path = write_report(studies.single, tmp_path / "s.html", storage=studies.storage)
    text = path.read_text(encoding="utf-8")
    assert '"text":"Optimization history: val_accuracy"' in text
    assert '"text":"Learning curves: val_accuracy"' in text
    assert '"text":"val_accuracy against params"' in text
    assert "Pareto front:" not in text
    assert "Not applicable" in text  # no cost objective to trade against
    assert '"text":"Parameter importance"' not in text  # 3 trials are too few
    assert "too few complete trials" in text
    _no_external_scripts(text)


def test_lr_find_and_baseline_records_are_shown(studies: Studies, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'copy.db'}"
    optuna.copy_study(
        from_study_name=studies.single, from_storage=studies.storage, to_storage=storage
    )
    study = optuna.load_study(study_name=studies.single, storage=storage)
    study.set_user_attr(
        "archtune.lr_find",
        {
            "suggestion": 3e-3,
            "low": 3e-4,
            "high": 3e-2,
            "lrs": [1e-4, 1e-3, 1e-2],
            "losses": [2, 1, 3],
        },
    )
    study.set_user_attr(
        "archtune.baseline", {"label": "baseline", "metrics": {"val_accuracy": 0.5}}
    )
    text = write_report(studies.single, tmp_path / "b.html", storage=storage).read_text()
    assert '"text":"LR range test"' in text
    assert "The LR range test suggested 0.003" in text
    assert "baseline against the chosen model" in text


def test_pick_smallest_within(studies: Studies) -> None:
    result = load_result(studies.multi, studies.storage)
    complete = [t for t in result.trials if t.status == "complete"]
    best = max(t.metrics["val_accuracy"] for t in complete)
    for drop in (0.0, 0.05, 1.0):
        chosen = pick_trial(result, smallest_within=drop)
        assert chosen.metrics["val_accuracy"] >= best - drop - 1e-12
        near = [t for t in complete if t.metrics["val_accuracy"] >= best - drop - 1e-12]
        assert chosen.metrics["params"] == min(t.metrics["params"] for t in near)
    assert pick_trial(result, smallest_within="100%").metrics["params"] == min(
        t.metrics["params"] for t in complete
    )
    with pytest.raises(StudyStateError, match="no trial 99"):
        pick_trial(result, trial=99)


def test_report_command_writes_the_file(
    studies: Studies, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = report_command(studies.single, studies.storage, tmp_path / "c.html")
    assert written.is_file()
    assert "written to" in capsys.readouterr().out


def test_unknown_study_is_one_line_error(studies: Studies, tmp_path: Path) -> None:
    with pytest.raises(StudyStateError, match="no study named 'nope'"):
        write_report("nope", tmp_path / "x.html", storage=studies.storage)
