"""``archtune.arch`` imports no deep-learning framework; the torch backend imports it lazily."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ("torch", "tensorflow", "keras", "jax")


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


def test_import_arch_does_not_import_a_framework() -> None:
    result = _run(
        "import sys, archtune.arch\n"
        "archtune.arch.summarize(archtune.arch.builtin_network('cnn-32-64-64'))\n"
        f"print([m for m in {FRAMEWORKS!r} if m in sys.modules])\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_import_torch_backend_does_not_import_torch() -> None:
    result = _run("import sys, archtune.backends.torch\nprint('torch' in sys.modules)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_arch_works_without_torch_and_backend_names_the_install_command() -> None:
    # ``sys.modules["torch"] = None`` makes ``import torch`` fail as if it were not installed.
    result = _run(
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "from archtune.arch import builtin_network, count_params\n"
        "from archtune.backends.torch import build_module\n"
        "from archtune._errors import MissingDependencyError\n"
        "print(count_params(builtin_network('mlp-32-32')))\n"
        "try:\n"
        "    build_module(builtin_network('mlp-32-32'))\n"
        "except MissingDependencyError as err:\n"
        "    print(err)\n"
    )
    assert result.returncode == 0, result.stderr
    count, message = result.stdout.strip().splitlines()
    assert count == "1738"
    assert 'pip install "archtune[torch]"' in message
