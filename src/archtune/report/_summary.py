"""The numbers behind a report: compute spent, the chosen model, gains, importances."""

from __future__ import annotations

import logging
import math
import statistics
import warnings
from dataclasses import dataclass, field
from typing import Any

from archtune._errors import ConfigError, StudyStateError
from archtune.report._shrink import ShrinkView, shrink_view
from archtune.search import TrialResult, TuneResult
from archtune.search import _attrs as attrs

__all__ = [
    "BASELINE_ATTR",
    "COST_METRICS",
    "LR_FIND_ATTR",
    "Summary",
    "cost_metrics",
    "pick_trial",
    "quality_metric",
    "summarize",
]

logger = logging.getLogger("archtune")

COST_METRICS = ("params", "flops", "latency_ms")
LR_FIND_ATTR = "archtune.lr_find"
BASELINE_ATTR = "archtune.baseline"
"""Optional study attribute: ``{"label": str, "metrics": {metric: value}, "config": {...}}``."""


def quality_metric(result: TuneResult) -> tuple[str, str] | None:
    """The first objective that is not a cost (``("val_accuracy", "max")``), if any."""
    for name, direction in result.objectives.directions:
        if name not in COST_METRICS:
            return name, direction
    return None


def cost_metrics(result: TuneResult) -> list[str]:
    """The costs the complete trials recorded (params, flops, latency_ms), in that order."""
    complete = _complete(result)
    return [
        m for m in COST_METRICS if any(_number(t.metrics.get(m)) is not None for t in complete)
    ]


def _complete(result: TuneResult) -> list[TrialResult]:
    return [t for t in result.trials if t.status == "complete"]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _value(trial: TrialResult, metric: str, result: TuneResult) -> float | None:
    if metric in trial.metrics:
        return _number(trial.metrics[metric])
    names = result.objectives.names
    if trial.values is not None and metric in names:
        return float(trial.values[names.index(metric)])
    return None


def _better(direction: str) -> float:
    return 1.0 if direction == "max" else -1.0


def _parse_drop(drop: float | str) -> float:
    text = str(drop).strip()
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ConfigError(
            f"--pick smallest-within takes a drop such as 0.01 or 1%, got {drop!r}"
        ) from None
    if value < 0:
        raise ConfigError(f"--pick smallest-within takes a drop of 0 or more, got {drop!r}")
    return value


def pick_trial(
    result: TuneResult, *, trial: int | None = None, smallest_within: float | str | None = None
) -> TrialResult:
    """The trial to report or export.

    Args:
        result: The study.
        trial: This trial number (complete or stopped).
        smallest_within: The smallest model (first cost: params, flops, latency_ms) whose
            quality is at most this far from the best (``0.01`` or ``"1%"``: one point).

    Default: the best trial by the quality objective (the first objective that is not a cost).

    Raises:
        StudyStateError: no such trial, or no complete trial to choose from.
        ConfigError: both selectors given, or a bad drop.
    """
    if trial is not None and smallest_within is not None:
        raise ConfigError("give --trial or --pick, not both")
    if trial is not None:
        found = [t for t in result.trials if t.number == trial]
        if not found:
            raise StudyStateError(f"study {result.name!r} has no trial {trial}")
        if found[0].status not in ("complete", "stopped"):
            raise StudyStateError(
                f"trial {trial} of study {result.name!r} is {found[0].status}; pick a complete "
                "trial"
            )
        return found[0]
    complete = _complete(result)
    if not complete:
        raise StudyStateError(f"study {result.name!r} has no complete trial yet")
    quality = quality_metric(result)
    if quality is None:
        return result.best_trials[0]
    metric, direction = quality
    sign = _better(direction)
    scored = [(t, _value(t, metric, result)) for t in complete]
    scored = [(t, v) for t, v in scored if v is not None]
    if not scored:
        raise StudyStateError(f"no complete trial of study {result.name!r} recorded {metric}")
    costs = cost_metrics(result)

    def cheapness(t: TrialResult) -> float:
        """Minus the first cost: of trials equally good, the cheapest is the best (the others
        are not on the front)."""
        cost = _value(t, costs[0], result) if costs else None
        return -cost if cost is not None else -math.inf

    best_trial, best = max(scored, key=lambda tv: (sign * tv[1], cheapness(tv[0])))  # type: ignore[operator]
    if smallest_within is None:
        return best_trial
    drop = _parse_drop(smallest_within)
    if not costs:
        raise StudyStateError(
            f"study {result.name!r} records no cost (params, flops, latency_ms) to minimise"
        )
    near = [t for t, v in scored if sign * (best - v) <= drop + 1e-12]  # type: ignore[operator]

    def key(t: TrialResult) -> tuple[float, float]:
        cost = _value(t, costs[0], result)
        return (
            cost if cost is not None else float("inf"),
            -sign * (_value(t, metric, result) or 0),
        )

    return min(near, key=key)


