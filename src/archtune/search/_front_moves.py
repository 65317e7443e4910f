"""Candidates that move along an accuracy/size front: a good recipe tried at other sizes.

A network's configuration mixes parameters that set its size (depth, width, kernel) with
parameters its size does not depend on (the training recipe, dropout, the activation). Along
the front of accuracy against size, the members differ mostly in the first kind, while a good
value of the second kind, a learning rate and schedule that train well, is good for their
neighbours too. So besides moving one to three parameters of a member, the front-gain proposal
scores *crossovers*: each member's size with another member's size-free part. The search then
tries the recipe that made one network accurate on the smaller networks of the front, in one
proposal instead of the several local moves it would take to carry it over.

Which parameters are size-free is found, not declared: each coordinate is moved over its range
at a few points, and those whose moves never change the known cost are size-free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from archtune.search._encoding import Encoding
from archtune.space import Choice

__all__ = ["cost_free_columns", "crossovers"]

#: Values tried for a number coordinate: its ends and its middle (unit scale).
_NUMBER_PROBES = (0.0, 0.5, 1.0)


def cost_free_columns(
    encoding: Encoding,
    points: np.ndarray,
    cost_of: Callable[[Mapping[str, Any]], float | None],
    rng: np.random.Generator,
) -> np.ndarray:
    """Which coordinates the cost does not depend on at any of ``points``.

    A coordinate is cost-bearing if moving it (every category, or a number to its ends and
    middle) changes the cost at one of the points, or makes the configuration unbuildable.
    """
    free = np.ones(len(encoding.names), dtype=bool)
    for point in points:
        base = cost_of(encoding.decode(point))
        if base is None:
            continue
        for i, param in enumerate(encoding.params):
            if not free[i]:
                continue
            if isinstance(param, Choice):
                values = np.arange(len(param.options), dtype=float)
            else:
                values = encoding.snap_column(i, np.array(_NUMBER_PROBES))
            rows = np.repeat(point[None, :], len(values), axis=0)
            rows[:, i] = values
            for row in encoding.repair(rows, rng):
                cost = cost_of(encoding.decode(row))
                if cost is None or cost != base:
                    free[i] = False
                    break
    return free


def crossovers(
    encoding: Encoding, members: np.ndarray, free: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Every member's cost-bearing coordinates with each other member's cost-free ones."""
    if len(members) < 2 or not free.any() or free.all():
        return np.empty((0, len(encoding.names)))
    rows = []
    for a, size in enumerate(members):
        for b, recipe in enumerate(members):
            if a != b:
                row = size.copy()
                row[free] = recipe[free]
                rows.append(row)
    return encoding.repair(np.array(rows), rng)
