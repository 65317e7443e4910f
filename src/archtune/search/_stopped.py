"""The values a trial stopped early is told to Optuna with.

A stopped trial is told COMPLETE so that samplers learn from what it showed, instead of ranking
it below every finished trial. Its values at the step where it stopped are not final values,
though: where a learning curve peaks mid-training (accuracy that falls as a network overfits),
a trial stopped at a late rung can show a value better than any finished trial will end with,
and a sampler told that value spends its budget around it. So each *trained* objective (one the
trial reports while training) is capped: the stopped trial ranks no better than any completed
trial that was at least as good at that step, and so outranked it there. Costs known before
training (``params``, ``flops``) are exact and told as they are.

Example:
    A trial stopped at 0.90 while a completed trial had 0.92 at that step and ended at 0.85:
    the stopped one would likely have fallen too, so it is told 0.85.

    >>> capped_value(0.90, "max", [(0.92, 0.85), (0.80, 0.95)])
    0.85
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from archtune.search._objectives import Direction
from archtune.search._scheduler_base import StudyView

__all__ = ["capped_value", "told_values"]


def capped_value(
    value: float, direction: Direction, rivals: Iterable[tuple[float, float]]
) -> float:
    """``value`` capped by the final values of the rivals that were at least as good.

    Args:
        value: The stopped trial's value at the step where it stopped.
        direction: ``max`` or ``min``.
        rivals: ``(value at that step, final value)`` of each completed trial.

    Returns:
        For ``max``, the smaller of ``value`` and the smallest final value among the rivals
        whose value at the step was ``>= value`` (for ``min``, mirrored); ``value`` itself when
        no rival was that good.
    """
    sign = 1.0 if direction == "max" else -1.0
    finals = [sign * final for at_step, final in rivals if sign * at_step >= sign * value]
    if not finals:
        return value
    return sign * min(sign * value, min(finals))


def told_values(
    study: StudyView, number: int, step: int, values: Mapping[str, float]
) -> list[float]:
    """The objective values to tell Optuna for trial ``number``, stopped at ``step``.

    Args:
        study: The driver's view: curves, precheck costs, phases and final metrics.
        number: The stopped trial.
        step: Its last reported step.
        values: ``{objective: value}`` it had when it stopped.

    Returns:
        The values in the order of the objectives, each trained objective capped by
        :func:`capped_value` against the completed trials' values at ``step`` (read as
        :meth:`StudyView.value_at` reads them) and their final values.
    """
    known_before_training = study.costs.get(number, {})
    told = []
    for metric, direction in study.objectives.directions:
        value = values[metric]
        if metric not in known_before_training:
            rivals = []
            for other, final in study.final.items():
                if study.phases.get(other) != "complete" or metric not in final:
                    continue
                at_step = study.value_at(other, step, metric)
                if at_step is not None:
                    rivals.append((at_step, float(final[metric])))
            value = capped_value(value, direction, rivals)
        told.append(value)
    return told
