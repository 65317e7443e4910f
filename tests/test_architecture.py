"""The layers of docs/architecture.md hold: no import runs back up (tools/import_graph.py)."""

from __future__ import annotations

from tools.import_graph import ALLOWED, LAYERS, arrows, layer_of, upward


def test_every_unit_is_in_a_layer() -> None:
    for arrow in arrows():
        for unit in arrow.units:
            layer_of(unit)  # KeyError names a unit missing from LAYERS
    assert len({u for layer in LAYERS for u in layer}) == sum(map(len, LAYERS))


def test_no_import_runs_back_up() -> None:
    found = [a for a in upward(arrows()) if (a.source, a.target) not in ALLOWED]
    lines = [f"{a.where}: {' -> '.join(a.units)} ({a.target})" for a in found]
    assert not lines, "upward imports (see docs/architecture.md, Layers):\n" + "\n".join(lines)


def test_the_kept_upward_imports_still_exist() -> None:
    kept = {(a.source, a.target) for a in upward(arrows())}
    assert set(ALLOWED) <= kept, f"remove from ALLOWED: {set(ALLOWED) - kept}"
