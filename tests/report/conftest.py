"""Two small real studies (built-in training on digits), made once per module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest

import archtune
from archtune.report._export import BUILTIN_ATTR

MODEL = {"family": "mlp", "space": "none", "depth": [1, 2]}
RECIPE = {
    "space": "none",
    "epochs": 2,
    "lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True},
}


@dataclass(frozen=True)
class Studies:
    storage: str
    multi: str
    single: str


@pytest.fixture(scope="package")
def studies(tmp_path_factory: pytest.TempPathFactory) -> Studies:
    path: Path = tmp_path_factory.mktemp("report") / "studies.db"
    storage = f"sqlite:///{path}"
    common = {"data": "digits", "model": MODEL, "recipe": RECIPE, "storage": storage, "seed": 0}
    archtune.tune(
        objectives={"val_accuracy": "max", "params": "min"},
        n_trials=6,
        study_name="multi",
        **common,  # type: ignore[arg-type]
    )
    archtune.tune(
        objectives={"val_accuracy": "max"},
        n_trials=3,
        study_name="single",
        **common,  # type: ignore[arg-type]
    )
    for name in ("multi", "single"):  # built-in training records what rebuilds its trials
        assert BUILTIN_ATTR in optuna.load_study(study_name=name, storage=storage).user_attrs
    return Studies(storage, "multi", "single")
