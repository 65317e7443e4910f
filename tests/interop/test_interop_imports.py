"""``archtune.interop`` imports without Keras or PyTorch; using an importer names the fix."""

from __future__ import annotations

import subprocess
import sys

BLOCK = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "keras", "tensorflow", "jax"}:
            raise ImportError(f"{name} is blocked in this test")
        return None
sys.meta_path.insert(0, Block())
"""


def test_interop_imports_without_frameworks_and_importers_name_the_install() -> None:
    code = BLOCK + (
        "from archtune.interop import from_keras, from_torch, ImportedModel\n"
        "from archtune.interop import kerastuner as kt\n"
        "hp = kt.HyperParameters()\n"
        "assert hp.Int('units', 8, 64, step=8) == 8\n"
        "assert not {'torch', 'keras'} & set(sys.modules)\n"
        "from archtune import MissingDependencyError\n"
        "for fn in (from_keras, from_torch):\n"
        "    try:\n"
        "        fn(object(), object()) if fn is from_torch else fn(object())\n"
        "    except MissingDependencyError as exc:\n"
        "        print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert 'pip install "archtune[keras]"' in done.stdout
    assert 'pip install "archtune[torch]"' in done.stdout
