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


def slow(config: dict[str, Any], reporter: Reporter) -> dict[str, float]:
    """Takes ``config['seconds']`` in small steps, reporting each; honours STOP."""
    steps = 5
    for step in range(steps):
        time.sleep(config.get("seconds", 0.5) / steps)
        if reporter.report(step, score=config["x"] * step) is Decision.STOP:
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
