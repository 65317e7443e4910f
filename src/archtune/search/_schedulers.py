"""Build the scheduler an experiment asks for by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from archtune._errors import ConfigError
from archtune.search._fidelity import FIDELITIES, Stage, data_stages, full_steps, rung_steps
from archtune.search._median import MedianScheduler
from archtune.search._objectives import Objectives
from archtune.search._pbt import PopulationScheduler, default_interval
from archtune.search._rung_guard import RungGuard
from archtune.search._rung_schedulers import ASHAScheduler, HyperbandScheduler, MOASHAScheduler
from archtune.search._scheduler_base import BaseScheduler, NoScheduler
from archtune.space import Space

__all__ = [
    "DATA_FIDELITY_SCHEDULERS",
    "SCHEDULERS",
    "SCHEDULER_NAMES",
    "SchedulerName",
    "SchedulerRequest",
    "SchedulerSpec",
    "check_fidelity",
    "make_scheduler",
]


@dataclass(frozen=True)
class SchedulerSpec:
    """``scheduler:``: which early stopping, and its settings.

    Attributes:
        name: ``auto`` (MO-ASHA for several objectives, ASHA for one), ``none``, ``median``,
            ``asha``, ``hyperband``, ``moasha`` or ``pbt`` (population-based training).
        eta: Keep the best ``1/eta`` at each rung.
        min_steps: The first rung (steps are what trials report: epochs for built-in training).
        max_steps: The last step of a full trial (the epochs), when known: no rung there.
        guard: Keep sentinel trials unstopped and stop using rungs whose ranking disagrees with
            the final ranking.
        population: ``pbt``: members trained side by side (default: ``budget.trials``).
        interval: ``pbt``: steps between exploit decisions (default: an eighth of
            ``max_steps``).
        quantile: ``pbt``: the bottom share of members that copy the top share.
        explore: ``pbt``: ``perturb`` (factors 0.8/1.2, neighbouring options, a quarter of
            the time resampled) or ``resample`` (drawn from the space again).
        perturb: ``pbt``: the parameters explore changes (default: built-in training's
            learning rate, momentum, weight decay and label smoothing where searched; every
            parameter of a user's space).
        fidelity: What a rung cuts short: ``epochs`` (a trial is judged after
            ``min_steps * eta**k`` epochs) or ``data`` (built-in training with ``asha`` or
            ``moasha``: a trial is judged after a complete training on a fraction of the
            training split; :mod:`archtune.search._fidelity`).
    """

    name: str = "auto"
    eta: int = 3
    min_steps: int = 1
    max_steps: int | None = None
    guard: bool = True
    population: int | None = None
    interval: int | None = None
    quantile: float = 0.25
    explore: str = "perturb"
    perturb: tuple[str, ...] | None = None
    fidelity: str = "epochs"

    def stages(self) -> tuple[Stage, ...] | None:
        """A trial's stages under ``fidelity: data`` (``None``: epochs, or no known length)."""
        if self.fidelity != "data" or self.max_steps is None:
            return None
        return data_stages(self.min_steps, self.eta, self.max_steps)

    @property
    def full_length(self) -> int | None:
        """The steps of a trial no rung stops: ``max_steps``, or every stage's cost."""
        stages = self.stages()
        return full_steps(stages) if stages else self.max_steps

    def resolved_name(self, objectives: Objectives) -> str:
        """The algorithm ``auto`` stands for."""
        if self.name != "auto":
            return self.name
        return "moasha" if objectives.is_multi else "asha"


#: The share of a budget of steps that the guard's sentinels (never stopped) may take.
SENTINEL_SHARE = 0.25


@dataclass(frozen=True)
class SchedulerRequest:
    """What a scheduler factory of :data:`SCHEDULERS` may use besides the spec."""

    guard: RungGuard
    space: Space | None = None
    n_trials: int | None = None
    seed: int | None = None
    max_retries: int = 1


SchedulerFactory = Callable[[SchedulerSpec, SchedulerRequest], BaseScheduler]


def _rungs(cls: type[ASHAScheduler | MOASHAScheduler]) -> SchedulerFactory:
    def build(spec: SchedulerSpec, request: SchedulerRequest) -> BaseScheduler:
        stages = spec.stages()
        return cls(
            eta=spec.eta,
            min_steps=spec.min_steps,
            max_steps=spec.max_steps,
            guard=request.guard,
            levels=rung_steps(stages) if stages else None,
        )

    return build


def _hyperband(spec: SchedulerSpec, request: SchedulerRequest) -> BaseScheduler:
    return HyperbandScheduler(
        eta=spec.eta, min_steps=spec.min_steps, max_steps=spec.max_steps, guard=request.guard
    )


#: Every scheduler by name: the one table from which the accepted names
#: (:data:`SCHEDULER_NAMES`, ``auto`` first), the config's check and the docs' list derive.
SCHEDULERS: Mapping[str, SchedulerFactory] = MappingProxyType(
    {
        "none": lambda spec, request: NoScheduler(),
        "median": lambda spec, request: MedianScheduler(
            min_steps=spec.min_steps, guard=request.guard
        ),
        "asha": _rungs(ASHAScheduler),
        "hyperband": _hyperband,
        "moasha": _rungs(MOASHAScheduler),
        "pbt": lambda spec, request: _population(
            spec, request.space, request.n_trials, request.seed, request.max_retries
        ),
    }
)
SCHEDULER_NAMES: tuple[str, ...] = ("auto", *SCHEDULERS)
if TYPE_CHECKING:
    SchedulerName = str
else:
    SchedulerName = Literal[SCHEDULER_NAMES]  # for pydantic: "must be one of 'auto', ..."


def make_scheduler(
    spec: SchedulerSpec,
    objectives: Objectives,
    *,
    max_total_steps: int | None = None,
    space: Space | None = None,
    n_trials: int | None = None,
    seed: int | None = None,
    max_retries: int = 1,
) -> BaseScheduler:
    """The scheduler ``spec`` describes (``pbt`` needs the ``space`` and ``n_trials``).

    With a budget of steps (``budget.steps``) and a known trial length, the guard keeps at
    most :data:`SENTINEL_SHARE` of the budget for its sentinels: at small budgets full-length
    sentinels would otherwise take most of it.

    Raises:
        ConfigError: an unknown name.
    """
    name = spec.resolved_name(objectives)
    factory = SCHEDULERS.get(name)
    if factory is None:
        raise ConfigError(f"scheduler must be one of {', '.join(SCHEDULER_NAMES)}, got {name!r}")
    check_fidelity(spec, objectives)
    max_sentinels = None
    if max_total_steps is not None and spec.full_length:
        max_sentinels = int(SENTINEL_SHARE * max_total_steps / spec.full_length)
    guard = RungGuard(eta=spec.eta, enabled=spec.guard, max_sentinels=max_sentinels)
    return factory(spec, SchedulerRequest(guard, space, n_trials, seed, max_retries))


#: The schedulers whose rungs can be stages of a data fidelity (one ladder, no brackets).
DATA_FIDELITY_SCHEDULERS = ("asha", "moasha")


def check_fidelity(spec: SchedulerSpec, objectives: Objectives) -> None:
    """Raise unless ``spec.fidelity`` is one this scheduler can use.

    Raises:
        ConfigError: an unknown fidelity; ``data`` with a scheduler other than ``asha`` or
            ``moasha``, or without the trial's length.
    """
    if spec.fidelity not in FIDELITIES:
        raise ConfigError(
            f"scheduler.fidelity must be one of {', '.join(FIDELITIES)}, got {spec.fidelity!r}"
        )
    if spec.fidelity != "data":
        return
    name = spec.resolved_name(objectives)
    if name not in DATA_FIDELITY_SCHEDULERS:
        raise ConfigError(
            f"scheduler.fidelity data works with scheduler asha or moasha (or auto), got "
            f"scheduler {name!r}; drop scheduler.fidelity or change scheduler.name"
        )
    if spec.max_steps is None:
        raise ConfigError(
            "scheduler.fidelity data needs the length of a training: a fixed recipe.epochs "
            "(or scheduler.max_steps)"
        )


def _population(
    spec: SchedulerSpec,
    space: Space | None,
    n_trials: int | None,
    seed: int | None,
    max_retries: int,
) -> PopulationScheduler:
    if spec.max_steps is None:
        raise ConfigError(
            "scheduler pbt needs the length of a training: set scheduler.max_steps (built-in "
            "training: a fixed recipe.epochs)"
        )
    if space is None or not spec.perturb:
        raise ConfigError("scheduler pbt needs scheduler.perturb: the parameters to perturb")
    population = spec.population or n_trials
    if population is None or population < 2:
        raise ConfigError(f"scheduler.population must be at least 2 for pbt, got {population!r}")
    return PopulationScheduler(
        space=space,
        population=population,
        max_steps=spec.max_steps,
        interval=spec.interval or default_interval(spec.max_steps),
        perturb=spec.perturb,
        quantile=spec.quantile,
        rule="resample" if spec.explore == "resample" else "perturb",
        seed=seed,
        max_retries=max_retries,
    )
