"""``import archtune`` works with neither torch, keras nor ray installed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BLOCK_FRAMEWORKS = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "keras", "ray", "tensorflow", "jax"}:
            raise ImportError(f"{name} is blocked in this test")
        return None
sys.meta_path.insert(0, Block())
"""


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK_FRAMEWORKS + code],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_archtune_without_deep_learning_frameworks() -> None:
    done = run_python(
        "import archtune\n"
        "from archtune import Space, Float, Choice, tune, load_config\n"
        "import archtune.space, archtune.search, archtune.execution, archtune.config\n"
        "import archtune.cli\n"
        "space = Space({'lr': Float(1e-4, 1e-1, log=True), 'opt': Choice(['sgd', 'adam'])})\n"
        "assert not {'torch', 'keras', 'ray'} & set(sys.modules)\n"
        "print('ok')\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_study_runs_without_deep_learning_frameworks() -> None:
    done = run_python(
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "import archtune\n"
        "if __name__ == '__main__':\n"
        "    r = archtune.tune('objectives:number_only', {'x': archtune.Float(-1, 1)},"
        " objectives={'x': 'min'}, n_trials=3, seed=0)\n"
        "    print(r.counts)\n"
        "    assert not {'torch', 'keras', 'ray'} & set(sys.modules)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "'complete': 3" in done.stdout


def test_missing_optional_dependency_names_the_install_command() -> None:
    done = run_python(
        "from archtune._imports import require\n"
        "from archtune import MissingDependencyError\n"
        "try:\n"
        "    require('torch', extra='torch', feature='the PyTorch backend')\n"
        "except MissingDependencyError as e:\n"
        "    assert isinstance(e, ImportError)\n"
        "    print(e)\n"
    )
    assert done.returncode == 0, done.stderr
    assert 'pip install "archtune[torch]"' in done.stdout
