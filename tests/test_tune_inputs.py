"""What `tune()` takes from a Python user: arrays in memory as data, a resume kept on its own
data, and the messages for a misspelt key, a long input, a misspelt family."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_wine

import archtune
from archtune import ConfigError, StudyStateError
from archtune.data import DatasetError, load_dataset
from archtune.search._result import load_result

_TINY = {
    "model": {"family": "mlp", "space": "none", "depth": 1, "width": 8},
    "recipe": {"space": "none", "epochs": 1, "lr": 0.01},
    "sampler": "random",
    "scheduler": "none",
    "progress": False,
    "seed": 0,
}


def _wine() -> tuple[np.ndarray, np.ndarray]:
    x, y = load_wine(return_X_y=True)
    return x, y


def test_arrays_are_written_once_and_trained_on(tmp_path: Path) -> None:
    x, y = _wine()
    names = np.array(["barolo", "grignolino", "barbera"], dtype=object)[y]
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    result = archtune.tune(
        data={"dataset": (x, names), "val_fraction": 0.25},
        n_trials=1,
        storage=storage,
        study_name="wine",
        **_TINY,  # type: ignore[arg-type]
    )
    (trial,) = result.trials
    assert trial.metrics["val_accuracy"] > 1 / 3  # learned something in one epoch
    (written,) = (tmp_path / "runs.artifacts" / "data").glob("arrays-*.npz")
    dataset = load_dataset(str(written), val_fraction=0.25)
    assert dataset.classes == ("barbera", "barolo", "grignolino")  # text labels kept
    assert sum(len(dataset.split(s)[0]) for s in ("train", "val", "test")) == len(x)
    # The same arrays again: the same file, so the study resumes on its data.
    again = archtune.tune(
        data={"dataset": (x, names), "val_fraction": 0.25},
        n_trials=2,
        storage=storage,
        study_name="wine",
        resume=True,
        **_TINY,  # type: ignore[arg-type]
    )
    assert again.counts == {"complete": 2}
    assert len(list((tmp_path / "runs.artifacts" / "data").glob("*.npz"))) == 1


def test_a_mapping_of_arrays_is_data_too() -> None:
    x, y = _wine()
    result = archtune.tune(data={"x": x, "y": y}, n_trials=1, **_TINY)  # type: ignore[arg-type]
    assert result.counts == {"complete": 1}


def test_a_study_resumed_on_other_data_is_refused_and_keeps_its_trials(tmp_path: Path) -> None:
    x, y = _wine()
    storage = f"sqlite:///{tmp_path / 'runs.db'}"
    archtune.tune(data=(x, y), n_trials=1, storage=storage, study_name="s", **_TINY)  # type: ignore[arg-type]
    with pytest.raises(StudyStateError, match=r"its data was .* resume with the original data"):
        archtune.tune(
            data=(x[:100], y[:100]),
            n_trials=2,
            storage=storage,
            study_name="s",
            resume=True,
            **_TINY,  # type: ignore[arg-type]
        )
    with pytest.raises(StudyStateError, match="its data was"):
        archtune.tune(
            data="digits",
            n_trials=2,
            storage=storage,
            study_name="s",
            resume=True,
            **_TINY,  # type: ignore[arg-type]
        )
    assert load_result("s", storage=storage).counts == {"complete": 1}


def test_features_that_are_not_numbers_get_a_clear_error() -> None:
    x = np.array([["a", 1.0]] * 20, dtype=object)
    with pytest.raises(DatasetError, match="x holds values that are not numbers"):
        archtune.tune(data=(x, np.zeros(20)), n_trials=1, **_TINY)  # type: ignore[arg-type]


def test_a_misspelt_data_key_lists_the_allowed_ones() -> None:
    with pytest.raises(ConfigError, match=r"did you mean 'max_samples'\?\); allowed: dataset"):
        archtune.tune(data={"dataset": "wine", "max_sample": 10}, n_trials=1, **_TINY)  # type: ignore[arg-type]


def test_an_error_quotes_a_long_input_short() -> None:
    with pytest.raises(ConfigError) as caught:
        archtune.tune(data={"dataset": np.zeros((500, 30))}, n_trials=1, **_TINY)  # type: ignore[arg-type]
    assert "data.dataset must be a string, got a ndarray (" in str(caught.value)
    assert len(str(caught.value)) < 200


def test_no_start_is_left_waiting_beyond_the_budget() -> None:
    result = archtune.tune(
        data="wine",
        model={"family": "mlp"},
        recipe={"epochs": 1},
        n_trials=1,
        progress=False,
        seed=0,
    )
    assert result.counts == {"complete": 1}
    assert len(result.study.trials) == 1


def test_a_misspelt_family_name_is_answered_with_the_families() -> None:
    with pytest.raises(ConfigError, match=r"or a family: mlp, .*; did you mean 'mlp'\?"):
        archtune.tune(data="wine", model="mlpp", n_trials=1, progress=False)


def test_a_model_object_is_refused_with_the_call_that_takes_it() -> None:
    import torch

    from archtune.interop import from_torch

    module = torch.nn.Sequential(torch.nn.Linear(13, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    imported = from_torch(module, torch.zeros(1, 13), head_activation="softmax")
    for model in (imported, module):
        with pytest.raises(
            ConfigError, match=r"is the baseline of archtune.shrink\(model, data\)"
        ):
            archtune.tune(data="wine", model=model, n_trials=1, progress=False)  # type: ignore[arg-type]
