"""Build the Optuna sampler a study asks for by name."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Literal, get_args

from archtune._errors import ConfigError
from archtune._imports import require

if TYPE_CHECKING:
    import optuna

    from archtune.space import Space

__all__ = ["SAMPLER_NAMES", "SamplerName", "make_sampler"]

SamplerName = Literal["auto", "random", "tpe", "gp", "cmaes", "nsga2", "qmc", "grid"]
SAMPLER_NAMES: tuple[str, ...] = get_args(SamplerName)


def _grid_sampler(space: Space, seed: int | None) -> optuna.samplers.BaseSampler:
    """Optuna's grid sampler, without its ``study.stop()`` when the grid is exhausted.

    That call works only inside ``study.optimize``; archtune's driver asks and tells, and ends
    the study itself (the config check keeps ``budget.trials`` within the grid's size).
    """
    import optuna

    class GridSampler(optuna.samplers.GridSampler):
        def after_trial(self, *args: Any, **kwargs: Any) -> None:
            return None

    return GridSampler(space.grid(), seed=seed)


def make_sampler(
    name: str, *, seed: int | None, space: Space, n_objectives: int
) -> optuna.samplers.BaseSampler:
    """Return the sampler ``name`` (one of :data:`SAMPLER_NAMES`), seeded.

    ``auto`` is Optuna's TPE for now: it handles conditional spaces, one or several objectives
    and parallel workers (its constant liar is on by default).

    Raises:
        ConfigError: an unknown name, or a sampler that cannot serve this study.
    """
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name in ("auto", "tpe"):
            return optuna.samplers.TPESampler(seed=seed)
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if name == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed)
        if name == "qmc":
            require("scipy", extra="samplers", feature="sampler 'qmc'")
            return optuna.samplers.QMCSampler(seed=seed, scramble=True)
        if name == "gp":
            require("scipy", extra="samplers", feature="sampler 'gp'")
            require("torch", extra="torch", feature="sampler 'gp'")
            return optuna.samplers.GPSampler(seed=seed)
        if name == "cmaes":
            if n_objectives > 1:
                raise ConfigError(
                    "sampler 'cmaes' optimises one objective, got "
                    f"{n_objectives}; use nsga2, tpe or auto for several"
                )
            require("cmaes", extra="samplers", feature="sampler 'cmaes'")
            return optuna.samplers.CmaEsSampler(seed=seed)
        if name == "grid":
            return _grid_sampler(space, seed)
    raise ConfigError(f"sampler must be one of {', '.join(SAMPLER_NAMES)}, got {name!r}")
