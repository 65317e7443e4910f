"""The executor conformance suite: :class:`ExecutorConformance`."""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from archtune._reporter import Decision
from archtune.execution._base import BaseExecutor
from archtune.execution._objective import ObjectiveRef
from archtune.execution._protocol import (
    Event,
    Report,
    TrialDone,
    TrialError,
    TrialTask,
    WorkerLost,
)

__all__ = ["ExecutorConformance"]

_WAIT_S = 60.0


class ExecutorConformance:
    """Tests every :class:`~archtune.execution.BaseExecutor` passes, with real objectives.

    Subclasses override the ``executor`` fixture with a new, not yet started executor of two
    workers. The objective is ``objective_target``, a ``"module:function"`` that both the test
    process and the workers can import; it follows ``config["mode"]``: ``"metrics"`` returns
    ``{"score": x, "twice": 2 * x}``; ``"steps"`` reports ``score = step`` for
    ``config["steps"]`` steps and returns ``None`` after a STOP (else ``{"score": -1}``);
    ``"raise"`` raises ``ValueError``; ``"kill"`` SIGKILLs its own process; ``"checkpoint"``
    resumes from ``reporter.restore()`` (``{"step": k}``), reports ``score = step`` for steps
    ``k + 1`` to ``config["steps"]``, checkpoints ``{"step": step}`` after each, SIGKILLs its
    own process after the checkpoint of ``config["kill_at"]`` when it restored nothing, and
    returns ``{"score": steps, "resumed_from": k}``; ``"read"`` returns
    ``{"score": step}`` of ``reporter.restore(from_trial=config["from_trial"])`` (-1: none).
    """

    objective_target = "executor_objectives:conformance"

    @pytest.fixture
    def executor(self) -> BaseExecutor:
        raise NotImplementedError("override the executor fixture")

    @pytest.fixture
    def objective(self) -> ObjectiveRef:
        module = self.objective_target.partition(":")[0]
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        search_path = (os.path.dirname(origin),) if origin else ()
        return ObjectiveRef(self.objective_target, search_path)

    @pytest.fixture
    def started(self, executor: BaseExecutor, objective: ObjectiveRef) -> Iterator[BaseExecutor]:
        executor.start(objective, metric_names=["score"])
        try:
            yield executor
        finally:
            executor.shutdown()

    # -- the tests --------------------------------------------------------------------------
    def test_a_trial_completes_with_its_metrics(self, started: BaseExecutor) -> None:
        started.submit(TrialTask(0, {"mode": "metrics", "x": 0.25}, seed=1))
        events = _run_until_ended(started, {0})
        done = _only(events, TrialDone)
        assert done.number == 0
        assert done.metrics == {"score": 0.25, "twice": 0.5}
        assert done.stopped is False
        assert done.duration_s >= 0
        assert started.running == []
        assert started.n_free == 2

    def test_reports_arrive_in_order_and_stop_ends_the_trial(self, started: BaseExecutor) -> None:
        started.submit(TrialTask(7, {"mode": "steps", "steps": 10}))

        def stop_at_three(report: Report) -> Decision:
            return Decision.STOP if report.step == 3 else Decision.CONTINUE

        events = _run_until_ended(started, {7}, decide=stop_at_three)
        reports = [e for e in events if isinstance(e, Report)]
        assert [(r.number, r.step, r.metrics) for r in reports] == [
            (7, step, {"score": float(step)}) for step in range(4)
        ]
        done = _only(events, TrialDone)
        assert done.stopped is True
        assert done.metrics == {"score": 3.0}  # the last reported metrics
        assert isinstance(events[-1], TrialDone)

    def test_a_raising_objective_is_a_trial_error(self, started: BaseExecutor) -> None:
        started.submit(TrialTask(3, {"mode": "raise", "x": 4}))
        error = _only(_run_until_ended(started, {3}), TrialError)
        assert error.number == 3
        assert error.kind == "error"
        assert error.message == "ValueError: bad value 4"
        assert "ValueError" in error.traceback
        assert started.n_free == 2

    def test_a_killed_worker_is_lost_and_the_executor_goes_on(self, started: BaseExecutor) -> None:
        started.submit(TrialTask(5, {"mode": "kill"}))
        lost = _only(_run_until_ended(started, {5}), WorkerLost)
        assert lost.number == 5
        assert lost.reason
        assert started.running == []
        assert started.n_free == 2
        started.submit(TrialTask(6, {"mode": "metrics", "x": 1.0}))
        started.submit(TrialTask(8, {"mode": "metrics", "x": 2.0}))
        events = _run_until_ended(started, {6, 8})
        done = sorted((e.number, e.metrics["score"]) for e in events if isinstance(e, TrialDone))
        assert done == [(6, 1.0), (8, 2.0)]

    def test_free_and_running_follow_the_trials(self, started: BaseExecutor) -> None:
        assert started.n_free == 2
        assert started.running == []
        began = time.monotonic()
        assert started.poll(0.2) == []
        assert time.monotonic() - began < 2.0  # poll returns about its timeout
        started.submit(TrialTask(10, {"mode": "steps", "steps": 2}))
        assert (started.n_free, started.running) == (1, [10])
        started.submit(TrialTask(11, {"mode": "steps", "steps": 2}))
        assert started.n_free == 0
        assert sorted(started.running) == [10, 11]
        # Each trial waits on its first report's answer, so both stay running.
        first = _wait_for(started, lambda seen: {e.number for e in seen} == {10, 11})
        assert sorted(e.number for e in first if isinstance(e, Report)) == [10, 11]
        assert started.n_free == 0
        for number in (10, 11):
            started.answer(number, Decision.CONTINUE)
        events = _run_until_ended(started, {10, 11})
        assert {e.number for e in events if isinstance(e, TrialDone)} == {10, 11}
        assert started.n_free == 2
        assert started.running == []

    def test_cancel_ends_a_trial_and_its_worker_takes_the_next(
        self, started: BaseExecutor
    ) -> None:
        started.submit(TrialTask(30, {"mode": "steps", "steps": 5}))
        started.submit(TrialTask(31, {"mode": "steps", "steps": 5}))
        # Each waits on the answer to its first report, as a trial that never returns would.
        _wait_for(started, lambda seen: {e.number for e in seen} == {30, 31})
        started.cancel(30)
        assert started.running == [31]
        assert started.n_free == 1
        started.cancel(99)  # not running: ignored
        started.submit(TrialTask(32, {"mode": "metrics", "x": 3.0}))
        started.answer(31, Decision.STOP)
        events = _run_until_ended(started, {31, 32})
        assert not [e for e in events if e.number == 30]  # nothing more of the cancelled one
        done = sorted((e.number, e.metrics["score"]) for e in events if isinstance(e, TrialDone))
        assert done == [(31, 0.0), (32, 3.0)]
        assert started.n_free == 2

    def test_a_rerun_resumes_from_the_checkpoint_of_its_killed_attempt(
        self, started: BaseExecutor, tmp_path: Path
    ) -> None:
        folder = str(tmp_path / "artifacts")
        config = {"mode": "checkpoint", "steps": 4, "kill_at": 2}
        started.submit(TrialTask(40, config, artifacts=folder))
        events = _run_until_ended(started, {40})
        assert [e.step for e in events if isinstance(e, Report)] == [1, 2]
        assert _only(events, WorkerLost).number == 40
        # The rerun (a new trial of the same lineage) continues after the checkpoint.
        started.submit(TrialTask(41, config, artifacts=folder, lineage=40))
        events = _run_until_ended(started, {41})
        assert [e.step for e in events if isinstance(e, Report)] == [3, 4]
        assert _only(events, TrialDone).metrics == {"score": 4.0, "resumed_from": 2.0}
        # Another trial reads it by either attempt's number.
        started.submit(TrialTask(42, {"mode": "read", "from_trial": 41}, artifacts=folder))
        started.submit(TrialTask(43, {"mode": "read", "from_trial": 40}, artifacts=folder))
        events = _run_until_ended(started, {42, 43})
        scores = sorted((e.number, e.metrics["score"]) for e in events if isinstance(e, TrialDone))
        assert scores == [(42, 4.0), (43, 4.0)]

    def test_shutdown_returns_the_trials_cut_short(
        self, executor: BaseExecutor, objective: ObjectiveRef
    ) -> None:
        executor.start(objective, metric_names=["score"])
        try:
            executor.submit(TrialTask(20, {"mode": "steps", "steps": 5}))
            executor.submit(TrialTask(21, {"mode": "metrics", "x": 0.5}))
            seen = _wait_for(executor, lambda events: {e.number for e in events} == {20, 21})
            assert any(isinstance(e, TrialDone) and e.number == 21 for e in seen)
            assert executor.running == [20]  # waits for the answer to its report
        finally:
            cut_short = executor.shutdown()
        assert cut_short == [20]
        assert executor.shutdown() == []  # a second shutdown is harmless


