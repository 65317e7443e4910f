"""The shrink suite's pieces: uniform pruning to a parameter count, and its tables."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from benchmarks import shrink

from archtune.arch import builtin_network, estimate_cost
from archtune.backends.torch import build_module


@pytest.mark.parametrize("target", [4, 20])
def test_uniform_reaches_the_parameter_count(target: int) -> None:
    network = builtin_network("cnn-32-64-64")
    state = build_module(network).state_dict()
    params = estimate_cost(network).params // target
    module, info = shrink._uniform(network, state, params)
    got = estimate_cost(module.network).params
    assert abs(got - params) / params < 0.1
    assert 0 < info["multiplier"] < 1


def _row(method: str, target: str, accuracy: float, **extra: object) -> dict[str, str]:
    row = {
        "model": "cnn",
        "seed": "0",
        "method": method,
        "target": target,
        "params": "4666",
        "flops": "400000",
        "reduction": "20.0",
        "val_accuracy": str(accuracy),
        "test_accuracy": str(accuracy),
        "baseline_test": "0.96",
        "epochs": "25",
        "compute": "9.0",
        "wall_s": "90",
    }
    return {**row, **{k: str(v) for k, v in extra.items()}}


def test_table_gives_the_gaps_in_points() -> None:
    rows = [
        _row("archtune (chosen)", "", 0.962),
        _row("archtune", "20.0", 0.97),
        _row("torch-pruning", "20.0", 0.96),
        _row("uniform", "20.0", 0.955),
    ]
    text = shrink.table(rows)
    line = next(line for line in text.splitlines() if line.startswith("| cnn | 20x"))
    assert "+1.00" in line  # archtune - Torch-Pruning, in points
    assert "+1.50" in line  # archtune - uniform
    chosen = next(line for line in text.splitlines() if line.startswith("| cnn | 1 |"))
    assert "+0.20" in chosen  # the chosen model's change against the baseline
    assert shrink.table([]) == "shrink: no runs yet"
