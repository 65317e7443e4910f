"""What a study produced, read back from its storage."""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal, get_args

import optuna
from optuna.trial import FrozenTrial, TrialState

from archtune._errors import StudyStateError
from archtune._redact import redact_url
from archtune.search import _attrs as attrs
from archtune.search._objectives import Objectives
from archtune.search._ranking import non_dominated
from archtune.space import Space

__all__ = [
    "ENDED_UNFINISHED",
    "TRIAL_STATUSES",
    "TrialResult",
    "TrialStatus",
    "TuneResult",
    "load_result",
]

TrialStatus = Literal[
    "complete",
    "stopped",
    "paused",
    "failed",
    "infeasible",
    "interrupted",
    "cancelled",
    "running",
    "waiting",
]
#: Every status a trial can have, in the order tables list them (CLI, HTML report).
TRIAL_STATUSES: tuple[TrialStatus, ...] = get_args(TrialStatus)
#: The statuses of trials that ended without values, each with its reason (``error``).
ENDED_UNFINISHED: tuple[TrialStatus, ...] = ("failed", "infeasible", "interrupted", "cancelled")


@dataclass(frozen=True)
class TrialResult:
    """One trial: its configuration, its ending, its metrics.

    Attributes:
        number: Optuna's trial number.
        status: ``complete``, ``stopped`` (early), ``failed``, ``infeasible`` (could not be
            built; never trained), ``interrupted`` (cut short by the machinery and run again),
            ``cancelled`` (queued, and closed unrun: the budget was spent first), ``running``
            or ``waiting``.
        config: The full configuration (fixed parameters included).
        values: The objective values, in the order of the objectives (complete trials).
        metrics: Everything the objective returned.
        error: One line on why it failed (failed, infeasible and interrupted trials).
        duration_s: Seconds its objective ran in the worker (without the time it waited to
            start), when it ended; Optuna's start-to-end time for trials without that record.
    """

    number: int
    status: TrialStatus
    config: dict[str, Any]
    values: list[float] | None
    metrics: dict[str, Any]
    error: str | None
    duration_s: float | None

    @classmethod
    def from_frozen(cls, trial: FrozenTrial, space: Space | None) -> TrialResult:
        """Read a trial back from Optuna's record."""
        # A queued trial's values are only in Optuna's record of what it will run.
        config: dict[str, Any] = dict(trial.params or trial.system_attrs.get("fixed_params", {}))
        if space is not None:
            # An unfinished or foreign trial may lack some parameters: keep its own then.
            with contextlib.suppress(KeyError):
                config = space.complete(trial.params)
        duration = trial.user_attrs.get(attrs.TRIAL_RUN_S)  # without queue time
        if duration is None and trial.duration is not None:  # older or foreign trials
            duration = trial.duration.total_seconds()
        return cls(
            number=trial.number,
            status=_status(trial),
            config=config,
            values=list(trial.values) if trial.values is not None else None,
            metrics=dict(trial.user_attrs.get(attrs.TRIAL_METRICS) or {}),
            error=trial.user_attrs.get(attrs.TRIAL_ERROR),
            duration_s=duration,
        )


def _status(trial: FrozenTrial) -> TrialStatus:
    if attrs.is_infeasible(trial):
        return "infeasible"
    if attrs.was_paused(trial):
        return "paused"
    if attrs.was_stopped(trial):
        return "stopped"
    if trial.state == TrialState.COMPLETE:
        return "complete"
    if trial.state == TrialState.FAIL:
        if trial.user_attrs.get(attrs.TRIAL_FAILURE) == attrs.CANCELLED:
            return "cancelled"
        return "failed" if attrs.counts_toward_budget(trial) else "interrupted"
    if trial.state == TrialState.RUNNING:
        return "running"
    return "waiting"


