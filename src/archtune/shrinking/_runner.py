"""Run shrink tasks through an executor and record each as a trial of the shrink study.

The pipeline's process is the study's only writer: workers train and save models, the runner
records what they return. A task that raises becomes a FAILED trial with its error (the shrink
goes on); a worker that dies is replaced and its task runs again (up to ``max_retries``). Every
task has a key (``search/3/w4=47``); a resumed shrink finds the tasks it already ran by their
keys and does not run them again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archtune._reporter import Decision

if TYPE_CHECKING:
    import optuna

    from archtune.execution import BaseExecutor

__all__ = ["Outcome", "ShrinkTask", "TaskRunner"]

logger = logging.getLogger("archtune")

KEY_ATTR = "archtune.shrink.key"
TASK_ATTR = "archtune.shrink.task"


@dataclass(frozen=True)
class ShrinkTask:
    """One model to train: its key, the plain-data task and what to record with it.

    Attributes:
        key: Unique within the study (``stage/step/move``); a resume reuses its result.
        config: The task (see :mod:`archtune.shrinking._objective`).
        info: Recorded with the trial (stage, step, move, structure...).
        params: The values a sampler proposed (``archtune.shrink.params``); not Optuna
            parameters, whose distributions must stay the same across a study.
    """

    key: str
    config: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a task gave: its trial number and metrics, or its error."""

    task: ShrinkTask
    number: int
    metrics: dict[str, float] | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the task completed with metrics."""
        return self.metrics is not None


class TaskRunner:
    """Runs :class:`ShrinkTask` batches on an executor and records them in ``study``.

    Args:
        study: The shrink study (values: ``val_accuracy`` up, the cost down).
        executor: A started executor whose objective is the shrink objective.
        cost_key: The metric minimised (``params``, ``flops`` or ``latency_ms``).
        seed: Every task's seed (the same for all, so candidates differ by structure only).
        suffix: The suffix of the backend's saved models (``.pt``, ``.keras``).
        max_retries: Reruns of a task whose worker died.
        on_done: Called with each outcome as it is recorded (progress lines).
    """

    def __init__(
        self,
        study: optuna.Study,
        executor: BaseExecutor,
        *,
        cost_key: str,
        seed: int,
        suffix: str = ".pt",
        max_retries: int = 2,
        on_done: Callable[[Outcome], None] | None = None,
    ) -> None:
        self.study = study
        self.executor = executor
        self.cost_key = cost_key
        self.seed = seed
        self.suffix = suffix
        self.max_retries = max_retries
        self.on_done = on_done
        self.epochs = 0.0
        """Epochs of every task run or reused so far (in passes over the training split)."""
        self._submitted = 0
        self._done = self._recorded()
        self._n_trials = len(self.study.get_trials(deepcopy=False))  # the only writer counts

    def _recorded(self) -> dict[str, Outcome]:
        """The tasks this study already completed, by key (a resumed shrink reuses them)."""
        import optuna

        found: dict[str, Outcome] = {}
        for trial in self.study.get_trials(deepcopy=False):
            key = trial.user_attrs.get(KEY_ATTR)
            if key is None or trial.state != optuna.trial.TrialState.COMPLETE:
                continue
            task = ShrinkTask(key, dict(trial.user_attrs.get(TASK_ATTR) or {}))
            metrics = dict(trial.user_attrs.get("archtune.metrics") or {})
            found[key] = Outcome(task, trial.number, metrics)
        return found

    def run(self, tasks: Sequence[ShrinkTask]) -> list[Outcome]:
        """Run ``tasks`` (those not already recorded), at most one per free worker at a time.

        Returns:
            One outcome per task, in the order given.
        """
        from archtune.execution import Report, TrialDone, TrialError, TrialTask, WorkerLost

        outcomes: dict[str, Outcome] = {}
        pending: list[ShrinkTask] = []
        for task in tasks:
            recorded = self._done.get(task.key)
            if recorded is not None and _files_exist(recorded.task.config):
                outcomes[task.key] = Outcome(task, recorded.number, recorded.metrics)
            else:
                pending.append(task)
        running: dict[int, ShrinkTask] = {}
        attempts: dict[str, int] = {}
        while pending or running:
            while pending and self.executor.n_free > 0:
                task = pending.pop(0)
                number = self._next_number()
                running[number] = task
                self.executor.submit(TrialTask(number, task.config, seed=self.seed))
            for event in self.executor.poll(1.0):
                if isinstance(event, Report):
                    self.executor.answer(event.number, Decision.CONTINUE)
                    continue
                task = running.pop(event.number)
                if isinstance(event, TrialDone):
                    outcome = self._record(task, dict(event.metrics), None)
                elif isinstance(event, TrialError):
                    outcome = self._record(task, None, event.message)
                elif isinstance(event, WorkerLost):
                    attempts[task.key] = attempts.get(task.key, 0) + 1
                    if attempts[task.key] <= self.max_retries:
                        logger.warning("shrink: %s: %s; running it again", task.key, event.reason)
                        pending.insert(0, task)
                        continue
                    outcome = self._record(task, None, f"worker lost: {event.reason}")
                else:  # pragma: no cover - the protocol has no other events
                    continue
                outcomes[task.key] = outcome
                if self.on_done is not None:
                    self.on_done(outcome)
        # The budget counts every task's epochs, run now or reused (a resume spends the same).
        self.epochs += sum(
            float(outcome.metrics.get("epochs", 0.0))
            for outcome in outcomes.values()
            if outcome.metrics is not None
        )
        return [outcomes[task.key] for task in tasks]

    def _next_number(self) -> int:
        """A number for the executor's bookkeeping (the study numbers its trials itself)."""
        self._submitted += 1
        return self._submitted

    def _record(
        self, task: ShrinkTask, metrics: dict[str, Any] | None, error: str | None
    ) -> Outcome:
        import optuna

        state = optuna.trial.TrialState.COMPLETE
        values = None
        if metrics is not None:
            accuracy = float(metrics.get("val_accuracy", math.nan))
            cost = float(metrics.get(self.cost_key, metrics.get("params", math.nan)))
            if math.isfinite(accuracy) and math.isfinite(cost):
                values = [accuracy, cost]
            else:
                error, metrics = f"non-finite metrics: {metrics}", None
        if values is None:
            state = optuna.trial.TrialState.FAIL
        attrs: dict[str, Any] = {KEY_ATTR: task.key, TASK_ATTR: task.config, **task.info}
        if metrics is not None:
            attrs["archtune.metrics"] = metrics
        if error is not None:
            attrs["archtune.failure"] = "error"
            attrs["archtune.error"] = error
        if task.params:
            attrs["archtune.shrink.params"] = dict(task.params)
        trial = optuna.trial.create_trial(
            state=state,
            values=values,
            user_attrs={k: _jsonable(v) for k, v in attrs.items()},
        )
        self.study.add_trial(trial)
        number = self._n_trials  # trials are numbered in the order they are added
        self._n_trials += 1
        outcome = Outcome(task, number, metrics, error)
        if outcome.ok:
            self._done[task.key] = outcome
        else:
            logger.warning("shrink: %s failed: %s", task.key, error)
        return outcome


def _files_exist(config: Mapping[str, Any]) -> bool:
    """Whether a recorded task's saved model is still there (a resume needs it)."""
    from pathlib import Path

    save = config.get("save")
    return save is None or Path(str(save)).exists()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value
