"""The driver: the one process that owns the study, asks for trials and records their ends."""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import optuna
from optuna.trial import TrialState

from archtune._errors import (
    ArchtuneError,
    ConfigError,
    InfeasibleError,
    ObjectiveError,
    StorageLostError,
    StudyStateError,
)
from archtune._reporter import Decision
from archtune.execution import (
    ArtifactStore,
    BaseExecutor,
    Event,
    ExecutorRequest,
    Report,
    TrialDone,
    TrialError,
    TrialTask,
    WorkerLost,
    make_executor,
)
from archtune.search import _attrs as attrs
from archtune.search._artifacts import artifact_folder
from archtune.search._constraints import Constraint
from archtune.search._experiment import Experiment
from archtune.search._lease import Lease, lease_ttl
from archtune.search._pbt import PopulationScheduler, Segment
from archtune.search._ranking import dominates, dominates_or_equals
from archtune.search._result import TuneResult
from archtune.search._scheduler_base import BaseScheduler, StudyView, TrialPhase
from archtune.search._schedulers import make_scheduler
from archtune.search._stopped import told_values
from archtune.search._study import close_waiting, fail_running, open_study, requeue

__all__ = [
    "MAX_INFEASIBLE_IN_ROW",
    "Driver",
    "DriverStats",
    "ProgressSink",
    "TooManyFailuresError",
]

MAX_INFEASIBLE_IN_ROW = 100
"""A study stops when this many sampled configurations in a row cannot be trained."""

logger = logging.getLogger("archtune")


class TooManyFailuresError(ArchtuneError, RuntimeError):
    """Trials kept failing in the user's code; the study stopped. The message shows the last."""


@dataclass
class DriverStats:
    """Live counts for progress displays."""

    total: int
    done: int = 0  # reached an end that counts: complete + stopped + failed (counted)
    complete: int = 0
    stopped: int = 0
    failed: int = 0
    retried: int = 0
    infeasible: int = 0  # recorded, never trained, not counted
    running: int = 0
    best: str = ""
    started_at: float = field(default_factory=time.monotonic)
    sampler_s: float = 0.0  # asking for configurations: the sampler and the trial's creation
    steps: int = 0  # steps (epochs) reported by every trial: the compute spent


class ProgressSink(Protocol):
    """Receives :class:`DriverStats` whenever they change (a progress bar, a logger)."""

    def update(self, stats: DriverStats) -> None:
        """Show ``stats``."""


