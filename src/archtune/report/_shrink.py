"""A shrink study's own record, read for the report.

:func:`archtune.shrink` records every model it trains as a trial (stage ``baseline``,
``search`` or ``finetune``) and stores its whole result in the study attribute
``archtune.shrink.result`` (``ShrinkResult.to_dict()``). The report reads that result as it is,
so it names the same chosen model as the CLI and ``archtune shrink --json``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from archtune.search import TuneResult

__all__ = [
    "BEST_RECIPE_LABEL",
    "SHRINK_ATTR",
    "STAGE_ATTR",
    "ShrinkView",
    "change_interval_text",
    "change_text",
    "chosen_sentence",
    "interval_text",
    "is_chosen",
    "percent",
    "shrink_objectives",
    "shrink_view",
    "spent_text",
]

SHRINK_ATTR = "archtune.shrink.result"
STAGE_ATTR = "archtune.shrink.stage"
STEP_ATTR = "archtune.shrink.step"
MOVE_ATTR = "archtune.shrink.move"
STRUCTURE_ATTR = "archtune.shrink.structure"
FROM_ATTR = "archtune.shrink.from_trial"
BEST_RECIPE_LABEL = "baseline + best recipe"
COST_KEYS = {"params": "params", "flops": "flops", "latency": "latency_ms"}
"""``objective`` -> the metric it minimises (as :mod:`archtune.shrinking` has it)."""


@dataclass(frozen=True)
class ShrinkView:
    """What the report shows of a shrink study.

    Attributes:
        record: The stored result (``ShrinkResult.to_dict()``).
        rows: The baseline, the baseline with the best recipe (only when it is better than the
            baseline on validation, or chosen), then the retrained candidates.
        chosen: The chosen model's entry.
        chosen_trial: The study trial the report calls the chosen one: the shrink result's
            ``chosen.trial``, or the baseline's trial when the baseline was chosen (``None``
            when the study has no such trial).
        trials: Each trial's shrink attributes by number: ``stage``, ``step``, ``move``,
            ``structure``, ``from_trial``.
    """

    record: dict[str, Any]
    rows: list[dict[str, Any]]
    chosen: dict[str, Any]
    chosen_trial: int | None
    trials: dict[int, dict[str, Any]]

    @property
    def baseline(self) -> dict[str, Any]:
        """The baseline's entry."""
        entry: dict[str, Any] = self.record["baseline"]
        return entry

    @property
    def chosen_is_baseline(self) -> bool:
        """Whether the shrink kept the baseline (no cheaper candidate qualified)."""
        return is_chosen(self.baseline, self.chosen)

    @property
    def objective(self) -> str:
        """``params``, ``flops`` or ``latency``."""
        return str(self.record.get("objective") or "params")

    def stage(self, number: int) -> str | None:
        """The stage of trial ``number`` (``baseline``, ``search``, ``finetune``)."""
        return (self.trials.get(number) or {}).get("stage")


def is_chosen(entry: dict[str, Any], chosen: dict[str, Any]) -> bool:
    """Whether ``entry`` is the chosen model (same label and trial)."""
    return bool(
        entry.get("label") == chosen.get("label") and entry.get("trial") == chosen.get("trial")
    )


def _entry(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) and "label" in value else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def shrink_view(result: TuneResult) -> ShrinkView | None:
    """The shrink result stored in ``result``'s study, or ``None`` (not a shrink study)."""
    record = result.study.user_attrs.get(SHRINK_ATTR)
    if not isinstance(record, dict):
        return None
    baseline, chosen = _entry(record.get("baseline")), _entry(record.get("chosen"))
    if baseline is None or chosen is None:
        return None
    pareto = [e for e in (_entry(c) for c in record.get("pareto") or []) if e is not None]
    rows = [baseline]
    best = _entry(record.get("baseline_best_recipe"))
    if best is not None:
        val, base_val = _number(best.get("val_accuracy")), _number(baseline.get("val_accuracy"))
        better = val is not None and base_val is not None and val > base_val
        if better or is_chosen(best, chosen):
            rows.append(best)
    rows += pareto
    if not any(is_chosen(row, chosen) for row in rows):
        rows.append(chosen)
    trials: dict[int, dict[str, Any]] = {}
    for trial in result.study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        trials[trial.number] = {
            "stage": attrs.get(STAGE_ATTR),
            "step": attrs.get(STEP_ATTR),
            "move": attrs.get(MOVE_ATTR),
            "structure": attrs.get(STRUCTURE_ATTR),
            "from_trial": attrs.get(FROM_ATTR),
        }
        if trials[trial.number]["stage"] == "baseline" and not trials[trial.number]["structure"]:
            trials[trial.number]["structure"] = baseline.get("structure")
    number = chosen.get("trial")
    chosen_trial: int | None = None
    if isinstance(number, int) and number in trials:
        chosen_trial = number
    elif number is None and is_chosen(baseline, chosen):
        chosen_trial = next(
            (n for n, t in sorted(trials.items()) if t["stage"] == "baseline"), None
        )
    return ShrinkView(dict(record), rows, chosen, chosen_trial, trials)


