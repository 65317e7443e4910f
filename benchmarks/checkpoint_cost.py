"""What checkpointing every epoch costs built-in training: wall time with and without.

Each problem is trained by archtune's built-in objective (``TrainObjective``, the torch backend,
one CPU thread) through the reporter a worker gives objectives (``ConnectionReporter``, its
driver answered in-process): once with an artifact store in a temporary folder (a checkpoint
after every epoch: weights, optimizer, schedule, random states, and the lineage's reports) and
once without (checkpoints off). Runs alternate, ``--repeats`` times each, to share the
machine's noise. The table gives the median seconds per epoch of each (the whole trial's wall
time over its epochs: building, training, evaluation and latency included), their ratio, the
checkpoints written, the median time of one write and its share of the checkpointed run's
wall time (the direct measure; the ratio also carries the noise of a shared machine).

    python -m benchmarks.checkpoint_cost [--epochs 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from archtune import Decision
from archtune.execution._protocol import TrialTask
from archtune.execution._worker import ConnectionReporter
from archtune.training import setup_training

PROBLEMS: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {
    "cnn1d default / mnist1d": ({"dataset": "mnist1d"}, {"family": "cnn1d"}, {}),
    "cnn-32-64-64 / mnist-sample": (
        {"dataset": "mnist-sample"},
        {"network": "cnn-32-64-64"},
        {"optimizer": "adam", "lr": 1e-3, "batch_size": 64},
    ),
}


class _Driver:
    """The worker's end of a pipe whose driver answers CONTINUE at once."""

    def send(self, message: Any) -> None:
        pass

    def recv(self) -> Decision:
        return Decision.CONTINUE


class _TimedReporter(ConnectionReporter):
    """The worker's reporter, timing each ``checkpoint`` call."""

    def __init__(self, artifacts: str | None) -> None:
        super().__init__(_Driver(), TrialTask(0, {}, seed=0, artifacts=artifacts))  # type: ignore[arg-type]
        self.writes: list[float] = []

    def checkpoint(self, state: Any) -> None:
        start = time.perf_counter()
        super().checkpoint(state)
        self.writes.append(time.perf_counter() - start)


def _run(objective: Any, config: Mapping[str, Any], artifacts: str | None) -> tuple[float, Any]:
    reporter = _TimedReporter(artifacts)
    start = time.perf_counter()
    metrics = objective(dict(config), reporter)
    wall = time.perf_counter() - start
    return wall / metrics["epochs"], reporter.writes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"built-in training, torch, 1 thread, {args.epochs} epochs, {args.repeats} runs with and "
        "without checkpoints (alternating)"
    )
    header = (
        f"{'problem':<30}{'params':>8}{'s/epoch off':>13}{'s/epoch on':>12}{'ratio':>7}"
        f"{'writes':>8}{'ms/write':>10}{'write share':>13}"
    )
    print(header)
    for name, (data, model, recipe) in PROBLEMS.items():
        setup = setup_training(data, model, {**recipe, "space": "none", "epochs": args.epochs})
        start = setup.starting_points[0] if setup.starting_points else {}
        config = setup.space.complete(dict(start))
        params = int(setup.objective.precheck(config)["params"])
        _run(setup.objective, config, None)  # warm-up: the data cache, torch's first calls
        off: list[float] = []
        on: list[float] = []
        writes: list[float] = []
        for _ in range(args.repeats):
            off.append(_run(setup.objective, config, None)[0])
            with tempfile.TemporaryDirectory() as folder:
                per_epoch, timed = _run(setup.objective, config, str(Path(folder) / "study"))
            on.append(per_epoch)
            writes += timed
        s_off, s_on = statistics.median(off), statistics.median(on)
        write_s = statistics.median(writes)
        share = sum(writes) / (sum(on) * args.epochs)
        print(
            f"{name:<30}{params:>8,}{s_off:>13.3f}{s_on:>12.3f}{s_on / s_off:>7.3f}"
            f"{len(writes) // args.repeats:>8}{write_s * 1000:>10.2f}{share:>13.2%}"
        )
    print("writes: checkpoints per run (one per epoch unless they took > 2 % of the training)")


if __name__ == "__main__":
    main()