@dataclass(frozen=True, repr=False)
class TuneResult:
    """The outcome of a study.

    In a notebook a result shows its best trials (or its Pareto front) as a table;
    :meth:`report` returns the HTML report.

    Attributes:
        study: The Optuna study (open it in optuna-dashboard, or query it further).
        objectives: Its objectives.
        space: Its search space (``None`` for a study archtune did not create).
        trials: Every trial, in order.
    """

    study: optuna.Study
    objectives: Objectives
    space: Space | None
    trials: list[TrialResult]

    @classmethod
    def from_study(cls, study: optuna.Study) -> TuneResult:
        """Read everything back from ``study``."""
        stored_space = study.user_attrs.get(attrs.STUDY_SPACE)
        space = Space.from_dict(stored_space) if stored_space is not None else None
        stored_objectives = study.user_attrs.get(attrs.STUDY_OBJECTIVES)
        if stored_objectives is None:
            names = study.metric_names or [f"value{i}" for i in range(len(study.directions))]
            stored_objectives = {
                n: "max" if d == optuna.study.StudyDirection.MAXIMIZE else "min"
                for n, d in zip(names, study.directions, strict=True)
            }
        objectives = Objectives.parse(stored_objectives)
        trials = [TrialResult.from_frozen(t, space) for t in study.get_trials(deepcopy=False)]
        return cls(study, objectives, space, trials)

    @property
    def name(self) -> str:
        """The study's name."""
        return self.study.study_name

    @property
    def counts(self) -> dict[str, int]:
        """Trials by status."""
        return dict(Counter(t.status for t in self.trials))

    @property
    def best_trials(self) -> list[TrialResult]:
        """The best trial (one objective) or the Pareto front (several), best first."""
        complete = [t for t in self.trials if t.status == "complete" and t.values is not None]
        if not complete:
            return []
        if not self.objectives.is_multi:
            sign = -1.0 if self.objectives.directions[0][1] == "max" else 1.0
            return sorted(complete, key=lambda t: sign * t.values[0])[:1]  # type: ignore[index]
        signs = [1.0 if d == "max" else -1.0 for _, d in self.objectives.directions]
        points = [[s * v for s, v in zip(signs, t.values or [], strict=True)] for t in complete]
        return [complete[i] for i in sorted(non_dominated(points))]

    @property
    def best_trial(self) -> TrialResult:
        """The best trial of a single-objective study.

        Raises:
            StudyStateError: no trial completed, or the study has several objectives.
        """
        if self.objectives.is_multi:
            raise StudyStateError(
                f"study {self.name!r} has {len(self.objectives.names)} objectives, so it has a "
                "Pareto front, not one best trial; use best_trials"
            )
        best = self.best_trials
        if not best:
            raise StudyStateError(f"study {self.name!r} has no complete trial yet")
        return best[0]

    def __repr__(self) -> str:
        from archtune.search._result_view import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from archtune.search._result_view import result_html

        return result_html(self)

    def report(self, path: str | os.PathLike[str] | None = None, *, open: bool = False) -> Any:
        """The study's HTML report (:class:`archtune.report.HTMLReport`): shown inline in a
        notebook, written to ``path`` if given, opened in a web browser with ``open=True``.

        Raises:
            MissingDependencyError: plotly is not installed (``pip install "archtune[report]"``).
        """
        from archtune.report._inline import report_of

        return report_of(self, path, open_it=open)

    def top(self, n: int = 5) -> list[TrialResult]:
        """The ``n`` best complete trials (single objective) or the Pareto front (several)."""
        if self.objectives.is_multi:
            return self.best_trials
        sign = -1.0 if self.objectives.directions[0][1] == "max" else 1.0
        complete = [t for t in self.trials if t.status == "complete" and t.values is not None]
        return sorted(complete, key=lambda t: sign * t.values[0])[:n]  # type: ignore[index]


def load_result(name: str, storage: str) -> TuneResult:
    """Read the study ``name`` from ``storage``.

    Raises:
        StudyStateError: there is no such study (the message lists the ones there are).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = optuna.get_all_study_names(storage)
        known = ", ".join(names) if names else "none"
        raise StudyStateError(
            f"no study named {name!r} in {redact_url(storage)}; the studies there: {known}"
        ) from None
    return TuneResult.from_study(study)
