"""Where a study keeps its trials' checkpoints: the artifact folder, chosen by the driver.

The folder is ``<root>/<study name>/``, where the root is the ``artifacts:`` setting, or, when
that is not set and the storage is an SQLite file, ``<db stem>.artifacts`` beside the file.
With an in-memory or PostgreSQL storage and no ``artifacts:``, a study has no folder and
checkpoints are off (``reporter.checkpoint`` warns once and keeps nothing).

The folder is recorded in the study (``archtune.artifacts``), so ``--resume`` finds it again
(a new ``artifacts:`` root moves it: the study's folder of the same name under the new root).
A new study never takes over a folder that another study wrote: a taken name gets a suffix
(``name-2``), so stale checkpoints of a deleted study of the same name are never resumed.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import optuna

from archtune._errors import ConfigError
from archtune._redact import redact_url
from archtune.search import _attrs as attrs
from archtune.search._experiment import Experiment

__all__ = ["artifact_folder", "default_artifact_root"]

logger = logging.getLogger("archtune")

_MARKER = "study.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def default_artifact_root(storage: str | None) -> Path | None:
    """``<db stem>.artifacts`` beside an SQLite file; ``None`` for any other storage.

    Example:
        >>> str(default_artifact_root("sqlite:////data/runs.db"))
        '/data/runs.artifacts'
        >>> default_artifact_root("postgresql+psycopg://u:pw@db/studies") is None
        True
    """
    if storage is None:
        return None
    from sqlalchemy.engine import make_url

    try:
        url = make_url(storage)
    except Exception:
        return None
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = str(url.database)
    if database.startswith("file:"):  # an SQLite URI filename: not a plain path
        return None
    path = Path(database).expanduser().absolute()
    return path.with_name(f"{path.stem}.artifacts")


def artifact_folder(experiment: Experiment, study: optuna.Study) -> Path | None:
    """The study's artifact folder (created, and recorded in the study); ``None``: none.

    Raises:
        ConfigError: the folder cannot be created.
    """
    stored = study.user_attrs.get(attrs.STUDY_ARTIFACTS)
    root = Path(experiment.artifacts) if experiment.artifacts is not None else None
    if isinstance(stored, str) and stored:
        previous = Path(stored)
        folder = previous if root is None or previous.parent == root else root / previous.name
    else:
        root = root if root is not None else default_artifact_root(experiment.storage)
        if root is None:
            return None
        folder = _new_folder(root, study.study_name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / _MARKER
        if not marker.exists():
            where = redact_url(experiment.storage) if experiment.storage else "memory"
            record = {"study": study.study_name, "storage": where, "created": time.time()}
            marker.write_text(json.dumps(record) + "\n")
    except OSError as exc:
        raise ConfigError(
            f"artifacts: the folder {folder} cannot be created ({exc.strerror or exc}); set "
            "`artifacts:` to a writable folder"
        ) from None
    if stored != str(folder):
        study.set_user_attr(attrs.STUDY_ARTIFACTS, str(folder))
    logger.info("study %s keeps its checkpoints in %s", study.study_name, folder)
    return folder


def _new_folder(root: Path, study_name: str) -> Path:
    """``root/<name>``, or ``root/<name>-2``, ... when another study wrote there already."""
    safe = _UNSAFE.sub("_", study_name) or "study"
    candidate, n = root / safe, 1
    while candidate.exists() and any(candidate.iterdir()):
        n += 1
        candidate = root / f"{safe}-{n}"
    return candidate