def shrink_objectives(result: TuneResult) -> TuneResult:
    """``result`` with its objectives named after the shrink's, where the study has no names.

    A shrink study has two values (``val_accuracy`` up, the cost down) and sets their metric
    names; a study without them would read as ``value0``, ``value1``.
    """
    from archtune.search._objectives import Objectives

    record = result.study.user_attrs.get(SHRINK_ATTR)
    if not isinstance(record, dict) or result.study.metric_names:
        return result
    if len(result.study.directions) != 2:
        return result
    cost = COST_KEYS.get(str(record.get("objective")), "params")
    objectives = Objectives.parse({"val_accuracy": "max", cost: "min"})
    return dataclasses.replace(result, objectives=objectives)


# -- text, as ``archtune shrink`` prints it ---------------------------------------------------
def percent(value: Any) -> str:
    """``0.8611`` -> ``86.11%``."""
    number = _number(value)
    return "-" if number is None or math.isnan(number) else f"{100 * number:.2f}%"


def change_text(value: Any) -> str:
    """``0.15`` -> ``+15.00 pt``."""
    number = _number(value)
    return "-" if number is None or math.isnan(number) else f"{100 * number:+.2f} pt"


def interval_text(entry: dict[str, Any]) -> str:
    """The test accuracy with its 95 % interval: ``86.11% (80.3-90.4)``."""
    text = percent(entry.get("test_accuracy"))
    bounds = entry.get("test_interval") or []
    if len(bounds) == 2 and all(_number(b) is not None and not math.isnan(b) for b in bounds):
        text += f" ({100 * bounds[0]:.1f}-{100 * bounds[1]:.1f})"
    return text


def change_interval_text(entry: dict[str, Any]) -> str:
    """The change on test against the baseline with its 95 % interval: ``+15.00 pt (+8.7 to
    +21.3)``."""
    values = entry.get("change_interval") or []
    if len(values) != 3 or any(_number(v) is None or math.isnan(v) for v in values):
        return "-"
    change, low, high = values
    return f"{change_text(change)} ({100 * low:+.1f} to {100 * high:+.1f})"


def spent_text(record: dict[str, Any]) -> str:
    """``23 epochs = 7.7 baseline trainings`` (the CLI's words)."""
    budget = record.get("budget") or {}
    spent = _number(budget.get("epochs_spent"))
    unit = _number(budget.get("baseline_epochs")) or 0.0
    if spent is None:
        return "epochs spent not recorded"
    return f"{spent:.0f} epochs = {spent / max(1.0, unit):.1f} baseline trainings"


def chosen_sentence(view: ShrinkView) -> str:
    """The chosen model in the words of ``archtune shrink`` (its label first)."""
    record, chosen, baseline = view.record, view.chosen, view.baseline
    if view.chosen_is_baseline:
        drop = change_text(record.get("max_drop")).lstrip("+")
        return (
            f"chosen: the baseline (no cheaper candidate within {drop} of its validation accuracy)"
        )
    reduction = _number(chosen.get("reduction"))
    params = _number(chosen.get("params"))
    fewer = f"{reduction:.1f}x" if reduction is not None else "-"
    count = f"{params:,.0f}" if params is not None else "-"
    return (
        f"chosen: {chosen.get('label')}, {fewer} fewer {view.objective} ({count} params), "
        f"validation accuracy {percent(chosen.get('val_accuracy'))} against the baseline's "
        f"{percent(baseline.get('val_accuracy'))}; test: {record.get('verdict') or '-'}"
    )