@dataclass(frozen=True)
class Summary:
    """Everything a report states, as plain data (no figures).

    Attributes:
        name: The study's name.
        objectives: ``[(metric, direction)]``.
        counts: Trials by status.
        n_trials: All trials.
        epochs: Epochs trained (the sum of curve lengths; a shrink study: the epochs its
            trials recorded, in passes over the training split).
        trial_seconds: The sum of trial durations (CPU time of the workers, roughly; a shrink
            study: the sum of its trials' training seconds).
        wall_seconds: From the first trial's start to the last one's end (a shrink study: the
            whole shrink).
        quality: The quality objective ``(metric, direction)`` or ``None``.
        costs: The cost metrics recorded.
        best: The best trial by quality.
        chosen: The smallest within one point of the best (several objectives), else the best;
            in a shrink study, the trial its stored result chose (see ``shrink``).
        baseline: The study's ``archtune.baseline`` record, if any.
        table: The Pareto front (several objectives) or the top trials (one).
        first_value: The first complete trial's quality.
        median_value: The median quality of complete trials.
        importances: Parameter importances (PED-ANOVA) of the quality, or ``None``.
        importance_note: Why there are none, or how they were computed.
        lr_find: The study's LR range test record, if any.
        notes: Free-form remarks about what was left out.
        shrink: A shrink study's stored result (``archtune.shrink.result``), if any.
        trials: Every trial, in order.
    """

    name: str
    objectives: list[tuple[str, str]]
    counts: dict[str, int]
    n_trials: int
    epochs: float
    trial_seconds: float
    wall_seconds: float | None
    quality: tuple[str, str] | None
    costs: list[str]
    best: TrialResult | None
    chosen: TrialResult | None
    baseline: dict[str, Any] | None
    table: list[TrialResult]
    first_value: float | None
    median_value: float | None
    importances: dict[str, float] | None
    importance_note: str
    lr_find: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    shrink: ShrinkView | None = None
    trials: list[TrialResult] = field(default_factory=list)

    def value(self, trial: TrialResult, metric: str) -> float | None:
        """A trial's metric (or objective value)."""
        if metric in trial.metrics:
            return _number(trial.metrics[metric])
        names = [n for n, _ in self.objectives]
        if trial.values is not None and metric in names:
            return float(trial.values[names.index(metric)])
        return None


