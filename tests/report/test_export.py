"""Export retrains a built-in trial and checks the reloaded file against the framework."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest

from archtune import ConfigError, StudyStateError
from archtune.report._export import BUILTIN_ATTR, export_trial
from conftest import Studies

pytest.importorskip("torch")


@pytest.mark.parametrize(("fmt", "suffix"), [("onnx", ".onnx"), ("torchscript", ".pt")])
def test_export_round_trips(studies: Studies, tmp_path: Path, fmt: str, suffix: str) -> None:
    if fmt == "onnx":
        pytest.importorskip("onnxruntime")
    target = tmp_path / f"model{suffix}"
    done = export_trial(
        studies.multi, target, format=fmt, storage=studies.storage, smallest_within="1%"
    )
    assert target.is_file()
    assert done.max_abs_diff <= 1e-4
    # The worker's seed, recipe and thread count: the retrained model is the trial's model.
    assert done.threads == 1  # a local worker trains on one thread
    for metric in ("val_loss", "val_accuracy", "test_loss"):
        assert done.metrics[metric] == pytest.approx(done.trial.metrics[metric], rel=1e-12)
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
        x = np.zeros((3, 8, 8, 1), dtype=np.float32)  # digits: 8x8 images
        (out,) = session.run(None, {session.get_inputs()[0].name: x})
        assert out.shape == (3, 10)


def test_export_of_a_chosen_trial_number(studies: Studies, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    done = export_trial(
        studies.single, tmp_path / "m.onnx", format="onnx", storage=studies.storage, trial=0
    )
    assert done.trial.number == 0
    assert done.seed == 0  # seed 0 + trial 0


def test_export_errors(studies: Studies, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--format must be one of"):
        export_trial(studies.multi, tmp_path / "m", format="tflite", storage=studies.storage)
    with pytest.raises(ConfigError, match="needs the keras backend"):
        export_trial(studies.multi, tmp_path / "m.keras", format="keras", storage=studies.storage)
    with pytest.raises(ConfigError, match="not both"):
        export_trial(
            studies.multi,
            tmp_path / "m.onnx",
            format="onnx",
            storage=studies.storage,
            trial=0,
            smallest_within=0.01,
        )
    storage = f"sqlite:///{tmp_path / 'bare.db'}"
    optuna.copy_study(
        from_study_name=studies.single, from_storage=studies.storage, to_storage=storage
    )
    optuna.load_study(study_name=studies.single, storage=storage).set_user_attr(BUILTIN_ATTR, None)
    with pytest.raises(StudyStateError, match=r"has no archtune\.builtin record"):
        export_trial(studies.single, tmp_path / "m.onnx", format="onnx", storage=storage)


@pytest.mark.parametrize(("fmt", "suffix"), [("keras", ".keras"), ("onnx", ".onnx")])
def test_export_of_a_keras_study(tmp_path: Path, fmt: str, suffix: str) -> None:
    """A study trained on the Keras backend exports to .keras (and ONNX), checked on reload."""
    pytest.importorskip("keras")
    import archtune

    storage = f"sqlite:///{tmp_path / 'k.db'}"
    archtune.tune(
        data="digits",
        model={"family": "mlp", "space": "none", "depth": [1, 2]},
        recipe={"space": "none", "epochs": 1},
        backend="keras",
        n_trials=2,
        sampler="grid",
        scheduler="none",
        seed=0,
        storage=storage,
        study_name="keras-study",
    )
    target = tmp_path / f"model{suffix}"
    done = export_trial("keras-study", target, format=fmt, storage=storage)
    assert target.is_file()
    assert done.max_abs_diff <= 1e-4