class Driver:
    """Runs an :class:`Experiment` to the end of its budget.

    The driver is the only writer of the study: workers receive a plain config dict and stream
    their reports back through the executor.

    Args:
        experiment: What to run.
        resume: Continue the existing study of that name instead of creating it.
        executor: Where trials run; a :class:`LocalExecutor` with ``experiment.n_workers``
            workers by default.
        scheduler: Decides on intermediate reports; never stops by default.
        progress: Told about every change of the counts.
        lease_ttl_s: How long the study's lease outlives this driver's last heartbeat before
            another driver may take the study over (default ``$ARCHTUNE_LEASE_TTL`` or 60 s).
    """

    def __init__(
        self,
        experiment: Experiment,
        *,
        resume: bool = False,
        executor: BaseExecutor | None = None,
        scheduler: BaseScheduler | None = None,
        progress: ProgressSink | None = None,
        lease_ttl_s: float | None = None,
    ) -> None:
        self.experiment = experiment
        self._resume = resume
        if lease_ttl_s is not None and not lease_ttl_s > 0:
            raise ValueError(f"lease_ttl_s must be a number of seconds > 0, got {lease_ttl_s!r}")
        self._lease_ttl_s = lease_ttl_s
        self._lease: Lease | None = None
        self._executor = executor or _make_executor(experiment)
        self._scheduler = scheduler or make_scheduler(
            experiment.scheduler,
            experiment.objectives,
            max_total_steps=experiment.max_total_steps,
            space=experiment.space,
            n_trials=experiment.n_trials,
            seed=experiment.seed,
            max_retries=experiment.max_retries,
        )
        # Population-based training plans the trials itself (see archtune.search._pbt).
        self._pbt = self._scheduler if isinstance(self._scheduler, PopulationScheduler) else None
        self._progress = progress
        self._live: dict[int, optuna.Trial] = {}  # asked and not ended (running or ready)
        self._started: dict[int, float] = {}  # on a worker since (monotonic), for trial_timeout
        self._ready: TrialTask | None = None  # asked ahead, not yet on a worker
        self._durations: list[float] = []  # of trials that ended, for asking ahead
        self._front: dict[int, list[float]] = {}  # complete trials no other one dominates
        self._curves: dict[int, list[tuple[int, dict[str, float]]]] = {}
        self._inherited: dict[int, int] = {}  # reruns: curve entries of earlier attempts
        self._artifacts: str | None = None  # the study's artifact folder (checkpoints)
        self._costs: dict[int, dict[str, float]] = {}
        self._phases: dict[int, TrialPhase] = {}
        #: Trials of the starting points: known good configurations, trained to the end.
        self._starts: set[int] = set()
        self._final: dict[int, dict[str, float]] = {}
        self._view = StudyView.of(
            experiment.objectives, self._curves, self._costs, self._phases, self._final
        )
        self._failures_in_row = 0
        self._infeasible_in_row = 0
        self._smallest_cost: dict[str, float] = {}  # per constrained metric, for messages
        self._last_error = ""
        self.stats = DriverStats(total=experiment.n_trials)
        self.study: optuna.Study | None = None

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> TuneResult:
        """Run trials until the budget is spent; return the result.

        Raises:
            ObjectiveError: the objective cannot be loaded or does not return its metrics.
            TooManyFailuresError: ``max_consecutive_failures`` user failures in a row.
            StudyStateError: a live driver holds the study, or took it over from this one
                (whose heartbeat had lapsed): this one then leaves the study alone.
            KeyboardInterrupt: after marking running trials interrupted (they run again on
                resume).
        """
        exp = self.experiment
        try:
            exp.objective.check()
        except ObjectiveError as exc:
            raise ObjectiveError(f"{exp.source}: {exc}") from None
        ttl_s = lease_ttl() if self._lease_ttl_s is None else self._lease_ttl_s
        study, lease = open_study(exp, resume=self._resume, lease_ttl_s=ttl_s)
        self.study = study
        self._lease = lease
        if not study.get_trials(deepcopy=False):  # a new study: the starting points go first
            # No more than the budget's trials: a queued start that never runs would stay in
            # the study as a waiting trial.
            for point in exp.starting_points[: exp.n_trials]:
                study.enqueue_trial(dict(point), user_attrs={attrs.TRIAL_START: "defaults"})
        logger.info(
            "study %s: sampler %s, scheduler %s",
            study.study_name,
            exp.resolved_sampler(),
            exp.scheduler.resolved_name(exp.objectives)
            + (" (rungs on fractions of the data)" if exp.scheduler.fidelity == "data" else ""),
        )
        deadline = None if exp.timeout_s is None else time.monotonic() + exp.timeout_s
        try:
            folder = artifact_folder(exp, study)
            self._artifacts = None if folder is None else str(folder)
            if self._pbt is not None:
                self._start_population(study)
            self._count_existing(study)
            with _interrupts_at_safe_points() as interrupt, self._executor as executor:
                executor.start(exp.objective, metric_names=exp.objectives.names)
                self._loop(study, executor, deadline, interrupt)
            if self._ready is not None:  # asked ahead, then the time ran out: run it on resume
                self._on_abort(study, lease)
            elif self._pbt is None and not self._can_ask():  # the budget is spent
                self._close_queued(study)
        except ObjectiveError as exc:
            self._on_abort(study, lease, exc)
            raise ObjectiveError(f"{exp.source}: {exc}") from None
        except BaseException as exc:
            try:
                self._on_abort(study, lease, exc)
            except Exception as abort_error:
                if not (_storage_failed(exc) or _storage_failed(abort_error)):
                    raise
                raise _storage_lost(exp, exc) from exc
            if _storage_failed(exc):
                raise _storage_lost(exp, exc) from exc
            raise
        finally:
            lease.release()
        return TuneResult.from_study(study)

    def _loop(
        self,
        study: optuna.Study,
        executor: BaseExecutor,
        deadline: float | None,
        interrupt: _Interrupt,
    ) -> None:
        """Keep every worker busy until the budget or the time is spent.

        One trial is asked ahead (``self._ready``) while the workers run, so a worker that
        finishes gets its next configuration at once: the sampler and the storage write of the
        finished trial no longer sit between two trials of the same worker. Ctrl-C (or
        SIGTERM) takes effect here, between storage operations, within a second. Time limits
        too: a trial past ``trial_timeout_s`` is ended, and at the study's deadline every
        running trial is.
        """
        while True:
            interrupt.check()
            if self._lease is not None:
                self._lease.check()
            out_of_time = deadline is not None and time.monotonic() >= deadline
            if out_of_time:
                self._end_at_deadline(study, executor)
            self._end_overdue(study, executor)
            self._dispatch(study, executor, out_of_time)
            if not self._ready and self._can_ask() and self._may_ask_ahead(deadline):
                self._ready = self._ask(study)
            self.stats.running = len(self._live) - (self._ready is not None)
            self._notify()
            if self.stats.running == 0:
                return
            events = executor.poll(self._wait_s(executor, deadline))
            self._dispatch(study, executor, out_of_time)  # first: free workers start at once
            stop: ArchtuneError | None = None
            for event in events:
                try:  # record every event that arrived, even after one that stops the study
                    self._handle(study, executor, event)
                except ArchtuneError as exc:
                    stop = stop or exc
            if stop is not None:
                raise stop
            interrupt.check()

    def _wait_s(self, executor: BaseExecutor, deadline: float | None) -> float:
        """How long to wait for events: at most 1 s, and not past the next time limit."""
        now = time.monotonic()
        limits = [now + 1.0]
        if deadline is not None:
            limits.append(deadline)
        trial_timeout = self.experiment.trial_timeout_s
        if trial_timeout is not None:
            started = [self._started[n] for n in executor.running if n in self._started]
            limits += [since + trial_timeout for since in started]
        return max(0.0, min(limits) - now)

    def _end_at_deadline(self, study: optuna.Study, executor: BaseExecutor) -> None:
        """The study's time is up: stop the workers now; each trial they ran runs again on resume.

        Those trials are recorded as FAIL (``archtune.failure=timeout``, not counted: the
        deadline, not their configuration, ended them) and queued again, as interrupted trials
        are.
        """
        limit = _seconds(self.experiment.timeout_s)
        for number in sorted(executor.shutdown()):
            self._on_timeout(
                study,
                number,
                f"timeout: the study's time limit ({limit}) passed while it ran; it runs "
                "again on --resume",
                counted=False,
            )

    def _end_overdue(self, study: optuna.Study, executor: BaseExecutor) -> None:
        """End the trials that ran past ``trial_timeout_s``: each fails, counts, and the study
        goes on."""
        limit = self.experiment.trial_timeout_s
        if limit is None:
            return
        now = time.monotonic()
        for number in sorted(executor.running):
            started = self._started.get(number)
            if started is not None and now - started >= limit:
                executor.cancel(number)
                self._on_timeout(
                    study,
                    number,
                    f"timeout: ran longer than the trial time limit ({_seconds(limit)}); its "
                    "worker was stopped",
                    counted=True,
                )

    def _on_timeout(
        self, study: optuna.Study, number: int, message: str, *, counted: bool
    ) -> None:
        self._started.pop(number, None)
        trial = self._live.pop(number)
        self._record_curve(trial)
        if self._pbt is not None and self._pbt.is_member(number):
            if counted:
                self._pbt.finished(number)
            else:
                self._pbt.interrupted(number)
            self._fail(study, trial, "timeout", message, counted=counted)
            return
        self._fail(study, trial, "timeout", message, counted=counted)
        if not counted:
            requeue(study, _frozen(study, trial), next_attempt=False)

    def _may_ask_ahead(self, deadline: float | None) -> bool:
        """Ask ahead only when the trial will surely start before the timeout.

        With a timeout, only once a trial has finished (to know how long one takes) and while
        more than two such durations remain; a trial asked ahead that cannot start is recorded
        as interrupted and queued for ``--resume``.
        """
        if deadline is None:
            return True
        if not self._durations:
            return False
        mean_s = sum(self._durations) / len(self._durations)
        return deadline - time.monotonic() > 2 * mean_s

    def _can_ask(self) -> bool:
        if self._pbt is not None:
            return self._pbt.has_next() and self._steps_allow_a_trial()
        if self.stats.done + len(self._live) >= self.experiment.n_trials:
            return False
        return self._steps_allow_a_trial()

    def _steps_allow_a_trial(self) -> bool:
        """``budget.steps``: a new trial fits at full length beside the running ones.

        With none running and steps left, one last trial starts (it may overshoot by less
        than one trial's length, as a scheduler may stop it early).
        """
        budget = self.experiment.max_total_steps
        length = self.experiment.scheduler.full_length
        if budget is None or length is None:
            return True
        running = [len(self._curves.get(n, [])) for n in self._live]
        if not running:
            return self.stats.steps < budget
        may_still_take = sum(max(0, length - done) for done in running)
        return self.stats.steps + may_still_take + length <= budget

    def _dispatch(self, study: optuna.Study, executor: BaseExecutor, out_of_time: bool) -> None:
        """Give each free worker the trial asked ahead, or a new one."""
        while executor.n_free > 0 and not out_of_time:
            task: TrialTask | None
            if self._ready is not None:
                task, self._ready = self._ready, None
            elif self._can_ask():
                task = self._ask(study)
            else:
                return
            if task is not None:
                executor.submit(task)
                self._started[task.number] = time.monotonic()

    def _ask(self, study: optuna.Study) -> TrialTask | None:
        """Ask for a trial and its task; ``None`` when it is infeasible (recorded, not run)."""
        if self._lease is not None:
            self._lease.check()  # never add a trial to a study another driver took over
        start = time.perf_counter()
        segment = self._pbt.next_segment(self._view) if self._pbt is not None else None
        trained = self._queue_segment(study, segment) if segment is not None else 0
        trial = study.ask()
        if self._lease is not None:
            try:  # stopped between the check and the ask, and taken over meanwhile
                self._lease.check()
            except StudyStateError:
                trial.set_user_attr(attrs.TRIAL_FAILURE, "interrupted")
                trial.set_user_attr(attrs.TRIAL_COUNTED, False)
                study.tell(trial, state=TrialState.FAIL)  # never a RUNNING trial nobody runs
                raise
        self._live[trial.number] = trial  # before sampling: an interrupt must find it
        config = self.experiment.space.sample(trial)
        self.stats.sampler_s += time.perf_counter() - start
        if self.experiment.precheck is not None:
            try:
                cost = self.experiment.precheck(config)
            except InfeasibleError as exc:
                if self._pbt is not None and segment is not None:
                    self._pbt.cancelled(segment)
                self._on_infeasible(study, self._live.pop(trial.number), str(exc), {})
                return None
            trial.set_user_attr(attrs.TRIAL_COST, cost)
            broken = self._broken_constraints(cost)
            if broken:
                reason = "; ".join(
                    f"{c.metric} {_count(cost[c.metric])} breaks {c}" for c in broken
                )
                violations = {c.metric: c.violation(cost[c.metric]) for c in broken}
                if self._pbt is not None and segment is not None:
                    self._pbt.cancelled(segment)
                self._on_infeasible(study, self._live.pop(trial.number), reason, violations)
                return None
            self._infeasible_in_row = 0
            self._costs[trial.number] = cost
        self._phases[trial.number] = "running"
        if self._pbt is None and trial.user_attrs.get(attrs.TRIAL_START):
            self._starts.add(trial.number)
        if self._pbt is not None and segment is not None:
            trial.set_user_attr(attrs.TRIAL_PBT_START, trained)
            self._pbt.started(trial.number, segment, config, trained)
        first, _ = attrs.lineage(trial)
        if first != trial.number and self._artifacts is not None:
            self._inherit_curve(study, trial, first)
        seed = None if self.experiment.seed is None else self.experiment.seed + first
        return TrialTask(
            trial.number,
            config,
            seed,
            artifacts=self._artifacts,
            lineage=first,
            resumes_paused=segment is not None and segment.member is not None,
        )

    def _close_queued(self, study: optuna.Study) -> None:
        """Close the trials still queued once the budget is spent: no run will take them.

        A resume whose budget was already met (or ``budget.steps`` spent) would otherwise leave
        the reruns of interrupted trials waiting in the study for good. Without the budget
        spent (the study's time ran out) they stay queued for ``--resume``.
        """
        exp = self.experiment
        if self.stats.done >= exp.n_trials:
            spent = f"{exp.n_trials} trials"
        else:
            spent = f"{exp.max_total_steps} steps"
        closed = close_waiting(study, f"not run: the budget ({spent}) was spent before its turn")
        if closed:
            logger.info(
                "%d queued trial(s) not run: the budget (%s) was spent; resume with a larger "
                "budget to search on",
                closed,
                spent,
            )

    # -- population-based training ----------------------------------------------------------
    def _start_population(self, study: optuna.Study) -> None:
        """Check that members can keep checkpoints; on resume, rebuild the population."""
        if self._artifacts is None:
            raise ConfigError(
                f"{self.experiment.source}: scheduler pbt continues each member from its "
                "checkpoints, and this study keeps none: use an SQLite or PostgreSQL storage "
                "with `artifacts:` (a folder), or SQLite, which keeps them beside its file"
            )
        assert self._pbt is not None
        store = ArtifactStore(self._artifacts)
        self._pbt.rebuild(
            study.get_trials(deepcopy=False), store.load_reports, self.experiment.objectives
        )
        # Trials a stopped driver queued to run again: the population plans its own reruns.
        waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
        if waiting and self._pbt.has_members():
            for _ in waiting:
                stale = study.ask()
                stale.set_user_attr(attrs.TRIAL_FAILURE, "interrupted")
                stale.set_user_attr(attrs.TRIAL_COUNTED, False)
                stale.set_user_attr(attrs.TRIAL_ERROR, "superseded: its member goes on")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    study.tell(stale, state=TrialState.FAIL)

    def _queue_segment(self, study: optuna.Study, segment: Segment) -> int:
        """Queue a member's next segment as the next trial of its lineage, after copying the
        checkpoint it exploits; returns the steps its member has trained (its checkpoint's)."""
        if segment.member is None:
            return 0
        assert self._artifacts is not None
        assert segment.config is not None
        store = ArtifactStore(self._artifacts)
        if segment.parent is not None:
            reports = store.copy_lineage(segment.parent, segment.member)
        else:
            reports = store.load_reports(segment.member)
        trained = reports[-1][0] if reports else 0
        user_attrs: dict[str, Any] = {attrs.TRIAL_RETRY_OF: segment.member}
        if segment.parent is not None:
            user_attrs[attrs.TRIAL_PBT_PARENT] = segment.parent
        study.enqueue_trial(segment.config, user_attrs=user_attrs, skip_if_exists=False)
        return trained

    def _on_paused(self, study: optuna.Study, trial: optuna.Trial) -> None:
        """A member's segment paused at an interval: recorded PRUNED with
        ``archtune.pbt.paused_at``, not counted; its member waits for its next segment."""
        curve = self._curves.get(trial.number, [])
        trial.set_user_attr(attrs.TRIAL_PAUSED_AT, curve[-1][0] if curve else 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study.tell(trial, state=TrialState.PRUNED)
        self._phases[trial.number] = "stopped"
        assert self._pbt is not None
        self._pbt.paused(trial.number)
        assert self._artifacts is not None
        if ArtifactStore(self._artifacts).checkpoint_path(trial.number) is None:
            raise ObjectiveError(
                f"scheduler pbt: trial {trial.number} paused without a checkpoint, so its "
                "member cannot go on: call reporter.checkpoint(state) after each report and "
                "reporter.restore() at the start (see docs/pbt.md)"
            )

    def _check_continues(self, number: int, step: int) -> None:
        """A member's later segment must continue from its checkpoint, not start over."""
        assert self._pbt is not None
        trained = self._pbt.segment_start(number)
        first_report = len(self._curves.get(number, ())) == self._inherited.get(number, 0)
        if first_report and step <= trained:
            raise ObjectiveError(
                f"scheduler pbt: trial {number} reported step {step} although its member had "
                f"trained {trained}: the objective starts over instead of continuing from its "
                "checkpoint; call reporter.restore() at the start and reporter.checkpoint() "
                "after each report (see docs/pbt.md)"
            )

    def _inherit_curve(self, study: optuna.Study, trial: optuna.Trial, first: int) -> None:
        """A rerun takes over the curve of the attempt before it (its lineage's so far).

        With an artifact store a rerun resumes from its lineage's last checkpoint and reports
        only the steps after it, so its curve starts with the earlier attempt's reports; the
        earlier attempt leaves the schedulers' view (its stored curve stays), so a rung never
        counts the lineage twice. A report of a step the rerun trains again (it resumed from
        an earlier checkpoint, or from scratch) replaces the inherited entries from that step
        on. Inherited steps are not compute this rerun spent: ``archtune.inherited_steps``
        says how many there are, and the step budget does not count them again. When the
        driver that received the earlier attempt's reports was killed before recording them,
        they come from beside the lineage's checkpoint.
        """
        earlier = [
            t
            for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
            if t.number < trial.number and attrs.lineage(t)[0] == first
        ]
        curve: list[tuple[int, dict[str, float]]] = []
        if earlier:
            previous = max(earlier, key=lambda t: t.number)
            curve = self._curves.pop(previous.number, []) or [
                (int(row["step"]), {k: float(v) for k, v in row.items() if k != "step"})
                for row in previous.user_attrs.get(attrs.TRIAL_CURVE) or []
            ]
        if self._artifacts is not None:
            saved = ArtifactStore(self._artifacts).load_reports(first)
            if saved and (not curve or saved[-1][0] > curve[-1][0]):
                curve = saved
        if not curve:
            return
        self._curves[trial.number] = list(curve)
        self._inherited[trial.number] = len(curve)
        objectives = self.experiment.objectives
        metric = objectives.names[0]
        if objectives.is_multi:
            return
        for step, metrics in curve:
            value = metrics.get(metric)
            if value is not None and math.isfinite(value):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    trial.report(value, step)

    # -- events -----------------------------------------------------------------------------
    def _handle(self, study: optuna.Study, executor: BaseExecutor, event: Event) -> None:
        if not isinstance(event, Report):
            self._started.pop(event.number, None)
        if isinstance(event, Report):
            self._on_report(executor, event)
        elif isinstance(event, TrialDone):
            self._on_done(study, event)
        elif isinstance(event, TrialError):
            self._on_error(study, event)
        else:
            self._on_lost(study, event)

    def _on_report(self, executor: BaseExecutor, event: Report) -> None:
        curve = self._curves.setdefault(event.number, [])
        inherited = self._inherited.get(event.number, 0)
        if inherited and curve[inherited - 1][0] >= event.step:  # a step trained again
            kept = [entry for entry in curve[:inherited] if entry[0] < event.step]
            curve[:] = kept + curve[inherited:]
            self._inherited[event.number] = len(kept)
        if self._pbt is not None and self._pbt.is_member(event.number):
            self._check_continues(event.number, event.step)
        curve.append((event.step, event.metrics))
        self.stats.steps += 1
        decision = self._scheduler.decide(self._view, event.number, event.step)
        if event.number in self._starts:  # the reference the search builds on: never stopped
            decision = Decision.CONTINUE
        executor.answer(event.number, decision)
        objectives = self.experiment.objectives
        trial = self._live.get(event.number)
        metric = objectives.names[0]
        if trial is not None and not objectives.is_multi and metric in event.metrics:
            value = event.metrics[metric]
            if math.isfinite(value):  # Optuna rejects NaN and inf
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # a repeated step is ignored with a warning
                    trial.report(value, event.step)

    def _on_done(self, study: optuna.Study, event: TrialDone) -> None:
        trial = self._live.pop(event.number)
        self._durations.append(event.duration_s)
        self._record_curve(trial)
        trial.set_user_attr(attrs.TRIAL_RUN_S, float(event.duration_s))
        if event.threads is not None:
            trial.set_user_attr(attrs.TRIAL_THREADS, event.threads)
        trial.set_user_attr(attrs.TRIAL_METRICS, _json_safe(event.metrics))
        member = self._pbt is not None and self._pbt.is_member(event.number)
        if member and event.stopped:
            self._on_paused(study, trial)
            self._failures_in_row = 0
            return
        if member:
            assert self._pbt is not None
            self._pbt.finished(event.number)
        if event.stopped:
            self._on_stopped(study, trial, event)
        else:
            try:
                values = self.experiment.objectives.values(event.metrics)
            except ObjectiveError as exc:
                self._fail(study, trial, "config", str(exc))
                raise
            except ValueError as exc:
                self._fail(study, trial, "nan", str(exc))
                return
            study.tell(trial, values)
            self.stats.complete += 1
            self._update_best(trial.number, values)
            self._phases[event.number] = "complete"
            self._final[event.number] = {
                k: float(v) for k, v in event.metrics.items() if isinstance(v, float | int)
            }
        self.stats.done += 1
        self._failures_in_row = 0

    def _on_stopped(self, study: optuna.Study, trial: optuna.Trial, event: TrialDone) -> None:
        """Record a trial stopped early so that samplers learn from what it showed.

        It is told COMPLETE, marked ``archtune.stopped_at``, so that samplers rank it by what it
        showed instead of below every finished trial, as they rank PRUNED trials. The values
        told are those it had when it stopped (its last reports, and the cost known before
        training), except that each trained objective is capped (:func:`told_values`): the
        trial ranks no better than any completed trial that was at least as good at the step
        where it stopped. Where curves peak mid-training, a trial stopped at a late rung would
        otherwise be told a value better than any finished trial ends with, and the sampler
        would search around it. Its own values stay in its curve and metrics. archtune's
        results count it as stopped, never as a best trial. When a value is missing it is told
        PRUNED.
        """
        curve = self._curves.get(trial.number, [])
        last_step = curve[-1][0] if curve else 0
        seen = {**self._costs.get(trial.number, {}), **(curve[-1][1] if curve else {})}
        trial.set_user_attr(attrs.TRIAL_STOPPED_AT, last_step)
        objectives = self.experiment.objectives
        try:
            values = objectives.values({**seen, **event.metrics})
        except ValueError:  # a missing or non-finite value: nothing to learn from
            study.tell(trial, state=TrialState.PRUNED)
        else:
            shown = dict(zip(objectives.names, values, strict=True))
            told = told_values(self._view, trial.number, last_step, shown)
            if told != values:
                logger.debug(
                    "trial %d stopped at step %d with %s; told %s (completed trials that were "
                    "as good there ended worse)",
                    trial.number,
                    last_step,
                    values,
                    told,
                )
            study.tell(trial, told)
        self.stats.stopped += 1
        self._phases[event.number] = "stopped"

    def _on_error(self, study: optuna.Study, event: TrialError) -> None:
        trial = self._live.pop(event.number)
        if self._pbt is not None and self._pbt.is_member(event.number):
            self._pbt.finished(event.number)
        self._record_curve(trial)
        trial.set_user_attr(attrs.TRIAL_RUN_S, float(event.duration_s))
        kind = "config" if event.kind == "config" else "error"
        self._fail(study, trial, kind, event.message, event.traceback)
        if kind == "config":
            raise ObjectiveError(event.message)

    def _on_lost(self, study: optuna.Study, event: WorkerLost) -> None:
        trial = self._live.pop(event.number)
        self._record_curve(trial)
        if self._pbt is not None and self._pbt.is_member(event.number):
            retry = self._pbt.lost(event.number)  # its member goes on from its checkpoint
            message = event.reason + ("; its member goes on" if retry else "; no retries left")
            self._fail(study, trial, "worker_lost", message, counted=not retry)
            self.stats.retried += retry
            return
        _, attempt = attrs.lineage(trial)
        retry = attempt <= self.experiment.max_retries
        message = event.reason + ("; it runs again" if retry else "; no retries left")
        self._fail(study, trial, "worker_lost", message, counted=not retry)
        if retry:
            requeue(study, _frozen(study, trial), next_attempt=True)
            self.stats.retried += 1

    def _broken_constraints(self, cost: dict[str, float]) -> list[Constraint]:
        broken = []
        for constraint in self.experiment.constraints:
            value = cost[constraint.metric]
            smallest = self._smallest_cost.get(constraint.metric, math.inf)
            self._smallest_cost[constraint.metric] = min(smallest, value)
            if constraint.violation(value) > 0:
                broken.append(constraint)
        return broken

    def _on_infeasible(
        self,
        study: optuna.Study,
        trial: optuna.Trial,
        reason: str,
        violations: dict[str, float],
    ) -> None:
        """Record a configuration that is not trained: it cannot be built or breaks a constraint.

        It is told PRUNED with its violations as Optuna constraints (``trial.set_constraint``;
        an unbuildable network violates ``buildable``), so constraint-aware samplers (TPE,
        NSGA-II, GP) learn where the feasible region is. It does not count toward the budget.
        """
        trial.set_user_attr(attrs.TRIAL_FAILURE, "infeasible")
        trial.set_user_attr(attrs.TRIAL_COUNTED, False)
        trial.set_user_attr(attrs.TRIAL_ERROR, f"infeasible: {reason}")
        for name, amount in (violations or {"buildable": 1.0}).items():
            trial.set_constraint(name, amount)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study.tell(trial, state=TrialState.PRUNED)
        self.stats.infeasible += 1
        self._infeasible_in_row += 1
        logger.info("trial %d is infeasible, not trained: %s", trial.number, reason)
        if self._infeasible_in_row >= MAX_INFEASIBLE_IN_ROW:
            smallest = ", ".join(
                f"{metric} {_count(value)}" for metric, value in self._smallest_cost.items()
            )
            seen = f"; the smallest cost seen: {smallest}" if smallest else ""
            raise TooManyFailuresError(
                f"{MAX_INFEASIBLE_IN_ROW} configurations in a row were infeasible (the last: "
                f"{reason}){seen}. Relax the constraints or narrow the space to networks that "
                "fit the data and the budget"
            )

    # -- recording --------------------------------------------------------------------------
    def _fail(
        self,
        study: optuna.Study,
        trial: optuna.Trial,
        kind: str,
        message: str,
        traceback: str = "",
        *,
        counted: bool = True,
    ) -> None:
        trial.set_user_attr(attrs.TRIAL_FAILURE, kind)
        trial.set_user_attr(attrs.TRIAL_ERROR, message)
        if traceback:
            trial.set_user_attr(attrs.TRIAL_TRACEBACK, traceback[-4000:])
        if not counted:
            trial.set_user_attr(attrs.TRIAL_COUNTED, False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study.tell(trial, state=TrialState.FAIL)
        if counted:
            self.stats.done += 1
            self.stats.failed += 1
            self._failures_in_row += 1
            self._last_error = f"trial {trial.number}: {message}"
            logger.warning("trial %d failed: %s", trial.number, message)
            limit = self.experiment.max_consecutive_failures
            if self._failures_in_row >= limit and kind != "config":
                raise TooManyFailuresError(
                    f"{limit} trials failed in a row, so the study stopped; the last error: "
                    f"{self._last_error}. Fix the objective, then rerun with --resume"
                )
        else:
            logger.warning("trial %d cut short: %s", trial.number, message)

    def _record_curve(self, trial: optuna.Trial) -> None:
        curve = self._curves.get(trial.number)
        if curve:
            trial.set_user_attr(
                attrs.TRIAL_CURVE, [{"step": step, **metrics} for step, metrics in curve]
            )
            inherited = self._inherited.get(trial.number, 0)
            if inherited:
                trial.set_user_attr(attrs.TRIAL_INHERITED, inherited)

    def _on_abort(
        self, study: optuna.Study, lease: Lease, error: BaseException | None = None
    ) -> None:
        """Mark trials still running as interrupted and queue them again (Ctrl-C, errors).

        Reads the storage, not only ``self._live``: an interrupt inside ``study.ask()`` leaves
        a RUNNING trial the driver has not seen yet. A driver whose lease another driver took
        over touches nothing (the trials are the other's now) and raises why it stopped.
        """
        if not lease.still_mine():
            self._live.clear()
            raise lease.lost_error() from error
        with _ignoring_sigint():
            for trial in self._live.values():
                self._record_curve(trial)
            self._live.clear()
            fail_running(study, "interrupted: the study was stopped")

    # -- progress ---------------------------------------------------------------------------
    def _count_existing(self, study: optuna.Study) -> None:
        for trial in study.get_trials(deepcopy=False):
            self.stats.done += attrs.counts_toward_budget(trial)
            curve = trial.user_attrs.get(attrs.TRIAL_CURVE) or []
            self.stats.steps += len(curve) - int(trial.user_attrs.get(attrs.TRIAL_INHERITED, 0))
            if attrs.is_infeasible(trial):
                self.stats.infeasible += 1
            elif attrs.was_stopped(trial):
                self.stats.stopped += 1
            elif trial.state == TrialState.COMPLETE and trial.values is not None:
                self.stats.complete += 1
                self._update_best(trial.number, list(trial.values))
            elif trial.state == TrialState.FAIL and attrs.counts_toward_budget(trial):
                self.stats.failed += 1

    def _update_best(self, number: int, values: list[float]) -> None:
        """Keep the best trial (one objective) or the Pareto front (several) up to date."""
        objectives = self.experiment.objectives
        point = [
            v if d == "max" else -v
            for v, (_, d) in zip(values, objectives.directions, strict=True)
        ]
        # With several objectives, trials with equal values are all on the front (as Optuna's
        # best_trials and `archtune show` count them); with one, the first of them stays best.
        beaten = dominates if objectives.is_multi else dominates_or_equals
        if any(beaten(other, point) for other in self._front.values()):
            return
        self._front = {n: p for n, p in self._front.items() if not beaten(point, p)}
        self._front[number] = point
        if objectives.is_multi:
            self.stats.best = f"{len(self._front)} on the Pareto front"
        else:
            self.stats.best = f"{objectives.names[0]}={values[0]:.4g} (trial {number})"

    def _notify(self) -> None:
        if self._progress is not None:
            self._progress.update(self.stats)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during, outermost first."""
    chain = [exc]
    while (cause := chain[-1].__cause__ or chain[-1].__context__) is not None:
        if cause in chain:
            break
        chain.append(cause)
    return chain


def _storage_failed(exc: BaseException) -> bool:
    """Whether ``exc`` is the storage failing (a database that stopped answering)."""
    from sqlalchemy.exc import SQLAlchemyError

    failures = SQLAlchemyError | optuna.exceptions.StorageInternalError
    return any(isinstance(e, failures) for e in _chain(exc))


def _storage_lost(experiment: Experiment, exc: BaseException) -> StorageLostError:
    """One line for a storage that failed mid-run: where, why, and how to go on."""
    from archtune._redact import redact_text, redact_url

    where = redact_url(experiment.storage) if experiment.storage else "memory"
    root = _chain(exc)[-1]
    reason = " ".join(str(getattr(root, "orig", None) or root).split())
    reason = redact_text(reason, experiment.storage)[:200]
    return StorageLostError(
        f"the storage {where} stopped answering during the run ({reason}); what it kept is "
        "kept, and trials that were running run again: once it answers, continue with "
        "--resume (resume=True)"
    )


def _make_executor(experiment: Experiment) -> BaseExecutor:
    """The executor the experiment names."""
    request = ExecutorRequest(experiment.n_workers, experiment.address, experiment.resources)
    return make_executor(experiment.executor, request)


def _seconds(value: float | None) -> str:
    """``5 s``, ``2.5 s``: a time limit in messages."""
    return "none" if value is None else f"{value:g} s"


def _count(value: float) -> str:
    """``93,322`` for counts, ``1.52`` otherwise."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:.3g}"


def _json_safe(metrics: dict[str, Any]) -> dict[str, Any]:
    """Non-finite floats as text ("nan", "inf"): storages keep strict JSON."""
    return {
        k: str(v) if isinstance(v, float) and not math.isfinite(v) else v
        for k, v in metrics.items()
    }


def _frozen(study: optuna.Study, trial: optuna.Trial) -> optuna.trial.FrozenTrial:
    return study._storage.get_trial(trial._trial_id)


class _Interrupt:
    """Ctrl-C or SIGTERM asked the driver to stop; it stops at the next safe point."""

    def __init__(self) -> None:
        self.requested = False

    def check(self) -> None:
        """Raise ``KeyboardInterrupt`` if a stop was asked."""
        if self.requested:
            raise KeyboardInterrupt


@contextlib.contextmanager
def _interrupts_at_safe_points() -> Iterator[_Interrupt]:
    """Turn SIGINT/SIGTERM into a request that the loop honours between storage operations.

    A ``KeyboardInterrupt`` raised inside a database call can leave the storage's session in
    the middle of a transaction, and the cleanup that follows then finds the database locked.
    A second Ctrl-C stops at once. Outside the main thread signals are left alone.
    """
    interrupt = _Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield interrupt
        return

    def request(signum: int, frame: Any) -> None:
        if interrupt.requested:
            raise KeyboardInterrupt
        interrupt.requested = True

    previous = {sig: signal.signal(sig, request) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield interrupt
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _ignoring_sigint() -> Iterator[None]:
    """Let cleanup finish even if Ctrl-C is pressed again (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
