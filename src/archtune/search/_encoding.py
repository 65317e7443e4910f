"""Configurations of an archtune space (conditional ones too) as points of [0, 1]^d, and the
local moves between them that the ``light-gp`` sampler proposes.

Each searched parameter is one coordinate: numbers on [0, 1] (log scale where the parameter
is), categories as their index. A parameter whose ``when`` does not hold is *inactive*: a
number then sits at -1 (at 0.5 in what the GP sees, :meth:`Encoding.for_model`) and a category
at an extra index, so two configurations that both
lack it agree on it, and one that has it differs from one that does not by its parent's
category. Points are kept consistent with the conditions by :meth:`Encoding.repair`, which
walks the parameters in the space's order (parents first).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from archtune.space import Choice, Fixed, Float, Int, Space
from archtune.space._params import Param

__all__ = ["Encoding", "distributions_of", "space_of"]

#: Outside [0, 1], so it is never a value (0.5 would be the middle of many grids).
_INACTIVE_NUMBER = -1.0
#: Numeric grids up to this many values are snapped to; larger ones are rounded on decoding.
_MAX_GRID = 1000


def _same(a: Any, b: Any) -> bool:
    """Equality that tells ``1`` from ``True`` and ``1.0`` (as :meth:`Space.is_active` does)."""
    return type(a) is type(b) and a == b


def _index(options: Any, value: Any) -> int:
    for i, option in enumerate(options):
        if _same(option, value):
            return i
    raise ValueError(f"{value!r} is not one of {list(options)!r}")


def _to_unit(param: Int | Float, value: float) -> float:
    low, high, v = float(param.low), float(param.high), float(value)
    if param.log:
        low, high, v = math.log(low), math.log(high), math.log(v)
    return 0.0 if high == low else min(1.0, max(0.0, (v - low) / (high - low)))


def _from_unit(param: Int | Float, u: float) -> int | float:
    low, high = float(param.low), float(param.high)
    if param.log:
        value = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    else:
        value = low + u * (high - low)
    if isinstance(param, Int):
        steps = round((value - param.low) / param.step)
        return int(min(param.high, max(param.low, param.low + steps * param.step)))
    if param.step is not None:
        value = low + round((value - low) / param.step) * param.step
    return float(min(high, max(low, value)))


class Encoding:
    """Maps the configurations of ``space`` (its searched, non-fixed parameters) to [0, 1]^d."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self.names = [n for n, p in space.items() if not isinstance(p, Fixed)]
        self.params: list[Param] = [space[n] for n in self.names]
        self.is_cat = np.array([isinstance(p, Choice) for p in self.params], dtype=bool)
        self._column = {n: i for i, n in enumerate(self.names)}
        self.grids = [self._grid(p) for p in self.params]
        self._conditions = [self._condition(p) for p in self.params]
        self.conditional = any(c is not None for c in self._conditions)

    # -- one configuration ------------------------------------------------------------------
    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """The point of a configuration (parameters it lacks are inactive)."""
        point = np.empty(len(self.names))
        for i, (name, param) in enumerate(zip(self.names, self.params, strict=True)):
            if isinstance(param, Choice):
                value = config.get(name, _MISSING)
                missing = value is _MISSING
                point[i] = len(param.options) if missing else _index(param.options, value)
            elif name in config:
                assert isinstance(param, Int | Float)
                point[i] = _to_unit(param, config[name])
            else:
                point[i] = _INACTIVE_NUMBER
        return point

    def decode(self, point: np.ndarray) -> dict[str, Any]:
        """The configuration of a point: its active searched parameters."""
        config: dict[str, Any] = {}
        full: dict[str, Any] = {}
        for name, param in self.space.items():
            if not self.space.is_active(name, full):
                continue
            if isinstance(param, Fixed):
                full[name] = param.value
                continue
            u = float(point[self._column[name]])
            if isinstance(param, Choice):
                value: Any = param.options[min(len(param.options) - 1, round(u))]
            else:
                assert isinstance(param, Int | Float)
                value = _from_unit(param, u)
            full[name] = config[name] = value
        return config

    def for_model(self, points: np.ndarray) -> np.ndarray:
        """Points as the GP sees them: an inactive number at 0.5, the middle of its range, so
        two trials that lack it agree on it and one that has it is never far."""
        return np.where(points == _INACTIVE_NUMBER, 0.5, points)

    # -- many points ------------------------------------------------------------------------
    def random(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` random points, uniform in each active parameter (log scale where it is)."""
        points = rng.random((n, len(self.names)))
        for i, param in enumerate(self.params):
            if isinstance(param, Choice):
                points[:, i] = rng.integers(len(param.options), size=n)
        return self.repair(self.snap(points), rng)

    def latin_hypercube(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` points that cover every parameter's range evenly: each range (on its log scale
        where it has one; a choice's options) cut into ``n`` equal strata, one point in each,
        the strata of different parameters paired at random. A parameter with a few values
        (a grid) takes each about equally often: its range reaches half a step past each end,
        as Optuna's random sampler rounds an integer, so the end values are not drawn half as
        often as the others."""
        strata = rng.permuted(np.tile(np.arange(n), (len(self.names), 1)), axis=1).T
        points = (strata + rng.random(strata.shape)) / n
        for i, (param, grid) in enumerate(zip(self.params, self.grids, strict=True)):
            if isinstance(param, Choice):
                points[:, i] = np.floor(points[:, i] * len(param.options))
            elif grid is not None and len(grid) > 1:
                below, above = (grid[1] - grid[0]) / 2, (grid[-1] - grid[-2]) / 2
                points[:, i] = points[:, i] * (1 + below + above) - below
        return self.repair(self.snap(points), rng)

    def snap(self, points: np.ndarray) -> np.ndarray:
        """Move points to values the parameters can take (grids, category indices)."""
        out: np.ndarray = points.copy()
        for i, grid in enumerate(self.grids):
            if self.is_cat[i]:
                out[:, i] = np.round(points[:, i])
            else:
                out[:, i] = np.clip(points[:, i], 0.0, 1.0)
                if grid is not None:
                    out[:, i] = grid[np.argmin(np.abs(out[:, i, None] - grid[None, :]), axis=1)]
        return out

    def repair(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Make each point consistent with the conditions, parents first.

        A parameter that its parents make inactive takes the inactive value; one that becomes
        active while it held the inactive value takes a random value.
        """
        if not self.conditional:
            return points
        out = points.copy()
        active = np.ones(out.shape, dtype=bool)
        for i, condition in enumerate(self._conditions):
            if condition is None:
                continue
            mask = self._holds(out, active, condition)
            active[:, i] = mask
            param = self.params[i]
            if isinstance(param, Choice):
                inactive = len(param.options)
                revive = mask & (out[:, i] == inactive)
                out[revive, i] = rng.integers(inactive, size=int(revive.sum()))
                out[~mask, i] = inactive
            else:
                revive = mask & (out[:, i] == _INACTIVE_NUMBER)
                if revive.any():
                    out[revive, i] = self.snap_column(i, rng.random(int(revive.sum())))
                out[~mask, i] = _INACTIVE_NUMBER
        return out

    def active(self, points: np.ndarray) -> np.ndarray:
        """Which parameters each (consistent) point has."""
        active = np.ones(points.shape, dtype=bool)
        for i, condition in enumerate(self._conditions):
            if condition is not None:
                active[:, i] = self._holds(points, active, condition)
        return active

    @staticmethod
    def _holds(
        points: np.ndarray, active: np.ndarray, condition: list[tuple[Any, np.ndarray]]
    ) -> np.ndarray:
        mask = np.ones(len(points), dtype=bool)
        for parent, allowed in condition:
            if isinstance(parent, bool):  # a fixed parent: the condition is constant
                mask &= parent
                continue
            values = points[:, parent, None]
            mask &= active[:, parent] & np.any(np.isclose(values, allowed[None, :]), axis=1)
        return mask

    def snap_column(self, i: int, values: np.ndarray) -> np.ndarray:
        grid = self.grids[i]
        values = np.clip(values, 0.0, 1.0)
        if grid is None:
            return values
        return np.asarray(grid[np.argmin(np.abs(values[:, None] - grid[None, :]), axis=1)])

    def neighbours(self, point: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Every point one move away: another category, or the next value up or down (a tenth
        of the range, at least one step of the grid), of one active parameter."""
        rows: list[np.ndarray] = []
        active = self.active(point[None, :])[0]
        for i, param in enumerate(self.params):
            if not active[i]:
                continue
            if isinstance(param, Choice):
                current = round(point[i])
                for c in range(len(param.options)):
                    if c != current:
                        row = point.copy()
                        row[i] = c
                        rows.append(row)
                continue
            for delta in (-0.1, 0.1):
                row = point.copy()
                row[i] = self._moved(i, point[i], delta)
                if row[i] != point[i]:
                    rows.append(row)
        if not rows:
            return np.empty((0, len(self.names)))
        return self.repair(np.array(rows), rng)

    def perturb(
        self, point: np.ndarray, rng: np.random.Generator, n: int, *, changes: int = 3
    ) -> np.ndarray:
        """``n`` random points near ``point``: 1 to ``changes`` active parameters moved each
        (numbers by a normal step of 0.15 of their range, categories to another one)."""
        rows = np.repeat(point[None, :], n, axis=0)
        active = np.flatnonzero(self.active(point[None, :])[0])
        if len(active) == 0:
            return rows
        counts = rng.integers(1, min(changes, len(active)) + 1, size=n)
        order = np.argsort(rng.random((n, len(active))), axis=1)  # a random order per row
        chosen = np.zeros((n, len(self.names)), dtype=bool)
        chosen[:, active] = order < counts[:, None]
        for i in active.tolist():
            rows_i = chosen[:, i]
            k = int(rows_i.sum())
            if k == 0:
                continue
            param = self.params[i]
            if isinstance(param, Choice):
                size = len(param.options)
                if size > 1:
                    shift = rng.integers(1, size, size=k)
                    rows[rows_i, i] = (np.round(rows[rows_i, i]) + shift) % size
            else:
                rows[rows_i, i] = self.snap_column(i, rows[rows_i, i] + rng.normal(0.0, 0.15, k))
        return self.repair(rows, rng)

    # -- helpers ----------------------------------------------------------------------------
    def _moved(self, i: int, u: float, delta: float) -> float:
        """``u`` moved by ``delta`` on parameter ``i``, snapped; at least one grid step."""
        moved = float(self.snap_column(i, np.array([u + delta]))[0])
        grid = self.grids[i]
        if moved == u and grid is not None and len(grid) > 1:
            j = int(np.argmin(np.abs(grid - u))) + (1 if delta > 0 else -1)
            if 0 <= j < len(grid):
                moved = float(grid[j])
        return moved

    def _grid(self, param: Param) -> np.ndarray | None:
        if isinstance(param, Int) and (param.high - param.low) // param.step < _MAX_GRID:
            values: list[float] = list(range(param.low, param.high + 1, param.step))
        elif isinstance(param, Float) and param.step is not None:
            count = round((param.high - param.low) / param.step) + 1
            if count > _MAX_GRID:
                return None
            values = [param.low + k * param.step for k in range(count)]
        else:
            return None
        assert isinstance(param, Int | Float)
        return np.array([_to_unit(param, v) for v in values])

    def _condition(self, param: Param) -> list[tuple[Any, np.ndarray]] | None:
        """``[(parent column or a constant truth, allowed encoded values)]``, or ``None``."""
        if not param.when:
            return None
        out: list[tuple[Any, np.ndarray]] = []
        for parent_name, allowed in param.when.items():
            parent = self.space[parent_name]
            if isinstance(parent, Fixed):
                out.append((any(_same(parent.value, a) for a in allowed), np.empty(0)))
                continue
            codes = []
            for value in allowed:
                if isinstance(parent, Choice):
                    try:
                        codes.append(float(_index(parent.options, value)))
                    except ValueError:
                        continue
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    assert isinstance(parent, Int | Float)
                    codes.append(_to_unit(parent, value))
            out.append((self._column[parent_name], np.array(codes)))
        return out


_MISSING = object()


def space_of(distributions: Mapping[str, Any]) -> Space:
    """An unconditional archtune space from Optuna distributions (for studies without one)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    params: dict[str, Param] = {}
    for name, dist in distributions.items():
        if isinstance(dist, CategoricalDistribution):
            params[name] = Choice(list(dist.choices))
        elif isinstance(dist, IntDistribution):
            params[name] = Int(dist.low, dist.high, log=dist.log, step=dist.step)
        elif isinstance(dist, FloatDistribution):
            params[name] = Float(dist.low, dist.high, log=dist.log, step=dist.step)
    return Space(params)


def distributions_of(space: Space) -> dict[str, Any]:
    """The Optuna distributions :meth:`Space.sample` suggests, for every searched parameter."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out: dict[str, Any] = {}
    for name, param in space.items():
        if isinstance(param, Choice):
            out[name] = CategoricalDistribution(list(param.options))
        elif isinstance(param, Int):
            out[name] = IntDistribution(param.low, param.high, log=param.log, step=param.step)
        elif isinstance(param, Float):
            out[name] = FloatDistribution(param.low, param.high, log=param.log, step=param.step)
    return out
