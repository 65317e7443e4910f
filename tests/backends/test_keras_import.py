"""Importing the Keras backend: lazily, with a Keras backend that is installed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("keras")
pytest.importorskip("torch")


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )


def _env_without_backend(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "KERAS_HOME")}
    env["HOME"] = str(home)  # no ~/.keras/keras.json
    return env


def test_importing_the_package_does_not_import_keras(tmp_path: Path) -> None:
    done = _run(
        "import sys\n"
        "import archtune.backends.keras, archtune.backends.torch\n"
        "from archtune.backends import get_backend\n"
        "assert 'keras' not in sys.modules and 'torch' not in sys.modules\n"
        "print('ok')\n",
        _env_without_backend(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is not None,
    reason="TensorFlow is installed: Keras's own default applies",
)
def test_without_a_configured_backend_keras_runs_on_torch(tmp_path: Path) -> None:
    done = _run(
        "import os\n"
        "from archtune.backends import get_backend\n"
        "backend = get_backend('keras')\n"
        "import keras\n"
        "print(os.environ['KERAS_BACKEND'], keras.config.backend())\n",
        _env_without_backend(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["torch", "torch"]


def test_a_configured_backend_is_respected(tmp_path: Path) -> None:
    (tmp_path / ".keras").mkdir()
    (tmp_path / ".keras" / "keras.json").write_text('{"backend": "jax"}')
    done = _run(
        "from archtune.backends.keras._keras import _configured_backend\n"
        "print(_configured_backend())\n",
        _env_without_backend(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "jax"


def test_a_missing_backend_framework_names_the_fix(tmp_path: Path) -> None:
    env = _env_without_backend(tmp_path)
    env["KERAS_BACKEND"] = "tensorflow"
    done = _run(
        "from archtune import MissingDependencyError\n"
        "from archtune.backends.keras import import_keras\n"
        "try:\n"
        "    import_keras()\n"
        "except MissingDependencyError as exc:\n"
        "    print(exc)\n",
        env,
    )
    assert done.returncode == 0, done.stderr
    if "tensorflow" not in done.stdout:  # TensorFlow is installed: nothing to report
        pytest.skip("TensorFlow is installed")
    assert "KERAS_BACKEND=torch" in done.stdout
