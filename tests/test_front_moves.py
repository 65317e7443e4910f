"""Crossover candidates on an accuracy/size front: which parameters the known cost ignores is
found by probing, and each crossover keeps one member's size and takes another's recipe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from archtune.search._encoding import Encoding
from archtune.search._front_moves import cost_free_columns, crossovers
from archtune.space import Choice, Float, Int, Space

SPACE = Space(
    {
        "width": Int(4, 256, log=True),
        "depth": Int(1, 4),
        "optimizer": Choice(["sgd", "momentum", "adam"]),
        "momentum": Float(0.5, 0.99, when={"optimizer": "momentum"}),
        "lr": Float(1e-4, 1.0, log=True),
        "pool": Choice(["max", "none"]),
    }
)


def _params(config: Mapping[str, Any]) -> float | None:
    width, depth = int(config["width"]), int(config["depth"])
    if width > 200 and config["pool"] == "none":
        return None  # too large to build
    return float(depth * width * width)


def test_the_columns_the_cost_ignores_are_found_by_probing() -> None:
    encoding = Encoding(SPACE)
    points = np.array(
        [
            encoding.encode(
                {"width": 16, "depth": 2, "optimizer": "adam", "lr": 0.01, "pool": "max"}
            )
        ]
    )
    free = cost_free_columns(encoding, points, _params, np.random.default_rng(0))
    by_name = dict(zip(encoding.names, free.tolist(), strict=True))
    # At width 16 "pool" changes nothing (see the next test for a width where it does).
    assert by_name == {
        "width": False,
        "depth": False,
        "optimizer": True,
        "momentum": True,
        "lr": True,
        "pool": True,
    }
    # No point with a cost: nothing is learned, and crossovers of an all-free mask are none.
    assert cost_free_columns(encoding, points, lambda c: None, np.random.default_rng(0)).all()


def test_a_choice_that_makes_a_network_unbuildable_bears_cost() -> None:
    encoding = Encoding(SPACE)
    wide = encoding.encode(
        {"width": 256, "depth": 1, "optimizer": "sgd", "lr": 0.1, "pool": "max"}
    )
    free = cost_free_columns(encoding, wide[None, :], _params, np.random.default_rng(0))
    assert not free[encoding.names.index("pool")]


def test_each_crossover_keeps_a_members_size_and_takes_anothers_recipe() -> None:
    encoding = Encoding(SPACE)
    members = [
        {"width": 8, "depth": 1, "optimizer": "sgd", "lr": 0.3, "pool": "max"},
        {
            "width": 32,
            "depth": 2,
            "optimizer": "momentum",
            "momentum": 0.9,
            "lr": 0.01,
            "pool": "max",
        },
        {"width": 128, "depth": 3, "optimizer": "adam", "lr": 0.001, "pool": "none"},
    ]
    points = np.array([encoding.encode(m) for m in members])
    free = np.array([n in ("optimizer", "momentum", "lr") for n in encoding.names])
    rows = crossovers(encoding, points, free, np.random.default_rng(0))
    assert len(rows) == 6  # every ordered pair of different members
    pairs = set()
    for row in rows:
        (size,) = np.flatnonzero((points[:, ~free] == row[~free]).all(axis=1))
        (source,) = np.flatnonzero((points[:, free] == row[free]).all(axis=1))
        assert size != source
        pairs.add((int(size), int(source)))
    config = encoding.decode(rows[0])  # a valid configuration: momentum only with its optimizer
    assert ("momentum" in config) == (config["optimizer"] == "momentum")
    assert len(pairs) == 6
    assert len(crossovers(encoding, points[:1], free, np.random.default_rng(0))) == 0
    assert len(crossovers(encoding, points, np.ones_like(free), np.random.default_rng(0))) == 0
