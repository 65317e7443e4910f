"""A study's artifact store on a file system: each trial's latest checkpoint.

Layout, under the study's folder (``<db stem>.artifacts/<study name>/`` beside an SQLite file
by default, or under the ``artifacts:`` path a user names)::

    trial-<n>/checkpoint.pkl   the latest checkpoint of trial n and of its reruns
    trial-<n>/reports.json     the reports of trial n's lineage up to that checkpoint
    trial-<m>/lineage          "n": trial m is a rerun of trial n (its checkpoints live there)

A rerun of a trial (its worker died, or its driver was stopped) is a new Optuna trial whose
lineage starts at the first attempt's number; checkpoints are kept per lineage, so the rerun
finds what the attempt before it saved. The reports beside a checkpoint let the driver give a
rerun its lineage's whole curve even when the driver that received them was killed before it
could record them. Workers write the folders of their own trials only;
each write is atomic (a temporary file in the same folder, then a rename), so a worker killed
while writing leaves the previous checkpoint whole.

Checkpoints are pickles: whoever can write the folder can run code in the workers that read
it, as with any pickle. Keep it as private as the study's storage.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import tempfile
import warnings
from pathlib import Path
from typing import Any

from archtune._errors import CheckpointWarning

__all__ = ["CHECKPOINT_FILE", "ArtifactStore", "CheckpointWarning", "Curve"]

CHECKPOINT_FILE = "checkpoint.pkl"
_REPORTS_FILE = "reports.json"
_LINEAGE_FILE = "lineage"
_FORMAT = "archtune-checkpoint/1"

Curve = list[tuple[int, dict[str, float]]]
"""Reports in order: ``[(step, metrics), ...]``."""


class ArtifactStore:
    """The artifact folder of one study.

    Args:
        root: The study's folder; it is created on the first write.

    Example:
        >>> import tempfile
        >>> store = ArtifactStore(tempfile.mkdtemp())
        >>> _ = store.save_checkpoint(3, {"epoch": 2})
        >>> store.load_checkpoint(3)
        {'epoch': 2}
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def trial_dir(self, number: int) -> Path:
        """The folder of trial ``number`` (of its lineage when ``number`` is a first attempt)."""
        return self.root / f"trial-{int(number)}"

    def save_checkpoint(
        self,
        lineage: int,
        state: Any,
        *,
        trial: int | None = None,
        reports: Curve | None = None,
    ) -> Path:
        """Replace the latest checkpoint of ``lineage`` with ``state``, atomically.

        Args:
            lineage: The first attempt's trial number.
            state: Any picklable object.
            trial: The number of the attempt that saves it, when it is a rerun: a pointer from
                its own folder to the lineage's lets ``load_checkpoint(trial)`` find it.
            reports: The lineage's reports so far, written first (so they are never older
                than the checkpoint).

        Raises:
            TypeError: ``state`` cannot be pickled.
            OSError: the folder cannot be written.
        """
        try:
            blob = pickle.dumps(
                {
                    "format": _FORMAT,
                    "trial": trial if trial is not None else lineage,
                    "state": state,
                },
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise TypeError(
                f"reporter.checkpoint(state): state must be picklable, got "
                f"{type(state).__name__} ({exc})"
            ) from exc
        folder = self.trial_dir(lineage)
        folder.mkdir(parents=True, exist_ok=True)
        if trial is not None and trial != lineage:
            self._point(trial, lineage)
        if reports is not None:
            rows = [{"step": step, **metrics} for step, metrics in reports]
            _write_atomically(folder / _REPORTS_FILE, json.dumps(rows).encode())
        target = folder / CHECKPOINT_FILE
        _write_atomically(target, blob)
        return target

    def load_reports(self, lineage: int) -> Curve:
        """The reports saved with ``lineage``'s latest checkpoint (empty when there are none)."""
        try:
            rows = json.loads((self.trial_dir(lineage) / _REPORTS_FILE).read_text())
            return [
                (int(row["step"]), {k: float(v) for k, v in row.items() if k != "step"})
                for row in rows
            ]
        except (OSError, ValueError, TypeError, KeyError):
            return []

    def copy_lineage(self, source: int, target: int) -> Curve:
        """Replace ``target``'s latest checkpoint and reports with ``source``'s (population-based
        training's exploit step); returns the reports copied. Call it while no worker writes
        either lineage.

        Raises:
            FileNotFoundError: ``source`` has no checkpoint.
        """
        path = self.checkpoint_path(source)
        if path is None:
            raise FileNotFoundError(f"trial {source} has no checkpoint under {self.root}")
        reports = self.load_reports(source)
        folder = self.trial_dir(target)
        folder.mkdir(parents=True, exist_ok=True)
        rows = [{"step": step, **metrics} for step, metrics in reports]
        _write_atomically(folder / _REPORTS_FILE, json.dumps(rows).encode())
        _write_atomically(folder / CHECKPOINT_FILE, path.read_bytes())
        return reports

    def _point(self, trial: int, lineage: int) -> None:
        pointer = self.trial_dir(trial) / _LINEAGE_FILE
        if not pointer.exists():
            pointer.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(pointer, f"{int(lineage)}\n".encode())

    def checkpoint_path(self, number: int) -> Path | None:
        """The file of trial ``number``'s latest checkpoint (following a rerun's pointer)."""
        folder = self.trial_dir(number)
        target = folder / CHECKPOINT_FILE
        if target.is_file():
            return target
        pointer = folder / _LINEAGE_FILE
        with contextlib.suppress(OSError, ValueError):
            lineage = int(pointer.read_text().strip())
            if lineage != number:
                target = self.trial_dir(lineage) / CHECKPOINT_FILE
                return target if target.is_file() else None
        return None

    def load_checkpoint(self, number: int) -> Any | None:
        """The state of trial ``number``'s latest checkpoint; ``None`` when there is none.

        A checkpoint that cannot be read is reported with a :class:`CheckpointWarning` and
        treated as missing: the trial starts over rather than fail on every rerun.
        """
        path = self.checkpoint_path(number)
        if path is None:
            return None
        try:
            with path.open("rb") as file:
                payload = pickle.load(file)
        except FileNotFoundError:
            return None  # replaced between the check and the read: there is none to read now
        except Exception as exc:
            warnings.warn(
                f"the checkpoint {path} cannot be read ({type(exc).__name__}: {exc}); the "
                "trial starts without it",
                CheckpointWarning,
                stacklevel=3,
            )
            return None
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            warnings.warn(
                f"{path} is not an archtune checkpoint; the trial starts without it",
                CheckpointWarning,
                stacklevel=3,
            )
            return None
        return payload["state"]


def _write_atomically(target: Path, blob: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(blob)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
