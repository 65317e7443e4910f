"""Checkpoints through the reporter: the artifact store, reruns that resume, built-in training.

Real studies (the local executor's worker processes, SQLite) where a study is involved; the
exactness of resumed training is checked on the weights themselves.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

import archtune
import objectives as obj
from archtune import (
    CheckpointReporter,
    CheckpointWarning,
    ConfigError,
    Decision,
    Float,
    NullReporter,
    Reporter,
)
from archtune.execution import _worker
from archtune.execution._artifacts import ArtifactStore
from archtune.execution._protocol import TrialTask
from archtune.search._artifacts import artifact_folder, default_artifact_root

pytestmark = pytest.mark.integration

torch = pytest.importorskip("torch")


def _study(db: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=db)


# -- the reporter API -----------------------------------------------------------------------
def test_older_reporters_still_conform_and_checkpointing_ones_are_told_apart() -> None:
    class OldReporter:  # a third-party reporter written before checkpoints existed
        trial_number = 0
        seed = None
        should_stop = False

        def report(self, step: int, **metrics: float) -> Decision:
            return Decision.CONTINUE

    assert isinstance(OldReporter(), Reporter)
    assert not isinstance(OldReporter(), CheckpointReporter)
    assert isinstance(NullReporter(), CheckpointReporter)
    conn_reporter = _worker.ConnectionReporter(None, TrialTask(0, {}))  # type: ignore[arg-type]
    assert isinstance(conn_reporter, CheckpointReporter)


def test_null_reporter_keeps_a_snapshot_in_memory_and_shares_it_on_request() -> None:
    shared: dict[int, bytes] = {}
    first = NullReporter(trial_number=0, checkpoints=shared)
    assert first.restore() is None
    state = {"weights": [1.0, 2.0]}
    first.checkpoint(state)
    state["weights"].append(3.0)  # a later change does not reach the checkpoint
    assert first.restore() == {"weights": [1.0, 2.0]}
    second = NullReporter(trial_number=1, checkpoints=shared)
    assert second.restore() is None
    assert second.restore(from_trial=0) == {"weights": [1.0, 2.0]}


def test_without_a_store_checkpoint_is_a_no_op_with_one_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_worker, "_warned_no_store", False)
    reporter = _worker.ConnectionReporter(None, TrialTask(4, {}))  # type: ignore[arg-type]
    assert reporter.keeps_checkpoints is False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reporter.checkpoint({"step": 1})
        reporter.checkpoint({"step": 2})
    assert [str(w.message) for w in caught] == [_worker.NO_STORE_MESSAGE]
    assert caught[0].category is CheckpointWarning
    assert "`artifacts:`" in _worker.NO_STORE_MESSAGE
    assert "tune(artifacts=...)" in _worker.NO_STORE_MESSAGE
    assert reporter.restore() is None
    assert reporter.restore(from_trial=0) is None


def test_a_study_in_memory_runs_a_checkpointing_objective_without_error() -> None:
    result = archtune.tune(
        obj.checkpointing,
        {"x": Float(0.0, 1.0), "steps": 3},
        objectives={"score": "max"},
        n_trials=2,
        seed=0,
    )
    assert result.counts == {"complete": 2}
    for trial in result.trials:
        assert trial.metrics["restored_step"] == -1.0  # nothing kept, nothing restored
        assert trial.metrics["reported"] == 3.0


# -- the store ------------------------------------------------------------------------------
def test_the_store_keeps_the_latest_checkpoint_atomically(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "study")
    assert store.load_checkpoint(0) is None
    for step in range(3):
        store.save_checkpoint(0, {"step": step})
    assert store.load_checkpoint(0) == {"step": 2}
    assert sorted(p.name for p in store.trial_dir(0).iterdir()) == ["checkpoint.pkl"]
    # a rerun (trial 5 of lineage 0) writes to its lineage and leaves a pointer
    store.save_checkpoint(0, {"step": 3}, trial=5)
    assert store.load_checkpoint(5) == {"step": 3}
    assert store.load_checkpoint(0) == {"step": 3}
    with pytest.raises(TypeError, match=r"state must be picklable"):
        store.save_checkpoint(1, {"fn": lambda: 1})
    assert store.load_checkpoint(1) is None


def test_an_unreadable_checkpoint_is_a_warning_and_treated_as_missing(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    store.save_checkpoint(2, {"step": 1})
    (store.trial_dir(2) / "checkpoint.pkl").write_bytes(b"not a pickle")
    with pytest.warns(CheckpointWarning, match=r"cannot be read"):
        assert store.load_checkpoint(2) is None
    (store.trial_dir(2) / "checkpoint.pkl").write_bytes(pickle.dumps({"step": 1}))
    with pytest.warns(CheckpointWarning, match=r"not an archtune checkpoint"):
        assert store.load_checkpoint(2) is None


# -- where checkpoints live -----------------------------------------------------------------
def test_the_default_folder_is_beside_an_sqlite_file_and_only_there(tmp_path: Path) -> None:
    assert default_artifact_root(f"sqlite:///{tmp_path}/runs.db") == tmp_path / "runs.artifacts"
    assert default_artifact_root("sqlite:///runs.db") == Path.cwd() / "runs.artifacts"
    assert default_artifact_root(None) is None
    assert default_artifact_root("sqlite:///:memory:") is None
    assert default_artifact_root("postgresql+psycopg://u:S3cret@db/studies") is None


def _experiment(**changes: Any) -> Any:
    from archtune.config import build_experiment

    data = {
        "name": "s",
        "objective": obj.quadratic,
        "space": {"x": Float(0, 1)},
        "objectives": {"score": "max"},
        "budget": {"trials": 1},
        "storage": None,
    }
    return build_experiment({**data, **changes}, source="test")


def test_the_folder_is_recorded_found_again_and_never_shared_with_a_former_study(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path}/t.db"
    experiment = _experiment(storage=db)
    study = optuna.create_study(study_name="s", storage=db)
    folder = artifact_folder(experiment, study)
    assert folder == tmp_path / "t.artifacts" / "s"
    assert study.user_attrs["archtune.artifacts"] == str(folder)
    assert json.loads((folder / "study.json").read_text())["study"] == "s"
    assert artifact_folder(experiment, study) == folder  # resumed: the recorded folder
    # The study is deleted and created again under the same name: a folder of its own.
    optuna.delete_study(study_name="s", storage=db)
    again = optuna.create_study(study_name="s", storage=db)
    assert artifact_folder(experiment, again) == tmp_path / "t.artifacts" / "s-2"
    # In memory: off unless a folder is named.
    memory = optuna.create_study(study_name="m")
    assert artifact_folder(_experiment(name="m"), memory) is None
    named = artifact_folder(_experiment(name="m", artifacts=str(tmp_path / "shared")), memory)
    assert named == tmp_path / "shared" / "m"


def test_a_postgres_url_with_a_password_never_reaches_the_folder_record(tmp_path: Path) -> None:
    url = "postgresql+psycopg://team:S3cret@db.example/studies"
    experiment = dataclasses.replace(_experiment(artifacts=str(tmp_path)), storage=url)
    folder = artifact_folder(experiment, optuna.create_study(study_name="s"))
    assert folder is not None
    record = (folder / "study.json").read_text()
    assert "S3cret" not in record
    assert "team:***@db.example" in record


@pytest.mark.parametrize(
    ("artifacts", "message"),
    [
        ("a_file.txt", r"^tune\(\): artifacts a_file.txt is a file, not a folder; give a "),
        ("a_file.txt/sub", r"^tune\(\): artifacts a_file.txt/sub cannot be created: .* is a file"),
    ],
)
def test_a_bad_artifacts_path_is_one_line_naming_the_field(artifacts: str, message: str) -> None:
    Path("a_file.txt").write_text("x")
    with pytest.raises(ConfigError, match=message) as caught:
        archtune.tune(
            obj.quadratic,
            {"x": Float(0, 1)},
            objectives={"score": "max"},
            n_trials=1,
            artifacts=artifacts,
        )
    assert "\n" not in str(caught.value)


def test_a_bad_artifacts_path_in_a_config_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: s\nobjective: objectives:quadratic\nspace: {x: {type: float, low: 0, high: 1}}\n"
        "objectives: {score: max}\nbudget: {trials: 1}\nartifacts: taken\n"
    )
    with pytest.raises(ConfigError, match=r"^.*c\.yaml: artifacts taken is a file, not a folder"):
        archtune.load_config(config)


# -- in real studies ------------------------------------------------------------------------
def test_checkpoints_round_trip_in_a_study_beside_its_sqlite_file() -> None:
    result = archtune.tune(
        obj.checkpointing,
        {"x": Float(0.0, 1.0), "steps": 4},
        objectives={"score": "max"},
        n_trials=2,
        n_workers=2,
        seed=0,
        storage="sqlite:///t.db",
        study_name="rt",
    )
    assert result.counts == {"complete": 2}
    folder = Path("t.artifacts", "rt").absolute()
    assert _study("sqlite:///t.db", "rt").user_attrs["archtune.artifacts"] == str(folder)
    for trial in result.trials:
        assert trial.metrics["resumed_from"] == 0.0  # the first attempt: nothing to restore
        assert trial.metrics["restored_step"] == 4.0  # the latest checkpoint is read back
        saved = ArtifactStore(folder).load_checkpoint(trial.number)
        assert saved == {"step": 4, "total": pytest.approx(4 * trial.config["x"])}


def test_a_killed_worker_reruns_its_trial_from_the_last_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHTUNE_TEST_MARKERS", str(tmp_path))
    result = archtune.tune(
        obj.checkpointing,
        {"x": Float(0.0, 1.0), "steps": 6, "kill_at": 3},
        objectives={"score": "max"},
        scheduler="none",
        n_trials=2,
        n_workers=2,
        seed=0,
        storage="sqlite:///t.db",
        study_name="kill",
    )
    assert result.counts == {"complete": 2, "interrupted": 2}
    study = _study("sqlite:///t.db", "kill")
    for lost in (t for t in study.trials if t.state == optuna.trial.TrialState.FAIL):
        assert [row["step"] for row in lost.user_attrs["archtune.curve"]] == [1, 2, 3]
        rerun = next(
            t for t in study.trials if t.user_attrs.get("archtune.retry_of") == lost.number
        )
        metrics = rerun.user_attrs["archtune.metrics"]
        assert metrics["resumed_from"] == 3.0  # continued at step 4
        assert metrics["reported"] == 3.0  # steps 4, 5, 6: none trained twice
        assert metrics["score"] == pytest.approx(6 * rerun.params["x"])
        # The rerun's curve is the whole lineage's: the first three steps are inherited.
        assert [row["step"] for row in rerun.user_attrs["archtune.curve"]] == [1, 2, 3, 4, 5, 6]
        assert rerun.user_attrs["archtune.inherited_steps"] == 3
        assert sorted(rerun.intermediate_values) == [1, 2, 3, 4, 5, 6]


def test_a_trial_restores_another_trials_checkpoint_by_number() -> None:
    result = archtune.tune(
        obj.copies_trial_zero,
        {"x": Float(0.0, 1.0)},
        objectives={"score": "max"},
        n_trials=3,
        n_workers=1,
        seed=0,
        storage="sqlite:///t.db",
        study_name="copy",
    )
    by_number = {t.number: t for t in result.trials}
    weights = by_number[0].config["x"]
    for number in (1, 2):
        assert by_number[number].metrics["copied"] == weights
        assert by_number[number].metrics["own"] == -2.0  # it saved nothing itself


# -- built-in training ------------------------------------------------------------------------
def _train_digits(
    reporter: Any, *, epochs: int = 5, schedule: str = "plateau"
) -> tuple[Any, dict[str, Any]]:
    from archtune.backends.torch import fit
    from archtune.data import load_dataset
    from archtune.recipe import Recipe

    nn = torch.nn
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 32),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(32, 10),
    )
    recipe = Recipe(
        optimizer="sgd",
        momentum=0.9,
        lr=0.05,
        schedule="plateau",
        plateau_patience=1,
        warmup_epochs=1,
        batch_size=64,
        epochs=epochs,
    )
    if schedule == "cosine":  # the rate changes at every step
        recipe = recipe.replace(schedule="cosine")
    if schedule == "piecewise":  # a value changes at every epoch a checkpoint may restore
        points = [
            {"epoch": 0, "lr": 0.05, "momentum": 0.0},
            {"epoch": 1, "lr": 0.03, "momentum": 0.9},
            {"epoch": 2, "lr": 0.02, "weight_decay": 1e-3},
            {"epoch": 3, "lr": 0.01, "momentum": 0.5, "label_smoothing": 0.1},
            {"epoch": 4, "lr": 0.005},
        ]
        recipe = recipe.replace(schedule="piecewise", piecewise=points, warmup_epochs=0)
    dataset = load_dataset("digits", seed=0, max_samples=600)
    result = fit(module, dataset, recipe, reporter=reporter, seed=7, resumable=True)
    return result, {k: v.clone() for k, v in module.state_dict().items()}


class _Killed(Exception):
    pass


class _DiesAtReport(NullReporter):
    """Raises (as a killed worker stops) when asked to report ``at``, before reporting it."""

    def __init__(self, at: int, checkpoints: dict[int, bytes]) -> None:
        super().__init__(checkpoints=checkpoints)
        self.at = at

    def report(self, step: int, **metrics: float) -> Decision:
        if step == self.at:
            raise _Killed
        return super().report(step, **metrics)


@pytest.mark.parametrize("schedule", ["plateau", "cosine", "piecewise"])
def test_resumed_training_ends_with_the_same_weights_as_an_uninterrupted_run(
    schedule: str,
) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        straight, straight_weights = _train_digits(NullReporter(), schedule=schedule)
        shared: dict[int, bytes] = {}
        with pytest.raises(_Killed):  # dies after epoch 3's checkpoint
            _train_digits(_DiesAtReport(4, shared), schedule=schedule)
        # Epoch 1 is always checkpointed; later ones unless checkpoints took > 2 % of the time.
        saved = NullReporter(checkpoints=shared).restore()
        assert 1 <= saved["epoch"] <= 3
        rerun = NullReporter(checkpoints=shared)
        resumed, resumed_weights = _train_digits(rerun, schedule=schedule)
    finally:
        torch.set_num_threads(threads)
    # Only the epochs after the checkpoint are trained again.
    assert [step for step, _ in rerun.history] == list(range(saved["epoch"] + 1, 6))
    assert resumed.metrics == straight.metrics  # validation and test, exactly
    assert resumed.epochs_run == 5
    assert resumed.n_steps == straight.n_steps
    assert [row["val_loss"] for row in resumed.history] == [
        row["val_loss"] for row in straight.history
    ]
    assert resumed_weights.keys() == straight_weights.keys()
    for name, tensor in straight_weights.items():
        assert torch.equal(resumed_weights[name], tensor), name


def test_a_checkpoint_of_another_recipe_is_not_restored() -> None:
    shared: dict[int, bytes] = {}
    _train_digits(NullReporter(checkpoints=shared), epochs=2)
    reporter = NullReporter(checkpoints=shared)
    with pytest.warns(CheckpointWarning, match=r"another recipe; training starts over"):
        result, _ = _train_digits(reporter, epochs=3)
    assert [step for step, _ in reporter.history] == [1, 2, 3]
    assert result.epochs_run == 3


def test_built_in_training_killed_mid_trial_resumes_and_ends_as_if_never_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from archtune.training import setup_training

    monkeypatch.setenv("ARCHTUNE_TEST_MARKERS", str(tmp_path))
    setup = setup_training(
        {"dataset": "digits", "max_samples": 600},
        {"family": "mlp", "space": "none", "width": [32, 48]},
        {"space": "none", "epochs": 5, "batch_size": 64},
    )
    result = archtune.tune(
        obj.KilledTrainObjective(setup.objective, at=2),
        setup.space,
        objectives={"val_accuracy": "max"},
        scheduler="none",
        sampler="grid",
        n_trials=2,
        n_workers=2,
        seed=0,
        storage="sqlite:///t.db",
        study_name="builtin",
    )
    assert result.counts == {"complete": 2, "interrupted": 2}
    study = _study("sqlite:///t.db", "builtin")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for rerun in (t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE):
            first = rerun.user_attrs["archtune.retry_of"]
            killed_after = int((tmp_path / f"killed-{first}").read_text())
            assert killed_after >= 2
            inherited = rerun.user_attrs["archtune.inherited_steps"]
            assert inherited == killed_after  # no epoch up to the checkpoint trained again
            curve = [row["step"] for row in rerun.user_attrs["archtune.curve"]]
            assert curve == [1, 2, 3, 4, 5]
            metrics = rerun.user_attrs["archtune.metrics"]
            assert metrics["epochs"] == 5.0
            config = setup.space.complete(rerun.params)
            straight = setup.objective(config, NullReporter(seed=first))  # seed: 0 + first
            for name in ("train_loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy"):
                assert metrics[name] == straight[name], name
    finally:
        torch.set_num_threads(threads)


def test_a_killed_driver_resumes_its_trials_from_their_checkpoints(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    config = tmp_path / "k.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "name": "driver",
                "objective": "objectives:checkpointing",
                "space": {
                    "x": {"type": "float", "low": 0.0, "high": 1.0},
                    "steps": {"type": "fixed", "value": 6},
                    "seconds": {"type": "fixed", "value": 0.3},
                },
                "objectives": {"score": "max"},
                "budget": {"trials": 2},
                "workers": 2,
                "scheduler": "none",
                "seed": 0,
            }
        )
    )
    command = [sys.executable, "-m", "archtune", "run", str(config), "--quiet"]
    driver = subprocess.Popen(command, env=cli_env, stdout=subprocess.DEVNULL)
    folder = tmp_path / "archtune.artifacts" / "driver"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and driver.poll() is None:
            saved = [json.loads(p.read_text()) for p in folder.glob("trial-*/reports.json")]
            if any(2 <= len(reports) < 6 for reports in saved):
                break
            time.sleep(0.05)
        os.kill(driver.pid, signal.SIGKILL)  # its record of the reports so far dies with it
        driver.wait(timeout=10)
    finally:
        if driver.poll() is None:
            driver.kill()
    resumed = subprocess.run(
        [*command, "--resume"], env=cli_env, capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    study = _study("sqlite:///archtune.db", "driver")
    reruns = [t for t in study.trials if "archtune.retry_of" in t.user_attrs]
    assert reruns
    resumed_any = False
    for rerun in reruns:
        metrics = rerun.user_attrs["archtune.metrics"]
        start = int(metrics["resumed_from"])
        resumed_any = resumed_any or start >= 2
        assert metrics["reported"] == 6 - start  # nothing before the checkpoint again
        assert rerun.user_attrs.get("archtune.inherited_steps", 0) == start
        assert [row["step"] for row in rerun.user_attrs["archtune.curve"]] == [1, 2, 3, 4, 5, 6]
    assert resumed_any
