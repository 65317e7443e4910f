"""The import graph of ``src/archtune`` between its layers, and the arrows that run back up.

``python tools/import_graph.py`` prints every arrow between two units (a subpackage, or a
top-level module such as ``_errors``) with its count, then the upward ones with the file and
line of each import (lazy imports inside functions count too: they are arrows all the same).
``tests/test_architecture.py`` fails when an upward arrow appears. The layers are those of
docs/architecture.md ("Layers").
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ALLOWED", "LAYERS", "Arrow", "arrows", "layer_of", "unit_of", "upward"]

SRC = Path(__file__).resolve().parent.parent / "src"

#: Lowest first. A unit may import its own layer and those below, never one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("_errors", "_reporter", "_imports", "_redact", "_version"),
    ("space",),
    ("arch", "recipe", "data"),
    ("backends", "execution"),
    ("interop",),  # model import: from_keras, from_torch, ImportedModel
    ("search", "training"),
    ("config",),
    ("report",),
    ("_notebook", "_api"),
    ("shrinking",),
    ("interop.shims",),  # hyperopt, raytune, kerastuner: they call tune()
    ("testing", "cli", "__main__", "archtune"),
)

#: Modules of ``archtune.interop`` that are shims over ``tune()``, a layer of their own.
_SHIMS = (
    "hyperopt",
    "raytune",
    "kerastuner",
    "_hyperopt_objective",
    "_hyperopt_space",
    "_ray_objective",
    "_raytune_space",
    "_kt_objective",
    "_kt_hyperparameters",
    "_session",
    "_tree",
)

#: Upward imports kept on purpose, by (importing module, imported module): each is lazy, inside
#: one function, and says why. The test fails on any other upward import, and on an entry here
#: that no longer exists.
ALLOWED: dict[tuple[str, str], str] = {
    ("archtune.recipe", "archtune.backends.torch._lr_find"): (
        "archtune.recipe.find_lr, a deprecated alias of archtune.backends.torch.find_lr"
    ),
    ("archtune.search._result", "archtune.report._inline"): (
        "TuneResult.report(), the notebook's one-call report (archtune.report builds it)"
    ),
    ("archtune.backends.keras._state", "archtune.interop"): (
        "KerasBackend.get_state of a Keras model it did not build reads it with from_keras"
    ),
}


@dataclass(frozen=True)
class Arrow:
    """One import of a unit by another: the modules, the units, where it stands."""

    source: str
    target: str
    where: str

    @property
    def units(self) -> tuple[str, str]:
        """The importing unit and the imported one."""
        return unit_of(self.source), unit_of(self.target)


def unit_of(module: str) -> str:
    """The unit of a dotted module name: ``archtune.search._driver`` → ``search``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "archtune"
    if parts[1] == "interop" and len(parts) > 2 and parts[2] in _SHIMS:
        return "interop.shims"
    return parts[1]


def layer_of(unit: str) -> int:
    """The index of ``unit``'s layer in :data:`LAYERS`."""
    for index, layer in enumerate(LAYERS):
        if unit in layer:
            return index
    raise KeyError(f"{unit!r} is in no layer of LAYERS; add it to tools/import_graph.py")


def _module_name(path: Path, src: Path) -> tuple[str, str]:
    parts = path.relative_to(src).with_suffix("").parts
    if parts[-1] == "__init__":
        name = ".".join(parts[:-1])
        return name, name
    name = ".".join(parts)
    return name, name.rsplit(".", 1)[0]


def _targets(node: ast.AST, package: str, src: Path) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = package.split(".")[: len(package.split(".")) - node.level + 1]
        target = ".".join([*base, node.module] if node.module else base)
    else:
        target = node.module or ""
    names = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        is_module = (src / sub.replace(".", "/")).is_dir() or (
            src / (sub.replace(".", "/") + ".py")
        ).is_file()
        names.append(sub if is_module else target)
    return names


def arrows(src: Path = SRC) -> list[Arrow]:
    """Every import of one archtune unit by another, lazy imports included."""
    found = []
    for path in sorted((src / "archtune").rglob("*.py")):
        module, package = _module_name(path, src)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _targets(node, package, src):
                if target.split(".")[0] != "archtune":
                    continue
                if unit_of(module) != unit_of(target):
                    where = f"{path.relative_to(src)}:{getattr(node, 'lineno', 0)}"
                    found.append(Arrow(module, target, where))
    return found


def upward(found: list[Arrow]) -> list[Arrow]:
    """The arrows from a unit to one in a higher layer."""
    return [a for a in found if layer_of(a.units[1]) > layer_of(a.units[0])]


def main() -> int:
    """Print the graph's arrows and the upward ones."""
    found = arrows()
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for arrow in found:
        counts[arrow.units] += 1
    for (a, b), n in sorted(counts.items(), key=lambda kv: (layer_of(kv[0][0]), kv[0])):
        print(f"{a} -> {b}: {n}")
    up = upward(found)
    pairs = {arrow.units for arrow in up}
    print(f"\nupward: {len(up)} imports in {len(pairs)} arrows")
    for arrow in up:
        kept = ALLOWED.get((arrow.source, arrow.target))
        note = f" (kept: {kept})" if kept else ""
        print(f"  {' -> '.join(arrow.units)}: {arrow.where} {arrow.target}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
