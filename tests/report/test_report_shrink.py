"""The report of a shrink study names the model the shrink chose, as the CLI and the JSON do."""

from __future__ import annotations

import copy
import html
import json
import re
import warnings
from pathlib import Path
from typing import Any

import optuna
import pytest

pytest.importorskip("plotly")
pytest.importorskip("torch")

import archtune
from archtune.cli._report_cmds import report_command, show_json
from archtune.cli._shrink_cmd import _chosen_line, _record_baseline
from archtune.report import summarize, write_report
from archtune.report._shrink import (
    chosen_sentence,
    interval_text,
    shrink_objectives,
    shrink_view,
)
from archtune.search import TuneResult, load_result
from archtune.shrinking import ShrinkResult

RESULT_ATTR = "archtune.shrink.result"


class Shrunk:
    def __init__(self, result: ShrinkResult, storage: str, tmp: Path) -> None:
        self.result = result
        self.storage = storage
        self.tmp = tmp

    @property
    def name(self) -> str:
        return self.result.study_name

    @property
    def record(self) -> dict[str, Any]:
        study = optuna.load_study(study_name=self.name, storage=self.storage)
        stored: dict[str, Any] = study.user_attrs[RESULT_ATTR]
        return stored


@pytest.fixture(scope="module")
def shrunk(tmp_path_factory: pytest.TempPathFactory) -> Shrunk:
    tmp = tmp_path_factory.mktemp("shrink-report")
    storage = f"sqlite:///{tmp}/s.db"
    result = archtune.shrink(
        "cnn-32-64-64",
        "mnist-sample",
        max_samples=1500,
        epochs=2,
        budget=15,
        max_drop=0.05,
        storage=storage,
        output=tmp / "c.onnx",
        models_dir=tmp / "models",
    )
    _record_baseline(result, storage)  # as `archtune shrink` does: the report must ignore it
    return Shrunk(result, storage, tmp)


