"""The built-in trial: a config's ``data:``/``model:``/``recipe:`` blocks, with no user code.

The objective (:class:`TrainObjective`) builds each trial's network from the model spec and the
trial's ``model.*`` parameters, trains it with the recipe the trial's recipe fields give, and
returns its metrics and cost. :func:`setup_training` resolves the blocks into that objective
and the search space.
"""

from archtune.training._model import ModelSpec
from archtune.training._objective import COST_METRICS, TrainObjective, metric_names
from archtune.training._resolve import ResolvedModel, resolve_model
from archtune.training._setup import DEFAULT_EPOCHS, TrainingSetup, setup_training

__all__ = [
    "COST_METRICS",
    "DEFAULT_EPOCHS",
    "ModelSpec",
    "ResolvedModel",
    "TrainObjective",
    "TrainingSetup",
    "metric_names",
    "resolve_model",
    "setup_training",
]