def _wait_for(
    executor: BaseExecutor, ready: Callable[[list[Event]], bool], timeout: float = _WAIT_S
) -> list[Event]:
    """Poll (without answering) until ``ready(events so far)``."""
    deadline = time.monotonic() + timeout
    events: list[Event] = []
    while not ready(events):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s; events: {events}")
        events += executor.poll(0.5)
    return events


def _run_until_ended(
    executor: BaseExecutor,
    numbers: set[int],
    *,
    decide: Callable[[Report], Decision] = lambda report: Decision.CONTINUE,
    timeout: float = _WAIT_S,
) -> list[Event]:
    """Poll and answer every report until each trial in ``numbers`` has ended."""
    deadline = time.monotonic() + timeout
    events: list[Event] = []
    pending = set(numbers)
    while pending:
        if time.monotonic() > deadline:
            raise AssertionError(f"trials {sorted(pending)} did not end; events: {events}")
        for event in executor.poll(0.5):
            events.append(event)
            if isinstance(event, Report):
                executor.answer(event.number, decide(event))
            else:
                pending.discard(event.number)
    return events


def _only(events: list[Event], kind: type[Any]) -> Any:
    """The one event of ``kind``; fails if there is not exactly one."""
    found = [e for e in events if isinstance(e, kind)]
    assert len(found) == 1, f"expected one {kind.__name__}, got {events}"
    return found[0]