def _text(path: Path) -> str:
    """The report's words: no script, no markup, entities decoded."""
    page = path.read_text(encoding="utf-8")
    page = re.sub(r"<script.*?</script>", "", page, flags=re.DOTALL)
    page = re.sub(r"<style.*?</style>", "", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _shrink_section(text: str) -> str:
    start = text.index("Shrink result")
    return text[start : text.index("Summary", start)]


def test_the_report_names_the_chosen_model_of_the_result(shrunk: Shrunk, tmp_path: Path) -> None:
    record = shrunk.record
    chosen, baseline = record["chosen"], record["baseline"]
    assert chosen["label"] == shrunk.result.chosen.label
    path = write_report(shrunk.name, tmp_path / "r.html", storage=shrunk.storage)
    text = _text(path)
    section = _shrink_section(text)
    assert text.index("Shrink result") < text.index("Summary")  # the shrink's answer first
    assert f"chosen: {chosen['label']}" in section or chosen["trial"] is None
    # The CLI's line opens with the very sentence the report shows.
    view = shrink_view(load_result(shrunk.name, shrunk.storage))
    assert view is not None
    sentence = chosen_sentence(view)
    assert _chosen_line(shrunk.result).startswith(sentence)
    assert sentence in section
    assert record["verdict"] in section
    # Test accuracies as formatted, with their 95 % intervals.
    assert interval_text(baseline) in section
    assert interval_text(chosen) in section
    assert f"{100 * baseline['test_accuracy']:.2f}%" in section
    assert f"{100 * chosen['test_accuracy']:.2f}%" in section
    for candidate in record["pareto"]:
        assert candidate["label"] in section
        assert interval_text(candidate) in section
    assert "\u2605 chosen" in section
    assert record["preprocessing"] in section
    assert "baseline trainings" in section


def test_nothing_in_the_report_names_another_chosen_trial(shrunk: Shrunk, tmp_path: Path) -> None:
    record = shrunk.record
    path = write_report(shrunk.name, tmp_path / "r.html", storage=shrunk.storage)
    page = path.read_text(encoding="utf-8")
    text = _text(path)
    chosen = record["chosen"]["trial"]
    for number in re.findall(r"chosen\W{0,3}\(?trial (\d+)", text):
        assert int(number) == chosen
    for number in re.findall(r"(\d+) \(chosen\)", text):
        assert int(number) == chosen
    assert "The best model is trial" not in text
    assert "smallest within one point" not in text  # the generic pick is left out
    assert "against the chosen model" not in text  # so is the generic baseline table
    # The figures mark the same model.
    for name in re.findall(r'"name":"chosen[^"]*"', page):
        assert name == f'"name":"chosen: {record["chosen"]["label"]}"'
    assert '"text":"Shrink trials: val_accuracy against params"' in page


def test_summary_chooses_the_shrink_result(shrunk: Shrunk) -> None:
    result = load_result(shrunk.name, shrunk.storage)
    summary = summarize(result)
    chosen = shrunk.record["chosen"]
    assert summary.shrink is not None
    assert summary.chosen is not None
    if chosen["trial"] is None:
        stage = result.study.trials[summary.chosen.number].user_attrs["archtune.shrink.stage"]
        assert stage == "baseline"
    else:
        assert summary.chosen.number == chosen["trial"]
    budget = shrunk.record["budget"]
    assert summary.epochs == pytest.approx(budget["epochs_spent"])
    assert summary.trial_seconds > 0
    assert summary.wall_seconds == pytest.approx(shrunk.record["wall_time_s"])


def test_report_and_show_commands(
    shrunk: Shrunk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = report_command(shrunk.name, shrunk.storage, tmp_path / "cli.html")
    assert shrunk.record["chosen"]["label"] in _shrink_section(_text(written))
    capsys.readouterr()
    show_json(shrunk.name, shrunk.storage)
    document = json.loads(capsys.readouterr().out)
    assert document["shrink"]["chosen"]["label"] == shrunk.result.chosen.label
    assert document["shrink"]["chosen"]["trial"] == shrunk.result.chosen.trial


# -- stored results made up for one case each ------------------------------------------------
def _names(study: optuna.Study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_accuracy", "params"])


def _entry(label: str, trial: int | None, params: int, val: float, test: float) -> dict[str, Any]:
    return {
        "label": label,
        "trial": trial,
        "params": params,
        "flops": 2 * params,
        "latency_ms": 0.1,
        "val_accuracy": val,
        "test_accuracy": test,
        "train_time_s": 1.0,
        "structure": f"dense {params}",
        "recipe": {},
        "config": {},
        "network": {},
        "test_interval": [test - 0.05, test + 0.04],
        "change_interval": [test - 0.8, test - 0.85, test - 0.75],
        "epochs": 4.0,
        "accuracy_change": test - 0.8,
        "reduction": 1000 / params,
    }


def _study(
    record: dict[str, Any], *, metric_names: bool = True, baseline_trial: bool = True
) -> TuneResult:
    """An in-memory shrink study: a baseline, two search steps, one fine-tune, the result."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    if metric_names:
        _names(study)
    rows = [
        ("baseline", None, 0.8, 1000),
        ("search", None, 0.7, 500),
        ("search", None, 0.6, 100),
        ("finetune", 1, 0.79, 500),
    ]
    for stage, source, val, params in rows[0 if baseline_trial else 1 :]:
        attrs: dict[str, Any] = {
            "archtune.shrink.stage": stage,
            "archtune.metrics": {"val_accuracy": val, "params": params, "epochs": 1.0},
        }
        if source is not None:
            attrs["archtune.shrink.from_trial"] = source
        study.add_trial(
            optuna.trial.create_trial(
                state=optuna.trial.TrialState.COMPLETE, values=[val, params], user_attrs=attrs
            )
        )
    study.set_user_attr(RESULT_ATTR, record)
    return TuneResult.from_study(study)


def _record(chosen_trial: int | None = 1) -> dict[str, Any]:
    baseline = _entry("baseline", None, 1000, 0.8, 0.8)
    candidate = _entry("trial 1", 1, 500, 0.79, 0.78)
    chosen = candidate if chosen_trial == 1 else baseline
    return {
        "objective": "params",
        "max_drop": 0.02,
        "baseline": baseline,
        "baseline_best_recipe": None,
        "chosen": chosen,
        "pareto": [candidate],
        "exported": None,
        "study": {"name": "x", "storage": None, "trials": {"complete": 4}},
        "wall_time_s": 12.0,
        "strategy": "progressive",
        "verdict": (
            "-2.00 pt on test (95 % interval -5.00 to +1.00): within the test split's noise"
        ),
        "budget": {
            "baseline_epochs": 2,
            "epochs_spent": 4.0,
            "budget_epochs": 12,
            "baseline_trainings": 2.0,
        },
        "preprocessing": "standardized",
    }


def _write(result: TuneResult, tmp_path: Path) -> str:
    return _text(write_report(result, tmp_path / "r.html"))


def test_best_recipe_row_only_when_better_on_validation(tmp_path: Path) -> None:
    record = _record()
    worse = _entry("baseline + best recipe", None, 1000, 0.78, 0.85)
    record["baseline_best_recipe"] = worse
    text = _write(_study(record), tmp_path)
    section = _shrink_section(text)
    assert "row is left out" in section
    assert "85.00%" not in section  # its test accuracy is not shown
    better = copy.deepcopy(record)
    better["baseline_best_recipe"] = _entry("baseline + best recipe", None, 1000, 0.81, 0.85)
    section = _shrink_section(_write(_study(better), tmp_path))
    assert "row is left out" not in section
    assert "85.00% (80.0-89.0)" in section
    # The current shrink stores none: no row, no note.
    section = _shrink_section(_write(_study(_record()), tmp_path))
    assert "baseline + best recipe" not in section


def test_a_kept_baseline_is_the_chosen_model(tmp_path: Path) -> None:
    result = _study(_record(chosen_trial=None))
    summary = summarize(result)
    assert summary.chosen is not None
    assert summary.chosen.number == 0  # the baseline's trial
    section = _shrink_section(_write(result, tmp_path))
    assert "chosen: the baseline (no cheaper candidate within 2.00 pt" in section
    assert re.search(r"\u2605 chosen\s+baseline", section)
    # Given weights: no baseline trial, and nothing else is called chosen.
    result = _study(_record(chosen_trial=None), baseline_trial=False)
    assert summarize(result).chosen is None
    assert "chosen: the baseline" in _write(result, tmp_path)


def test_a_study_without_metric_names_reads_the_shrink_objective(tmp_path: Path) -> None:
    result = _study(_record(), metric_names=False)
    assert result.objectives.names == ["value0", "value1"]
    fixed = shrink_objectives(result)
    assert fixed.objectives.names == ["val_accuracy", "params"]
    text = _write(result, tmp_path)
    assert "Objectives: val_accuracy (max), params (min)." in text
    assert "chosen: trial 1, 2.0x fewer params (500 params)" in text


def test_other_studies_are_not_changed(tmp_path: Path) -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    _names(study)
    for val, params in ((0.8, 1000), (0.795, 200), (0.6, 50)):
        study.add_trial(
            optuna.trial.create_trial(
                state=optuna.trial.TrialState.COMPLETE,
                values=[val, params],
                user_attrs={"archtune.metrics": {"val_accuracy": val, "params": params}},
            )
        )
    result = TuneResult.from_study(study)
    assert shrink_view(result) is None
    assert shrink_objectives(result) is result
    summary = summarize(result)
    assert summary.shrink is None
    assert summary.chosen is not None
    assert summary.chosen.number == 1  # the smallest within a point
    text = _write(result, tmp_path)
    assert "Shrink result" not in text
    assert "1 (chosen)" in text
