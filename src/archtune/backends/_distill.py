"""Knowledge distillation for every backend: :class:`Distillation` (framework-free).

The loss of a distilled classifier is::

    alpha * T**2 * KL(softmax(teacher / T) || softmax(student / T))
        + (1 - alpha) * cross_entropy(labels, student)        # with the recipe's smoothing

averaged over the batch. The teacher's logits are computed once, before training (e.g.
``backend.predict(teacher, dataset.x_train)``), and each shuffled batch takes the rows of
its samples.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from archtune._errors import ConfigError

if TYPE_CHECKING:
    from archtune.data import Dataset

__all__ = ["Distillation", "teacher_log_probs"]


def _real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True, eq=False)
class Distillation:
    """Train a classifier on a teacher's soft targets as well as the labels.

    Attributes:
        teacher_logits: ``(n_train, n_classes)``: the teacher's logits on ``dataset.x_train``,
            row ``i`` for sample ``i`` (the dataset's order, before any shuffling).
        temperature: Softens both distributions (``T > 0``); the soft term is scaled by
            ``T**2`` so that its gradients keep their size as ``T`` changes.
        alpha: The weight of the soft-target term, in ``[0, 1]``; ``1 - alpha`` weighs the
            cross-entropy on the labels (``0``: no distillation, ``1``: soft targets only).

    Example:
        >>> logits = backend.predict(teacher, dataset.x_train)         # doctest: +SKIP
        >>> backend.fit(student, dataset, recipe, distill=Distillation(logits))  # doctest: +SKIP

    Raises:
        ConfigError: ``temperature <= 0``, ``alpha`` outside ``[0, 1]``, or logits that are
            not a finite 2-D array.
    """

    teacher_logits: npt.NDArray[np.floating]
    temperature: float = 4.0
    alpha: float = 0.7

    def __post_init__(self) -> None:
        t, a = self.temperature, self.alpha
        if not _real(t) or not (math.isfinite(t) and t > 0):
            raise ConfigError(f"distill.temperature must be a finite number > 0, got {t!r}")
        if not _real(a) or not 0.0 <= a <= 1.0:
            raise ConfigError(f"distill.alpha must be a number in [0, 1], got {a!r}")
        logits = np.asarray(self.teacher_logits)
        if logits.ndim != 2 or not np.issubdtype(logits.dtype, np.number):
            raise ConfigError(
                "distill.teacher_logits must be a numeric array of shape (n_train, n_classes), "
                f"got {logits.dtype} of shape {logits.shape}"
            )
        if not np.isfinite(logits).all():
            raise ConfigError("distill.teacher_logits must be finite, got NaN or infinite values")

    def check(self, dataset: Dataset) -> None:
        """Check the logits against ``dataset``'s training split.

        Raises:
            ConfigError: A regression dataset, or logits not of shape
                ``(dataset.n_train, dataset.n_classes)``.
        """
        if dataset.n_classes is None:
            raise ConfigError(
                f"distill needs a classification dataset, got regression dataset "
                f"{dataset.name!r}; remove distill"
            )
        expected = (dataset.n_train, dataset.n_classes)
        got = tuple(np.shape(self.teacher_logits))
        if got != expected:
            raise ConfigError(
                f"distill.teacher_logits must have shape {expected} (n_train, n_classes) for "
                f"{dataset.name!r}, got {got}; compute them with "
                "backend.predict(teacher, dataset.x_train)"
            )


def teacher_log_probs(distill: Distillation, dataset: Dataset) -> npt.NDArray[np.float32]:
    """``log_softmax(teacher_logits / T)`` as float32, after :meth:`Distillation.check`."""
    distill.check(dataset)
    scaled = np.asarray(distill.teacher_logits, dtype=np.float64) / distill.temperature
    shifted = scaled - scaled.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return np.asarray(shifted - log_z, dtype=np.float32)
