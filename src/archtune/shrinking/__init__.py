"""Shrink a trained network: smaller structures that keep its accuracy, from its weights.

:func:`shrink` trains (or takes) a baseline; a search strategy finds smaller models from its
weights (``progressive``: one layer at a time along the front, NetAdapt-style; ``sampler``:
TPE over the shrink space); finalists get a full fine-tune (optionally distilled from the
baseline); the cheapest one within ``max_drop`` on validation is chosen, reported on test with
intervals, and exported.

``archtune.shrink(model, data, ...)`` is :func:`shrink`; ``archtune.shrink_trial(result)``
shrinks a trial of a built-in training study (:func:`shrink_trial`).
"""

from archtune.shrinking._from_study import shrink_trial
from archtune.shrinking._objective import INIT_KEY, ShrinkObjective
from archtune.shrinking._progressive import ProgressiveStrategy
from archtune.shrinking._prune import keep_largest_l1, prune_state
from archtune.shrinking._result import Candidate, ShrinkResult
from archtune.shrinking._run import DEFAULT_RECIPE, STRATEGIES, shrink
from archtune.shrinking._sampled import SamplerStrategy
from archtune.shrinking._select import choose, paired_change, wilson_interval
from archtune.shrinking._space import (
    WIDTH_MULTIPLIERS,
    ShrunkLayer,
    apply_shrink,
    describe_structure,
    shrink_plan,
    shrink_space,
    width_keys,
)
from archtune.shrinking._strategy import BaseShrinkStrategy, LadderPoint, SearchContext

__all__ = [
    "DEFAULT_RECIPE",
    "INIT_KEY",
    "STRATEGIES",
    "WIDTH_MULTIPLIERS",
    "BaseShrinkStrategy",
    "Candidate",
    "LadderPoint",
    "ProgressiveStrategy",
    "SamplerStrategy",
    "SearchContext",
    "ShrinkObjective",
    "ShrinkResult",
    "ShrunkLayer",
    "apply_shrink",
    "choose",
    "describe_structure",
    "keep_largest_l1",
    "paired_change",
    "prune_state",
    "shrink",
    "shrink_plan",
    "shrink_space",
    "shrink_trial",
    "width_keys",
    "wilson_interval",
]
