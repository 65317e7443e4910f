"""Where ``module:function`` is imported from: the config's folder is searched last.

A config in an untrusted folder must not replace installed modules with that folder's files
(``yaml.py``, ``json.py``), while a module that exists only there is still found.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archtune.config import load_config
from archtune.execution import ObjectiveRef
from archtune.execution._ray import _import_path

SHADOWS = ("yaml", "json", "colorsys")  # installed, standard library, never imported here

OBJECTIVE = """
import colorsys  # the standard library's, not the folder's


def score(config):
    return {"score": config["x"] + colorsys.rgb_to_hsv(0.2, 0.4, 0.4)[0] * 0}
"""


def _untrusted_folder(root: Path) -> Path:
    folder = root / "untrusted"
    folder.mkdir()
    for name in SHADOWS:
        (folder / f"{name}.py").write_text(f"raise RuntimeError('the folder shadowed {name}')\n")
    (folder / "folder_objective.py").write_text(OBJECTIVE)
    config = {
        "name": "from-the-folder",
        "objective": "folder_objective:score",
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}},
        "objectives": {"score": "max"},
        "budget": {"trials": 2},
        "workers": 1,
        "scheduler": "none",
        "storage": f"sqlite:///{root / 'path.db'}",
        "seed": 0,
    }
    (folder / "study.yaml").write_text(yaml.safe_dump(config))
    return folder


def test_the_configs_folder_goes_last_on_sys_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _untrusted_folder(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.chdir(tmp_path)
    experiment = load_config(folder / "study.yaml")
    objective = experiment.objective
    assert objective.search_path == (str(tmp_path),)
    assert objective.fallback_path == (str(folder.resolve()),)
    fn = objective.load()  # found although only the folder has it
    assert fn({"x": 0.5}) == {"score": 0.5}
    assert sys.path[-1] == str(folder.resolve())
    assert sys.path[0] == str(tmp_path)
    for name in SHADOWS:  # what an import of each name would find now
        spec = importlib.machinery.PathFinder.find_spec(name, sys.path)
        assert spec is not None
        assert spec.origin is not None
        assert not spec.origin.startswith(str(folder.resolve())), name


def test_search_path_goes_first_and_fallback_path_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, last = tmp_path / "first", tmp_path / "last"
    for folder in (first, last):
        folder.mkdir()
    (last / "only_in_last.py").write_text("def fn(config):\n    return 1.0\n")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in (str(first), str(last))])
    ref = ObjectiveRef("only_in_last:fn", search_path=(str(first),), fallback_path=(str(last),))
    assert ref.load()({}) == 1.0
    assert sys.path[0] == str(first)
    assert sys.path[-1] == str(last)
    ref.load()  # a second load adds nothing
    assert sys.path.count(str(first)) == sys.path.count(str(last)) == 1


def test_ray_actors_get_the_configs_folder_last_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PYTHONPATH`` goes before the installed packages: the folder must stay out of it."""
    folder = _untrusted_folder(tmp_path)
    monkeypatch.setattr(sys, "path", [*sys.path, str(folder)])  # as after the driver's load
    monkeypatch.delenv("PYTHONPATH", raising=False)
    ref = ObjectiveRef(
        "folder_objective:score", search_path=(str(tmp_path),), fallback_path=(str(folder),)
    )
    entries = _import_path(ref).split(os.pathsep)
    assert str(folder) not in entries
    assert entries[0] == str(tmp_path)


@pytest.mark.integration
def test_a_config_in_an_untrusted_folder_runs_with_the_installed_modules(
    tmp_path: Path, cli_env: dict[str, str]
) -> None:
    """``archtune run`` from elsewhere: the driver and its worker processes import the real
    ``yaml``/``json``/``colorsys``, and the objective only the folder holds."""
    folder = _untrusted_folder(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "archtune", "run", str(folder / "study.yaml"), "--json"],
        env=cli_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "shadowed" not in done.stderr
    assert json.loads(done.stdout)["counts"] == {"complete": 2}
