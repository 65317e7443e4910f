"""Scores of tabular runs: regret of the incumbent, hypervolume of the front, mean ranks.

A run's incumbent after ``t`` trials is the configuration with the best *observed* value among
its first ``t`` trials (what its user would pick); it is scored by its *mean* over the table's
training seeds. Regret is that mean's distance from the table's best mean.

For two objectives, the run's front after ``t`` trials is the set of observed non-dominated
configurations; their mean metrics are normalised per metric so that the table's best mean is 0
and its median is 1 (``max`` metrics flipped; worse than the median is clipped to 1, so the
reference point (1, 1) is the table's median configuration on both metrics: diverged networks
with huge losses do not squash the interesting region), and the hypervolume is divided by the
hypervolume of the table's own front of means: 1.0 is the best possible.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.stats import rankdata

from benchmarks._methods import RunLog
from benchmarks._tabular import TabularProblem

__all__ = ["hv_curve", "hypervolume_2d", "mean_ranks", "regret_curve"]


def regret_curve(log: RunLog, problem: TabularProblem) -> list[float]:
    """Regret of the incumbent after each trial."""
    sign = 1.0 if problem.directions[0] == "min" else -1.0
    best_seen = np.inf
    incumbent = ""
    curve = []
    for key, values in zip(log.keys, log.values, strict=True):
        if sign * values[0] < best_seen:
            best_seen, incumbent = sign * values[0], key
        curve.append(abs(problem.mean(incumbent)[0] - problem.best_mean))
    return curve


def _normalised(problem: TabularProblem, points: np.ndarray) -> np.ndarray:
    """``points`` (rows of mean metrics) scaled per metric: table's best 0, its median 1."""
    best, median = _table_range(problem)
    scaled: np.ndarray = np.clip(
        (points - best) / np.where(median != best, median - best, 1.0), 0, 1
    )
    return scaled


@functools.cache
def _table_range(problem: TabularProblem) -> tuple[np.ndarray, np.ndarray]:
    """Each metric's best and median mean in the table."""
    means = problem.all_means()
    best = np.array(
        [
            means[:, i].min() if d == "min" else means[:, i].max()
            for i, d in enumerate(problem.directions)
        ]
    )
    return best, np.median(means, axis=0)


@functools.cache
def _table_hypervolume(problem: TabularProblem) -> float:
    return hypervolume_2d(_normalised(problem, problem.all_means()))


def hypervolume_2d(points: np.ndarray, reference: Sequence[float] = (1.0, 1.0)) -> float:
    """Hypervolume dominated by ``points`` (two metrics, both minimised) up to ``reference``."""
    inside = points[(points[:, 0] < reference[0]) & (points[:, 1] < reference[1])]
    if len(inside) == 0:
        return 0.0
    ordered = inside[np.lexsort((inside[:, 1], inside[:, 0]))]
    volume = 0.0
    ceiling = reference[1]
    for x, y in ordered:
        if y < ceiling:
            volume += (reference[0] - x) * (ceiling - y)
            ceiling = y
    return float(volume)


def _observed_front(values: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``values`` (minimised) that no other row dominates."""
    keep = []
    for i, row in enumerate(values):
        dominated = np.any(np.all(values <= row, axis=1) & np.any(values < row, axis=1))
        if not dominated:
            keep.append(i)
    return np.array(keep, dtype=int)


def hv_curve(
    log: RunLog, problem: TabularProblem, at: Iterable[int] | None = None
) -> dict[int, float]:
    """Hypervolume ratio of the run's front of means after each trial count in ``at``."""
    signs = np.array([1.0 if d == "min" else -1.0 for d in problem.directions])
    observed = np.array(log.values) * signs
    counts = list(at) if at is not None else list(range(1, len(log.keys) + 1))
    curve = {}
    for t in counts:
        front = _observed_front(observed[:t])
        keys = sorted({log.keys[i] for i in front})
        means = np.array([problem.mean(k) for k in keys])
        curve[t] = hypervolume_2d(_normalised(problem, means)) / _table_hypervolume(problem)
    return curve


def mean_ranks(
    scores: dict[tuple[str, int], dict[str, float]], *, lower_is_better: bool
) -> dict[str, float]:
    """Mean rank of each method over (problem, seed) cells; ties share the mean rank.

    ``scores[(problem, seed)][method]`` is a score; cells missing a method are skipped.
    """
    methods = sorted({m for cell in scores.values() for m in cell})
    ranks: dict[str, list[float]] = defaultdict(list)
    for cell in scores.values():
        if set(cell) != set(methods):
            continue
        values = np.array([cell[m] for m in methods])
        ordered = rankdata(values if lower_is_better else -values)
        for method, rank in zip(methods, ordered, strict=True):
            ranks[method].append(float(rank))
    return {m: float(np.mean(r)) for m, r in ranks.items()}
