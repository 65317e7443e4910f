"""Objectives used by the tests; a module of its own so worker processes can import them."""

from __future__ import annotations

import math
import os
import signal
import time
from pathlib import Path
from typing import Any

from archtune import Decision, Reporter


def quadratic(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """A smooth objective with a known optimum at x = 0.3; reports three steps."""
    x = config["x"]
    for step in range(3):
        reporter.report(step, score=-((x - 0.3) ** 2) - 0.1 / (step + 1))
    return {"score": -((x - 0.3) ** 2), "x_abs": abs(x)}


def number_only(config: dict[str, Any]) -> float:
    """Takes no reporter and returns a bare number."""
    return float(config["x"])


def two_objectives(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """A trade-off: accuracy rises with size, cost too."""
    size = config["size"]
    return {"accuracy": 1.0 - 1.0 / size, "cost": float(size)}


def fail_when_negative(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Raises for x < 0, returns NaN for 0 <= x < 0.2, else a score."""
    x = config["x"]
    if x < 0:
        raise RuntimeError(f"boom at x={x:.3f}")
    if x < 0.2:
        return {"score": math.nan}
    return {"score": x}


def always_fail(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Every trial fails in user code."""
    raise ValueError("the data file is missing")


def missing_metric(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Returns a metric the study does not optimise (a configuration error)."""
    return {"accuracy": 0.5}


def kill_first_attempt(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """SIGKILLs its own worker the first time it sees a configuration (marker file)."""
    marker = Path(os.environ["ARCHTUNE_TEST_MARKERS"]) / f"{config['x']!r}"
    if not marker.exists():
        marker.write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return {"score": config["x"]}


def always_killed(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Kills its worker every time (as an out-of-memory kill would)."""
    os.kill(os.getpid(), signal.SIGKILL)
    return {"score": 0.0}


def interrupt_driver(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Presses Ctrl-C on its driver (SIGINT to the worker's parent), then waits to be ended."""
    os.kill(os.getppid(), signal.SIGINT)
    time.sleep(60)
    return {"score": config["x"]}


def slow(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Takes ``config['seconds']`` in small steps, reporting each; honours STOP."""
    steps = 5
    for step in range(steps):
        time.sleep(config.get("seconds", 0.5) / steps)
        if reporter.report(step, score=config["x"] * step) is Decision.STOP:
            break
    return {"score": config["x"]}


def flat_curve(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Reports ``score = x`` at steps 1 to 9; honours STOP."""
    for step in range(1, 10):
        if reporter.report(step, score=config["x"]) is Decision.STOP:
            break
    return {"score": config["x"]}


def thread_count(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Reports torch's intra-op thread count and OMP_NUM_THREADS in the worker."""
    import torch

    return {
        "score": 0.0,
        "torch_threads": float(torch.get_num_threads()),
        "omp": float(os.environ.get("OMP_NUM_THREADS", "-1")),
    }


def seed_echo(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Returns the trial's seed, to check seeds are derived and stable."""
    return {"score": float(reporter.seed if reporter.seed is not None else -1)}


def misleading_curve(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Epoch 1 ranks configurations in reverse of their final ranking (as on some real tasks).

    ``x`` near 1 learns slowly but ends best; ``x`` near 0 starts fast and plateaus low.
    """
    x = config["x"]
    value = 0.0
    for epoch in range(1, 10):
        value = (1 - x) * 0.5 if epoch == 1 else x * epoch / 9
        if reporter.report(epoch, score=value) is Decision.STOP:
            break
    return {"score": value}


def accuracy_and_size(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """A learning curve that saturates at a level set by ``width``; cost = ``width``."""
    width, quality = config["width"], config["quality"]
    accuracy = 0.0
    for epoch in range(1, 10):
        accuracy = quality * (1 - 1 / (1 + width)) * (1 - 0.5**epoch)
        if reporter.report(epoch, accuracy=accuracy, size=float(width)) is Decision.STOP:
            break
    return {"accuracy": accuracy, "size": float(width)}


class CountingTrainObjective:
    """archtune's built-in training, logging each call to ``$ARCHTUNE_TEST_MARKERS/calls``.

    Wraps a :class:`~archtune.training.TrainObjective` (picklable), so a test can count the
    trainings that really ran in the worker processes.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
        with (Path(os.environ["ARCHTUNE_TEST_MARKERS"]) / "calls").open("a") as log:
            log.write(f"{reporter.trial_number}\n")
        result: dict[str, float] = self.inner(config, reporter)
        return result


def checkpointing(config: dict[str, Any], reporter: Any) -> dict[str, float]:
    """Counts to ``config['steps']`` (``config['seconds']`` a step), checkpointing after each
    report and resuming from the last checkpoint.

    On the first attempt with ``config['kill_at']`` set, SIGKILLs its own worker right after
    the checkpoint of that step (a marker file makes it happen once per configuration).
    Returns where it resumed (0: from scratch), how many steps it reported itself, and what
    ``restore()`` gives after its last checkpoint.
    """
    state = reporter.restore()
    resumed_from = 0 if state is None else int(state["step"])
    total = 0.0 if state is None else float(state["total"])
    reported = 0
    for step in range(resumed_from + 1, int(config["steps"]) + 1):
        time.sleep(config.get("seconds", 0.0))
        total += config["x"]
        reporter.report(step, score=total)
        reported += 1
        reporter.checkpoint({"step": step, "total": total})
        kill_at = config.get("kill_at")
        if kill_at is not None and step == kill_at and state is None:
            marker = Path(os.environ["ARCHTUNE_TEST_MARKERS"]) / f"killed-{config['x']!r}"
            if not marker.exists():
                marker.write_text("killed once")
                os.kill(os.getpid(), signal.SIGKILL)
    last = reporter.restore()
    return {
        "score": total,
        "resumed_from": float(resumed_from),
        "reported": float(reported),
        "restored_step": -1.0 if last is None else float(last["step"]),
    }


def copies_trial_zero(config: dict[str, Any], reporter: Any) -> dict[str, float]:
    """Trial 0 checkpoints ``{"weights": x}``; every later trial reads trial 0's checkpoint."""
    if reporter.trial_number == 0:
        reporter.checkpoint({"weights": config["x"]})
        return {"score": config["x"], "copied": -1.0}
    copied = reporter.restore(from_trial=0)
    own = reporter.restore()
    return {
        "score": config["x"],
        "copied": -2.0 if copied is None else float(copied["weights"]),
        "own": -2.0 if own is None else float(own["weights"]),
    }


class KillingReporter:
    """A :class:`~archtune.CheckpointReporter` that SIGKILLs its process after the first
    checkpoint at epoch ``at`` or later, and writes that epoch to ``marker`` first."""

    def __init__(self, inner: Any, at: int, marker: Path) -> None:
        self.inner, self.at, self.marker = inner, at, marker

    @property
    def trial_number(self) -> int:
        return int(self.inner.trial_number)

    @property
    def seed(self) -> int | None:
        seed: int | None = self.inner.seed
        return seed

    @property
    def should_stop(self) -> bool:
        return bool(self.inner.should_stop)

    @property
    def keeps_checkpoints(self) -> bool:
        return bool(self.inner.keeps_checkpoints)

    def report(self, step: int, **metrics: float) -> Decision:
        decision: Decision = self.inner.report(step, **metrics)
        return decision

    def checkpoint(self, state: Any) -> None:
        self.inner.checkpoint(state)
        if int(state["epoch"]) >= self.at and not self.marker.exists():
            self.marker.write_text(str(int(state["epoch"])))
            os.kill(os.getpid(), signal.SIGKILL)

    def restore(self, *, from_trial: int | None = None) -> Any:
        return self.inner.restore(from_trial=from_trial)


class KilledTrainObjective:
    """archtune's built-in training whose worker is SIGKILLed after the checkpoint of epoch
    ``at`` (or the first one after it), once per seed (marker ``killed-<seed>`` in
    ``$ARCHTUNE_TEST_MARKERS``, holding that checkpoint's epoch). Picklable."""

    def __init__(self, inner: Any, at: int) -> None:
        self.inner, self.at = inner, at

    def __call__(self, config: dict[str, Any], reporter: Any) -> dict[str, float]:
        marker = Path(os.environ["ARCHTUNE_TEST_MARKERS"]) / f"killed-{reporter.seed}"
        result: dict[str, float] = self.inner(config, KillingReporter(reporter, self.at, marker))
        return result


def tied_accuracy(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Every network equally accurate; ``size`` is its parameter count."""
    return {"val_accuracy": 1.0, "params": float(config["size"])}
