"""Build the Optuna sampler a study asks for by name."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from archtune._errors import ConfigError
from archtune._imports import require
from archtune.space import Choice, Float, Int

if TYPE_CHECKING:
    import optuna

    from archtune.search._constraints import Constraint
    from archtune.search._front_gain import KnownCost
    from archtune.search._objectives import Objectives
    from archtune.space import Space

__all__ = [
    "PRECHECKED_COSTS",
    "SAMPLERS",
    "SAMPLER_NAMES",
    "SamplerName",
    "SamplerRequest",
    "checked_constraints",
    "choose_sampler",
    "known_cost",
    "make_sampler",
    "space_size",
]

#: ``auto`` models up to this many objectives with ``light-gp`` (ParEGO scalarisation).
LIGHT_GP_MAX_OBJECTIVES = 3


def _exhaustive_sampler(seed: int | None) -> optuna.samplers.BaseSampler:
    """Optuna's brute-force sampler (conditional spaces too), without its ``study.stop()``."""
    import optuna

    class BruteForceSampler(optuna.samplers.BruteForceSampler):
        def after_trial(self, *args: Any, **kwargs: Any) -> None:
            return None

    return BruteForceSampler(seed=seed)


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


def space_size(space: Space) -> int | None:
    """How many configurations ``space`` has at most (``None``: a continuous parameter)."""
    size = 1
    for param in space.values():
        if isinstance(param, Float):
            if param.step is None:
                return None
            size *= int((param.high - param.low) / param.step + 1e-9) + 1
        elif isinstance(param, Int):
            size *= (param.high - param.low) // param.step + 1
        elif isinstance(param, Choice):
            size *= len(param.options)
    return size


def choose_sampler(
    space: Space,
    *,
    n_objectives: int,
    n_trials: int | None,
    has_constraints: bool = False,
    checked: bool = False,
) -> tuple[str, str]:
    """What ``sampler: auto`` picks for this problem, and why (see docs/samplers.md).

    ``checked``: the constraints are all on costs known before training
    (:func:`checked_constraints`), which ``light-gp`` keeps exactly by never proposing a
    configuration that breaks them; otherwise a sampler must learn them from the trials that
    break them.

    - A finite space no larger than the budget: enumerate it (``bruteforce``), since any
      sampler would spend the budget re-proposing configurations.
    - No constraints, or only checked ones, and at most :data:`LIGHT_GP_MAX_OBJECTIVES`
      objectives: archtune's light GP (``light-gp``), which models conditional parameters and
      scalarises several objectives as ParEGO does; it beats Optuna's TPE on the benchmarks of
      ``benchmarks/run.py`` (docs/benchmarks.md) for about TPE's optimizer time, and fits on a
      window of trials, so the trial count does not decide.
    - Otherwise Optuna 5's TPE: it models constraints (``trial.set_constraint``) and any
      number of objectives.
    """
    size = space_size(space)
    if size is not None and n_trials is not None and size <= n_trials:
        return "bruteforce", (
            f"the space has {size} configurations, no more than the {n_trials} trials of the "
            "budget: every one is tried once"
        )
    if (not has_constraints or checked) and n_objectives <= LIGHT_GP_MAX_OBJECTIVES:
        conditional = any(param.when for param in space.values())
        what = [f"{n_objectives} objective{'s' if n_objectives > 1 else ''}"]
        if conditional:
            what.append("conditional parameters modelled")
        if checked:
            what.append("constraints kept before training")
        return "light-gp", (
            ", ".join(what) + ": a Gaussian process learns the most from each trial"
        )
    why = []
    if has_constraints and not checked:
        why.append("constraints")
    if n_objectives > LIGHT_GP_MAX_OBJECTIVES:
        why.append(f"{n_objectives} objectives")
    return "tpe", "TPE handles " + ", ".join(why)


#: Objectives a precheck computes from the configuration alone, cheaply.
PRECHECKED_COSTS = ("params", "flops")


def known_cost(
    objectives: Objectives,
    precheck: Callable[[Mapping[str, Any]], dict[str, float]] | None,
    smaller: Callable[[Mapping[str, Any]], list[dict[str, Any]]] | None = None,
) -> KnownCost | None:
    """With two objectives of which one is ``params`` or ``flops`` minimised and a precheck
    that computes it (built-in training): that objective, for ``light-gp``'s front-gain
    acquisition, with the family's shrink moves ``smaller``. ``None`` otherwise."""
    from archtune._errors import InfeasibleError
    from archtune.search._front_gain import KnownCost

    if precheck is None or len(objectives.directions) != 2:
        return None
    for index, (name, direction) in enumerate(objectives.directions):
        if name in PRECHECKED_COSTS and direction == "min":

            def of(config: Mapping[str, Any], name: str = name) -> float | None:
                try:
                    return float(precheck(config)[name])
                except InfeasibleError:
                    return None

            return KnownCost(index, of, smaller)
    return None


