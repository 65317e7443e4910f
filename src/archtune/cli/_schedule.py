"""``archtune show`` for population-based training: the best member's schedule and the
recipe that replays it."""

from __future__ import annotations

import contextlib
import dataclasses

import yaml
from rich.table import Table

from archtune.cli._tables import format_value
from archtune.recipe import PIECEWISE_VALUES
from archtune.search import TuneResult
from archtune.search import _attrs as attrs
from archtune.search._lineage import (
    best_member,
    is_population_study,
    member_schedule,
    schedule_recipe,
    varying,
)

__all__ = ["schedule_section"]


def schedule_section(result: TuneResult) -> tuple[Table, str] | None:
    """The best member's schedule as a table, and its replay recipe as YAML (built-in
    training); ``None`` for a study without population-based training."""
    trials = result.study.get_trials(deepcopy=False)
    if not is_population_study(trials):
        return None
    member = best_member(trials, result.objectives.directions[0][1])
    if member is None:
        return None
    steps = member_schedule(trials, member)
    if result.space is not None:  # with the fixed values, which a replay needs too
        with contextlib.suppress(KeyError):
            steps = [dataclasses.replace(s, config=result.space.complete(s.config)) for s in steps]
    names = varying(steps) or [n for n in steps[-1].config if n in PIECEWISE_VALUES]
    table = Table(title=f"schedule of the best member (trial {member}'s lineage)")
    table.add_column("from epoch", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    table.add_column("segment", justify="right")
    table.add_column("copied", justify="left")
    for step in steps:
        copied = "" if step.copied_from is None else f"member {step.copied_from}"
        table.add_row(
            str(step.epoch),
            *(format_value(step.config.get(n, "-")) for n in names),
            str(step.trial),
            copied,
        )
    perturbed = [n for n in PIECEWISE_VALUES if n in steps[-1].config]
    recipe = ""
    builtin = bool(result.study.user_attrs.get(attrs.STUDY_BUILTIN))
    if perturbed and builtin:
        block = {"space": "none", **schedule_recipe(steps, perturbed)}
        recipe = yaml.safe_dump({"recipe": block}, sort_keys=False)
    return table, recipe
