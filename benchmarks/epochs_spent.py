"""Where a real-training study spent its epochs, and what a stop against the front would save.

Reads a study that ``python -m benchmarks.run --suite mnist1d-mo --out DIR`` kept (its SQLite
file is ``DIR/mnist1d-mo-work/archtune-<seed>/archtune-<seed>.db``; any archtune study with
learning curves will do) and prints:

- the epochs of the starting points, of the trials that ran to the end, and of those stopped,
  with the trials that ran to the end listed by size;
- the trials other than the starting points by size (under 1,000 parameters, 1,000 to
  10,000, larger): how many ran to the end, and their epochs;
- what a stop rule that compares a trial with the front's members would have saved: at the
  rungs 9 and 27, a trial stops where a trial that completed before it started dominates it
  (as large or smaller, and more accurate) even with the largest gain from that rung to the
  end that any completed trial showed (at least three of them). Such a trial could not have
  moved the front; the rule is the issue's "compared at equal epochs with the front's
  members", in its most cautious form.

    python -m benchmarks.epochs_spent STUDY.db [--max-epochs 40] [--metric val_accuracy]
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import optuna

from archtune.search import _attrs as attrs

#: The rungs the rule is tried at (MO-ASHA's for 40-epoch trials: 1, 3, 9, 27).
RUNGS = (9, 27)
#: Completed trials a rung's largest gain needs before the rule may use it.
MIN_GAINS = 3


@dataclass(frozen=True)
class Curve:
    """One trial: its learning curve (step to metric), size, start and end, and whether it
    was a starting point."""

    number: int
    values: dict[int, float]
    params: float
    started: datetime | None
    ended: datetime | None
    is_start: bool

    @property
    def last(self) -> int:
        return max(self.values)

    @property
    def final(self) -> float:
        return self.values[self.last]


def curves_of(study: optuna.Study, metric: str) -> list[Curve]:
    """The trials of ``study`` that reported ``metric``, with their curves."""
    curves = []
    for trial in study.get_trials(deepcopy=False):
        raw: Any = trial.user_attrs.get(attrs.TRIAL_CURVE)
        points = ast.literal_eval(raw) if isinstance(raw, str) else raw
        values = {int(p["step"]): float(p[metric]) for p in points or () if metric in p}
        cost = trial.user_attrs.get(attrs.TRIAL_COST) or {}
        if not values or "params" not in cost:
            continue
        curves.append(
            Curve(
                number=trial.number,
                values=values,
                params=float(cost["params"]),
                started=trial.datetime_start,
                ended=trial.datetime_complete,
                is_start=bool(trial.user_attrs.get(attrs.TRIAL_START)),
            )
        )
    return curves


#: The upper ends of the size bands the trials are counted in (parameters).
SIZE_BANDS = (1_000, 10_000, float("inf"))


@dataclass(frozen=True)
class Band:
    """The trials other than the starting points from ``lower`` parameters to below
    ``upper``: how many, how many ran to the end, and the epochs they trained."""

    lower: float
    upper: float
    trials: int
    to_the_end: int
    epochs: int

    @property
    def label(self) -> str:
        if self.upper == float("inf"):
            return f"{self.lower:,.0f}+"
        if self.lower:
            return f"{self.lower:,.0f} to {self.upper:,.0f}"
        return f"under {self.upper:,.0f}"


def by_size(curves: Sequence[Curve], max_epochs: int) -> list[Band]:
    """The trials other than the starting points, counted in the bands of :data:`SIZE_BANDS`."""
    bands, lower = [], 0.0
    for upper in SIZE_BANDS:
        band = [c for c in curves if not c.is_start and lower <= c.params < upper]
        full = sum(c.last >= max_epochs for c in band)
        bands.append(Band(lower, upper, len(band), full, sum(c.last for c in band)))
        lower = upper
    return bands


@dataclass(frozen=True)
class Saving:
    """A trial the front rule would have stopped, and why."""

    curve: Curve
    rung: int
    optimistic: float
    by: Curve

    @property
    def epochs(self) -> int:
        return self.curve.last - self.rung


def front_rule_savings(curves: Sequence[Curve], max_epochs: int) -> list[Saving]:
    """The trials the cautious front rule (module docstring) stops, at their first such rung."""
    full = [c for c in curves if c.last >= max_epochs and c.ended is not None]
    savings = []
    for curve in curves:
        if curve.is_start or curve.started is None:
            continue
        started = curve.started
        done = [c for c in full if c.ended is not None and c.ended <= started]
        for rung in RUNGS:
            if curve.last <= rung or rung not in curve.values:
                continue
            gains = [c.final - c.values[rung] for c in done if rung in c.values]
            if len(gains) < MIN_GAINS:
                continue
            optimistic = curve.values[rung] + max(gains)
            better = [
                c
                for c in done
                if c.params <= curve.params
                and c.final >= optimistic
                and (c.final > optimistic or c.params < curve.params)
            ]
            if better:
                savings.append(Saving(curve, rung, optimistic, better[0]))
                break
    return savings


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", help="the study's SQLite file")
    parser.add_argument("--max-epochs", type=int, default=40)
    parser.add_argument("--metric", default="val_accuracy")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(f"sqlite:///{args.db}")
    (summary,) = optuna.get_all_study_summaries(storage)
    study = optuna.load_study(study_name=summary.study_name, storage=storage)
    curves = curves_of(study, args.metric)
    full = [c for c in curves if c.last >= args.max_epochs]
    starts = [c for c in curves if c.is_start]
    print(f"{summary.study_name}: {len(curves)} trials, {sum(c.last for c in curves)} epochs")
    print(f"  starting points: {len(starts)} trials, {sum(c.last for c in starts)} epochs")
    others = [c for c in full if not c.is_start]
    print(f"  other trials run to the end: {len(others)}, {sum(c.last for c in others)} epochs")
    stopped = [c for c in curves if c.last < args.max_epochs]
    print(f"  stopped: {len(stopped)} trials, {sum(c.last for c in stopped)} epochs")
    print(f"trials run to the end ({args.metric} at the end, params):")
    for c in sorted(full, key=lambda c: (c.params, c.number)):
        mark = "  start" if c.is_start else ""
        print(f"  #{c.number:<4d} {c.params:>9,.0f}  {c.final:.3f}{mark}")
    print("trials other than the starting points, by size (parameters):")
    for band in by_size(curves, args.max_epochs):
        print(
            f"  {band.label:<17} {band.trials:>3} trials, {band.to_the_end:>3} run to the end, "
            f"{band.epochs:>5} epochs"
        )
    savings = front_rule_savings(curves, args.max_epochs)
    print(f"the front rule at rungs {', '.join(map(str, RUNGS))} would stop {len(savings)}:")
    for s in savings:
        print(
            f"  #{s.curve.number:<4d} {s.curve.params:>9,.0f} at rung {s.rung}: "
            f"{s.curve.values[s.rung]:.3f}, at best {s.optimistic:.3f} at the end; "
            f"#{s.by.number} ({s.by.params:,.0f}) ended at {s.by.final:.3f}; "
            f"ran to {s.curve.last}, saves {s.epochs} epochs"
        )
    print(f"epochs saved: {sum(s.epochs for s in savings)}")


if __name__ == "__main__":
    main()