def summarize(result: TuneResult) -> Summary:
    """Compute a report's numbers from ``result``."""
    frozen = {t.number: t for t in result.study.get_trials(deepcopy=False)}
    epochs: float = sum(
        len(frozen[t.number].user_attrs.get(attrs.TRIAL_CURVE) or []) for t in result.trials
    )
    seconds = sum(t.duration_s or 0.0 for t in result.trials)
    starts = [t.datetime_start for t in frozen.values() if t.datetime_start is not None]
    ends = [t.datetime_complete for t in frozen.values() if t.datetime_complete is not None]
    wall = (max(ends) - min(starts)).total_seconds() if starts and ends else None
    quality = quality_metric(result)
    complete = _complete(result)
    best = chosen = None
    if complete:
        best = pick_trial(result)
        chosen = best
        if result.objectives.is_multi and quality is not None and cost_metrics(result):
            chosen = pick_trial(result, smallest_within=0.01)
    first_value = median_value = None
    if quality is not None:
        values = [v for v in (_value(t, quality[0], result) for t in complete) if v is not None]
        if values:
            first_value, median_value = values[0], statistics.median(values)
    shrink = shrink_view(result)
    if shrink is not None:
        # One answer everywhere: the model the shrink chose, not the report's own pick.
        by_number = {t.number: t for t in result.trials}
        chosen = by_number.get(shrink.chosen_trial) if shrink.chosen_trial is not None else None
        epochs, seconds = _shrink_compute(result)
        wall = _number(shrink.record.get("wall_time_s")) or wall
        importances: dict[str, float] | None = None
        note = "parameter importance is not computed for a shrink study"
    else:
        importances, note = _importances(result, quality)
    baseline = result.study.user_attrs.get(BASELINE_ATTR)
    lr_find = result.study.user_attrs.get(LR_FIND_ATTR)
    return Summary(
        name=result.name,
        objectives=list(result.objectives.directions),
        counts=result.counts,
        n_trials=len(result.trials),
        epochs=epochs,
        trial_seconds=seconds,
        wall_seconds=wall,
        quality=quality,
        costs=cost_metrics(result),
        best=best,
        chosen=chosen,
        baseline=baseline if isinstance(baseline, dict) else None,
        table=result.top(10),
        first_value=first_value,
        median_value=median_value,
        importances=importances,
        importance_note=note,
        lr_find=lr_find if isinstance(lr_find, dict) and lr_find.get("lrs") else None,
        shrink=shrink,
        trials=list(result.trials),
    )


def _shrink_compute(result: TuneResult) -> tuple[float, float]:
    """Epochs and training seconds the trials of a shrink study recorded (they have no curves)."""
    epochs = seconds = 0.0
    for trial in _complete(result):
        epochs += _number(trial.metrics.get("epochs")) or 0.0
        seconds += _number(trial.metrics.get("train_time_s")) or 0.0
    return epochs, seconds


MIN_IMPORTANCE_TRIALS = 4


def _importances(
    result: TuneResult, quality: tuple[str, str] | None
) -> tuple[dict[str, float] | None, str]:
    """PED-ANOVA importances of the quality objective over archtune's complete trials.

    Stopped trials (told COMPLETE to Optuna with partial values) are left out; conditional
    parameters are handled by PED-ANOVA itself.
    """
    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances

    numbers = {t.number for t in _complete(result)}
    trials = [t for t in result.study.get_trials(deepcopy=False) if t.number in numbers]
    if len(trials) < MIN_IMPORTANCE_TRIALS:
        return None, (
            f"too few complete trials ({len(trials)}) for parameter importance; it needs "
            f"{MIN_IMPORTANCE_TRIALS} or more"
        )
    if not any(t.params for t in trials):
        return None, "no searched parameter (everything is fixed)"
    names = result.objectives.names
    index = names.index(quality[0]) if quality is not None else 0
    sign = -_better(result.objectives.directions[index][1])  # PED-ANOVA minimises

    def target(t: optuna.trial.FrozenTrial) -> float:
        return sign * float(t.values[index])

    # At least two trials in the top quantile, however few trials there are.
    quantile = min(0.5, max(0.1, 2.0 / len(trials)))
    study = optuna.create_study(directions=result.study.directions)
    study.add_trials(trials)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            values = get_param_importances(
                study,
                evaluator=PedAnovaImportanceEvaluator(target_quantile=quantile),
                target=target,
            )
    except (ValueError, RuntimeError, ZeroDivisionError) as exc:
        logger.info("parameter importance failed: %s", exc)
        return None, f"parameter importance could not be computed ({exc})"
    metric = names[index]
    note = (
        f"PED-ANOVA importance of {metric} over {len(trials)} complete trials (top "
        f"{quantile:.0%} against all)"
    )
    return {k: float(v) for k, v in values.items()}, note