def checked_constraints(
    constraints: Sequence[Constraint],
    precheck: Callable[[Mapping[str, Any]], dict[str, float]] | None,
) -> Callable[[Mapping[str, Any]], bool] | None:
    """With constraints, all on costs a precheck computes cheaply (``params``, ``flops``): the
    test that a configuration keeps them, which ``light-gp`` applies to every candidate.
    ``None`` without constraints, or with one on ``latency_ms`` (measured on the built model:
    too slow to run for every candidate; TPE learns it from the trials that break it)."""
    from archtune.search._constraints import keeps_constraints

    if not constraints or precheck is None:
        return None
    if any(c.metric not in PRECHECKED_COSTS for c in constraints):
        return None
    return keeps_constraints(tuple(constraints), precheck)


@dataclass(frozen=True)
class SamplerRequest:
    """What a sampler factory of :data:`SAMPLERS` may use to build its sampler."""

    seed: int | None
    space: Space
    n_objectives: int
    n_trials: int | None = None
    has_constraints: bool = False
    cost: KnownCost | None = None
    keeps: Callable[[Mapping[str, Any]], bool] | None = None


def _tpe(request: SamplerRequest) -> optuna.samplers.BaseSampler:
    import optuna

    return optuna.samplers.TPESampler(seed=request.seed)


def _random(request: SamplerRequest) -> optuna.samplers.BaseSampler:
    import optuna

    return optuna.samplers.RandomSampler(seed=request.seed)


def _nsga2(request: SamplerRequest) -> optuna.samplers.BaseSampler:
    import optuna

    return optuna.samplers.NSGAIISampler(seed=request.seed)


def _qmc(request: SamplerRequest) -> optuna.samplers.BaseSampler:
    import optuna

    require("scipy", extra="samplers", feature="sampler 'qmc'")
    return optuna.samplers.QMCSampler(seed=request.seed, scramble=True)


def _gp(request: SamplerRequest) -> optuna.samplers.BaseSampler:
    import optuna

    require("scipy", extra="samplers", feature="sampler 'gp'")
    require("torch", extra="torch", feature="sampler 'gp'")
    return optuna.samplers.GPSampler(seed=request.seed)


def _light_gp(request: SamplerRequest) -> optuna.samplers.BaseSampler:
    require("scipy", extra="samplers", feature="sampler 'light-gp'")
    from archtune.search._light_gp import LightGPSampler

    return LightGPSampler(
        seed=request.seed, space=request.space, known_cost=request.cost, keeps=request.keeps
    )


def _cmaes(request: SamplerRequest) -> optuna.samplers.BaseSampler:
    import optuna

    if request.n_objectives > 1:
        raise ConfigError(
            f"sampler 'cmaes' optimises one objective, got {request.n_objectives}; use nsga2, "
            "tpe or auto for several"
        )
    require("cmaes", extra="samplers", feature="sampler 'cmaes'")
    return optuna.samplers.CmaEsSampler(seed=request.seed)


#: Every sampler by name: the one table from which the accepted names (:data:`SAMPLER_NAMES`,
#: ``auto`` first), the config's check and docs/configuration.md's list derive.
SAMPLERS: Mapping[str, Callable[[SamplerRequest], optuna.samplers.BaseSampler]] = MappingProxyType(
    {
        "random": _random,
        "tpe": _tpe,
        "gp": _gp,
        "light-gp": _light_gp,
        "cmaes": _cmaes,
        "nsga2": _nsga2,
        "qmc": _qmc,
        "grid": lambda request: _grid_sampler(request.space, request.seed),
        "bruteforce": lambda request: _exhaustive_sampler(request.seed),
    }
)
SAMPLER_NAMES: tuple[str, ...] = ("auto", *SAMPLERS)
if TYPE_CHECKING:
    SamplerName = str
else:
    SamplerName = Literal[SAMPLER_NAMES]  # for pydantic: "must be one of 'auto', ..."


def make_sampler(
    name: str,
    *,
    seed: int | None,
    space: Space,
    n_objectives: int,
    n_trials: int | None = None,
    has_constraints: bool = False,
    cost: KnownCost | None = None,
    keeps: Callable[[Mapping[str, Any]], bool] | None = None,
) -> optuna.samplers.BaseSampler:
    """Return the sampler ``name`` (one of :data:`SAMPLER_NAMES`), seeded.

    ``auto`` picks by the problem (:func:`choose_sampler`). ``cost``: an objective known
    before training (:func:`known_cost`), which ``light-gp`` computes for its candidates.
    ``keeps``: the study's constraints as a test (:func:`checked_constraints`), which
    ``light-gp`` applies to its candidates.

    Raises:
        ConfigError: an unknown name, or a sampler that cannot serve this study.
    """
    import optuna

    if name == "auto":
        name, _ = choose_sampler(
            space,
            n_objectives=n_objectives,
            n_trials=n_trials,
            has_constraints=has_constraints,
            checked=keeps is not None,
        )
    factory = SAMPLERS.get(name)
    if factory is None:
        raise ConfigError(f"sampler must be one of {', '.join(SAMPLER_NAMES)}, got {name!r}")
    request = SamplerRequest(seed, space, n_objectives, n_trials, has_constraints, cost, keeps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return factory(request)
