"""The worker side of :func:`archtune.interop.raytune.tune_trainable`.

:class:`RayTrainableObjective` is plain, picklable data (the trainable by reference, the
converted space). Each worker builds the trial's Ray-style config, binds a :class:`RaySession`
(what :func:`archtune.interop.raytune.report` and ``get_checkpoint`` talk to) and calls
``trainable(config)``. Every ``report`` is one step (Ray's ``training_iteration``) sent to the
driver; when archtune's scheduler answers STOP, ``report`` raises :class:`StopTrial`, which ends
the trainable as Ray Tune ends a stopped trial, and the trial keeps its last metrics.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archtune._errors import ObjectiveError
from archtune._reporter import CheckpointReporter, Decision, NullReporter, Reporter
from archtune.interop._session import StopTrial, TrialBinding
from archtune.interop._tree import ConvertedSpace

__all__ = ["BINDING", "RaySession", "RayTrainableObjective", "flat_metrics"]


def flat_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The numbers of a (nested) metrics dict, named as Ray flattens them (``a/b``)."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= flat_metrics(value, f"{name}/")
        elif isinstance(value, bool | str) or value is None:
            continue
        else:
            try:
                out[name] = float(value)
            except (TypeError, ValueError):
                continue
    return out


def _read_folder(path: str) -> dict[str, bytes]:
    root = Path(path)
    if not root.is_dir():
        raise ObjectiveError(
            f"raytune: report(checkpoint=...) must name a folder that exists, got {path!r}"
        )
    return {
        str(file.relative_to(root)): file.read_bytes()
        for file in sorted(root.rglob("*"))
        if file.is_file()
    }


class RaySession:
    """One trial of a Ray-style trainable: its steps, last metrics and checkpoints."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.iteration = 0
        self.last: dict[str, float] | None = None

    def report(self, metrics: Mapping[str, Any], checkpoint: Any = None) -> None:
        """Send one step's metrics; save ``checkpoint``'s folder; raise StopTrial on STOP."""
        if not isinstance(metrics, Mapping):
            raise ObjectiveError(
                f"raytune: report() takes a dict of metrics, got {type(metrics).__name__}"
            )
        numbers = flat_metrics(metrics)
        self.iteration += 1
        numbers["training_iteration"] = float(self.iteration)
        self.last = numbers
        decision = self.reporter.report(self.iteration, **numbers)
        if checkpoint is not None:
            self._save(checkpoint)
        if decision is Decision.STOP:
            raise StopTrial

    def _save(self, checkpoint: Any) -> None:
        path = getattr(checkpoint, "path", None)
        if not isinstance(path, str | os.PathLike):
            raise ObjectiveError(
                "raytune: report(checkpoint=...) takes a Checkpoint "
                f"(Checkpoint.from_directory(folder)), got {type(checkpoint).__name__}"
            )
        if isinstance(self.reporter, CheckpointReporter):
            state = {"files": _read_folder(os.fspath(path)), "iteration": self.iteration}
            self.reporter.checkpoint(state)

    def restore(self) -> str | None:
        """The folder of the trial's last checkpoint (a fresh copy), or ``None``."""
        if not isinstance(self.reporter, CheckpointReporter):
            return None
        state = self.reporter.restore()
        if not isinstance(state, Mapping) or "files" not in state:
            return None
        folder = tempfile.mkdtemp(prefix="archtune-checkpoint-")
        for name, data in state["files"].items():
            target = Path(folder, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        self.iteration = max(self.iteration, int(state.get("iteration", 0)))
        return folder


BINDING: TrialBinding[RaySession] = TrialBinding("archtune.interop.raytune")
"""The running trial's session, while the trainable runs."""


@dataclass(frozen=True)
class RayTrainableObjective:
    """``objective(config, reporter)``: one Ray Tune function trainable's trial.

    Attributes:
        trainable: ``train(config)`` (module-level) or ``"module:function"``.
        converted: The converted ``param_space``, which builds the trial's Ray-style config.
    """

    trainable: Callable[..., Any] | str
    converted: ConvertedSpace

    def __str__(self) -> str:
        name = self.trainable
        if not isinstance(name, str):
            name = getattr(name, "__qualname__", "trainable")
        return f"Ray Tune trainable {name}"

    def _function(self) -> Callable[..., Any]:
        if not isinstance(self.trainable, str):
            return self.trainable
        from archtune.execution import ObjectiveRef

        return ObjectiveRef(self.trainable).load()

    def __call__(
        self, config: Mapping[str, Any], reporter: Reporter | None = None
    ) -> dict[str, float]:
        """Run the trainable with the trial's config; return its last reported metrics.

        Raises:
            ObjectiveError: the trainable never called ``report`` (the study stops: every
                trial would end the same way).
        """
        session = RaySession(reporter if reporter is not None else NullReporter())
        with BINDING.bound(session), contextlib.suppress(StopTrial):
            self._function()(self.converted.point(config))
        if session.last is None:
            raise ObjectiveError(
                "raytune: the trainable returned without calling report(); report its metrics "
                "with `from archtune.interop.raytune import report` and report({...})"
            )
        return dict(session.last)
