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


BLOCK_SHIMS = BLOCK.replace('{"torch", "keras", "tensorflow", "jax"}', '{"hyperopt", "ray"}')


def test_the_shims_import_without_hyperopt_or_ray_and_a_trainable_runs_without_ray() -> None:
    code = BLOCK_SHIMS + (
        "from archtune import MissingDependencyError, NullReporter\n"
        "from archtune.interop import hyperopt as ah, raytune as at\n"
        "from archtune.interop._ray_objective import RayTrainableObjective\n"
        "from archtune.interop._tree import ConvertedSpace, Leaf, MappingNode, Const\n"
        "from archtune.space import Float, Space\n"
        "for convert in (ah.from_hyperopt, at.from_ray_tune):\n"
        "    try:\n"
        "        convert({})\n"
        "    except MissingDependencyError as exc:\n"
        "        print(exc)\n"
        "def train(config):\n"
        "    for epoch in range(1, 4):\n"
        "        at.report({'loss': config['lr'] * epoch})\n"
        "space = ConvertedSpace(Space({'lr': Float(0.0, 1.0)}),\n"
        "                       MappingNode((('lr', Leaf('lr')), ('epochs', Const(3)))))\n"
        "reporter = NullReporter()\n"
        "metrics = RayTrainableObjective(train, space)({'lr': 0.5}, reporter)\n"
        "assert metrics == {'loss': 1.5, 'training_iteration': 3.0}, metrics\n"
        "assert [s for s, _ in reporter.history] == [1, 2, 3]\n"
        "assert not {'hyperopt', 'ray'} & {m.split('.')[0] for m in sys.modules}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert 'pip install "archtune[hyperopt]"' in done.stdout
    assert 'pip install "archtune[raytune]"' in done.stdout
