"""The validated description of one study: what to run, over which space, with what budget."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archtune.execution import ObjectiveRef
from archtune.search._constraints import Constraint
from archtune.search._objectives import Objectives
from archtune.search._samplers import checked_constraints, choose_sampler
from archtune.search._schedulers import SchedulerSpec
from archtune.space import Space

if TYPE_CHECKING:
    import optuna

__all__ = ["Experiment"]


@dataclass(frozen=True)
class Experiment:
    """Everything the driver needs; built from a config file or :func:`archtune.tune`.

    Attributes:
        name: The study's name in the storage (``None``: Optuna picks one).
        objective: The function each trial calls.
        space: The search space.
        objectives: The metrics to optimise.
        n_trials: ``budget.trials``: trials that must reach an end.
        timeout_s: This run ends after this many seconds: no new trial starts, and the
            running ones are ended (recorded as ``timeout``, not counted; they run again on
            resume).
        trial_timeout_s: A trial still running after this many seconds is ended: it fails
            (``timeout``) and counts, and the study goes on.
        max_total_steps: ``budget.steps``: no new trial starts unless it fits, at full length
            (``scheduler.max_steps``; with ``fidelity: data``, every stage's cost), with the
            steps reported so far and those running trials may still take; when none runs,
            one last trial may start (see docs/configuration.md).
        max_consecutive_failures: Stop after this many user failures in a row.
        max_retries: Reruns of a trial whose worker died before it is marked failed for good.
        n_workers: Trials that run at once.
        sampler: A name from :data:`archtune.search.SAMPLER_NAMES`, or an Optuna sampler.
        storage: An Optuna storage URL (``None``: in memory).
        artifacts: The folder under which the study keeps its trials' checkpoints (an absolute
            path; ``None``: beside an SQLite file, else checkpoints are off; see
            :func:`archtune.search._artifacts.artifact_folder`).
        seed: Seeds the sampler and each trial's ``reporter.seed``.
        source: Where it came from (a file name or ``tune()``), for messages.
        scheduler: Early stopping (``auto``: MO-ASHA for several objectives, ASHA for one).
        constraints: Bounds on the cost known before training; a configuration that breaks
            one is recorded as infeasible and never trained (needs ``precheck``).
        executor: ``local`` (spawned processes) or ``ray`` (Ray actors).
        address: The Ray cluster to join (``auto``, ``host:port``); none starts a local Ray.
        resources: What each trial reserves on Ray: ``{"cpus": 1, "gpus": 0}``.
        precheck: Returns a configuration's cost before training, or raises
            :class:`~archtune.arch.InfeasibleNetworkError`: infeasible trials are recorded
            and never trained.
        study_attrs: Records kept in the study's user attributes when it is created.
        starting_points: Configurations queued first in a new study (built-in training: the
            family's default network and the default recipe).
        shrink_moves: A configuration's next steps down its family's shrink ladder (built-in
            training of a family, searching accuracy against ``params`` or ``flops``): moves
            from the front's members toward smaller networks, which ``light-gp``'s front-gain
            proposal scores with its other candidates.
    """

    name: str | None
    objective: ObjectiveRef
    space: Space
    objectives: Objectives
    n_trials: int
    timeout_s: float | None = None
    trial_timeout_s: float | None = None
    max_total_steps: int | None = None
    max_consecutive_failures: int = 5
    max_retries: int = 1
    n_workers: int = 1
    sampler: str | optuna.samplers.BaseSampler = "auto"
    storage: str | None = None
    artifacts: str | None = None
    seed: int | None = None
    source: str = "tune()"
    scheduler: SchedulerSpec = field(default_factory=SchedulerSpec)
    constraints: tuple[Constraint, ...] = ()
    executor: str = "local"
    address: str | None = None
    resources: Mapping[str, float] = field(default_factory=lambda: {"cpus": 1.0, "gpus": 0.0})
    precheck: Callable[[Mapping[str, Any]], dict[str, float]] | None = None
    study_attrs: Mapping[str, Any] = field(default_factory=dict)
    starting_points: tuple[Mapping[str, Any], ...] = ()
    shrink_moves: Callable[[Mapping[str, Any]], list[dict[str, Any]]] | None = None

    def resolved_sampler(self) -> str:
        """The sampler's name, with what ``auto`` picked: ``"auto: tpe (why)"``."""
        if not isinstance(self.sampler, str):
            return f"{type(self.sampler).__name__} (an instance)"
        if self.sampler != "auto":
            return self.sampler
        name, reason = choose_sampler(
            self.space,
            n_objectives=len(self.objectives.names),
            n_trials=self.n_trials,
            has_constraints=bool(self.constraints),
            checked=checked_constraints(self.constraints, self.precheck) is not None,
        )
        return f"auto: {name} ({reason})"

    def to_record(self) -> dict[str, Any]:
        """The run settings kept in the study (space and objectives are kept apart)."""
        return {
            "objective": self.objective.name,
            "budget": {
                "trials": self.n_trials,
                "timeout_s": self.timeout_s,
                "trial_timeout_s": self.trial_timeout_s,
                "steps": self.max_total_steps,
                "max_consecutive_failures": self.max_consecutive_failures,
            },
            "max_retries": self.max_retries,
            "workers": self.n_workers,
            "executor": self.executor,
            "sampler": self.resolved_sampler(),
            "scheduler": self.scheduler.resolved_name(self.objectives),
            "fidelity": self.scheduler.fidelity,
            "constraints": [str(c) for c in self.constraints],
            "seed": self.seed,
        }
