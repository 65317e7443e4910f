"""The selection policy: choose on validation, confirm on test, say how sure that is.

The chosen model is the cheapest fine-tuned candidate whose validation accuracy is at least the
baseline's minus ``max_drop``; the test split only reports (an accuracy with its 95 % Wilson
interval, and the paired change against the baseline on the same test rows with its 95 %
interval), so the choice is not fitted to the numbers it is judged by. Candidates far below
the baseline (more than ``FAR_BELOW`` on validation, or no better than always answering the
most frequent class) are not offered.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["FAR_BELOW", "choose", "paired_change", "useful", "wilson_interval"]

FAR_BELOW = 0.05
"""Candidates this far below the baseline's validation accuracy are not offered."""

Z95 = 1.959964


def wilson_interval(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of an accuracy of ``correct`` out of ``n``."""
    if n <= 0:
        return (math.nan, math.nan)
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def paired_change(
    candidate: np.ndarray, baseline: np.ndarray, z: float = Z95
) -> tuple[float, float, float]:
    """The change in accuracy from ``baseline`` to ``candidate`` on the same rows, with its
    95 % interval: ``(change, low, high)``.

    Both arrays hold one boolean per test row (correct or not); the interval is the normal
    approximation of the mean of the per-row differences, which counts only the rows where
    the two models disagree (as McNemar's test does).
    """
    a = np.asarray(candidate, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if a.shape != b.shape or a.size == 0:
        return (math.nan, math.nan, math.nan)
    diff = a - b
    mean = float(diff.mean())
    half = z * float(diff.std(ddof=1)) / math.sqrt(diff.size) if diff.size > 1 else math.nan
    return (mean, mean - half, mean + half)


def trivial_accuracy(labels: np.ndarray) -> float:
    """The accuracy of always answering the most frequent class."""
    if labels.size == 0:
        return 0.0
    return float(np.bincount(labels.astype(np.int64)).max() / labels.size)


def useful(val_accuracy: float, baseline_val: float, trivial: float) -> bool:
    """Whether a candidate is worth offering (not far below the baseline, above trivial)."""
    return val_accuracy >= baseline_val - FAR_BELOW and val_accuracy > trivial


def choose(
    costs: Sequence[float], val_accuracies: Sequence[float], baseline_val: float, max_drop: float
) -> int | None:
    """The index of the cheapest candidate within ``max_drop`` of the baseline on validation.

    Ties in cost go to the more accurate. ``None`` when none is within.
    """
    floor = baseline_val - max_drop - 1e-12
    fits = [i for i, acc in enumerate(val_accuracies) if acc >= floor]
    if not fits:
        return None
    return min(fits, key=lambda i: (costs[i], -val_accuracies[i]))
