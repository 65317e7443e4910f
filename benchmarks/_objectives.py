"""Objectives shared by the benchmarks (module-level, so worker processes import them)."""

from __future__ import annotations

import time
from typing import Any

_SPIN_PER_SECOND: int | None = None


def value_of(x: float, n: int, opt: str) -> float:
    """A cheap deterministic function of a configuration."""
    return (x - 0.3) ** 2 + 0.01 * n + (0.1 if opt == "sgd" else 0.0)


def noop(config: dict[str, Any]) -> float:
    """Does nothing but return a value: measures pure per-trial overhead."""
    return value_of(config["x"], config["n"], config["opt"])


def spin(iterations: int) -> float:
    """Pure-Python CPU work (holds one core; no sleeping)."""
    total = 0.0
    for i in range(iterations):
        total += (i % 7) * 0.5
    return total


def calibrate(seconds: float = 1.0) -> int:
    """Iterations of :func:`spin` that take about ``seconds`` on one core here."""
    n = 200_000
    while True:
        start = time.perf_counter()
        spin(n)
        took = time.perf_counter() - start
        if took > 0.2:
            return int(n * seconds / took)
        n *= 2


def cpu_bound(config: dict[str, Any]) -> dict[str, float]:
    """About one second of CPU work (``config['iterations']`` from :func:`calibrate`)."""
    start = time.perf_counter()
    spin(int(config["iterations"]))
    return {"value": value_of(config["x"], 1, "adam"), "busy_s": time.perf_counter() - start}


def flaky(config: dict[str, Any]) -> dict[str, float]:
    """~0.3 s of work that sometimes fails the way real trials do.

    With the probabilities in the config: ``p_raise`` raises an exception, ``p_nan`` returns
    NaN, ``p_kill`` SIGKILLs its own worker process (as the out-of-memory killer would).
    """
    import math
    import os
    import random
    import signal

    time.sleep(0.3)
    draw = random.random()
    if draw < config["p_kill"]:
        os.kill(os.getpid(), signal.SIGKILL)
    draw -= config["p_kill"]
    if draw < config["p_raise"]:
        raise RuntimeError("injected failure")
    draw -= config["p_raise"]
    if draw < config["p_nan"]:
        return {"value": math.nan}
    return {"value": value_of(config["x"], 1, "adam")}
