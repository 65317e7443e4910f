"""Ranking trials at a rung: one objective by value, several by non-dominated sorting."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "dominates",
    "dominates_or_equals",
    "front_ranks",
    "kendall_tau",
    "non_dominated",
    "pareto_order",
]


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """``a`` dominates ``b`` (every value at least as good, one better; larger is better)."""
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(
        x > y for x, y in zip(a, b, strict=True)
    )


def dominates_or_equals(a: Sequence[float], b: Sequence[float]) -> bool:
    """``a`` is at least as good as ``b`` on every axis (larger is better)."""
    return all(x >= y for x, y in zip(a, b, strict=True))


def non_dominated(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the points no other point dominates (the first front)."""
    return _fronts(points)[0] if points else []


def _fronts(points: Sequence[Sequence[float]]) -> list[list[int]]:
    """Indices of ``points`` by non-dominated front (larger is better on every axis)."""
    remaining = list(range(len(points)))
    fronts: list[list[int]] = []
    while remaining:
        front = [
            i
            for i in remaining
            if not any(dominates(points[j], points[i]) for j in remaining if j != i)
        ]
        fronts.append(front)
        remaining = [i for i in remaining if i not in front]
    return fronts


def front_ranks(points: Sequence[Sequence[float]]) -> list[float]:
    """Each point's non-dominated front, negated so that larger is better (the first front
    is 0, the second -1, ...): a ranking of several objectives for a rank correlation."""
    ranks = [0.0] * len(points)
    for depth, front in enumerate(_fronts(points)):
        for i in front:
            ranks[i] = -float(depth)
    return ranks


def _crowding(points: Sequence[Sequence[float]], front: list[int]) -> dict[int, float]:
    distance = dict.fromkeys(front, 0.0)
    for axis in range(len(points[front[0]])):
        ordered = sorted(front, key=lambda i: points[i][axis])
        low, high = points[ordered[0]][axis], points[ordered[-1]][axis]
        distance[ordered[0]] = distance[ordered[-1]] = math.inf
        if high == low:
            continue
        for before, here, after in zip(ordered, ordered[1:], ordered[2:], strict=False):
            distance[here] += (points[after][axis] - points[before][axis]) / (high - low)
    return distance


def pareto_order(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of ``points`` best first: by front, then by crowding distance (NSGA-II's order).

    Every axis is "larger is better" (negate the minimised ones first). With one axis this is
    simply descending order.

    Example:
        >>> pareto_order([(0.9, -10), (0.8, -5), (0.7, -20)])
        [0, 1, 2]
    """
    order: list[int] = []
    for front in _fronts(points):
        crowding = _crowding(points, front)
        order += sorted(front, key=lambda i: (-crowding[i], i))
    return order


def kendall_tau(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Kendall's rank correlation (tau-b) of two equally long sequences; 0 when undefined."""
    concordant = discordant = ties_x = ties_y = 0
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            dx, dy = xs[i] - xs[j], ys[i] - ys[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt(
        (concordant + discordant + ties_x) * (concordant + discordant + ties_y)
    )
    return (concordant - discordant) / denominator if denominator else 0.0
