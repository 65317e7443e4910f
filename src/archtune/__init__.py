"""archtune: shrink and tune neural networks.

archtune searches a network's structure and its training recipe with Optuna, runs the trials in
disposable worker processes, and keeps everything in an ordinary Optuna storage.

Example:
    >>> import archtune
    >>> space = {"lr": archtune.Float(1e-4, 1e-1, log=True)}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archtune._errors import (
    ArchtuneError,
    CheckpointWarning,
    ConfigError,
    DivergedError,
    InfeasibleError,
    InvalidSpaceError,
    MissingDependencyError,
    ObjectiveError,
    StorageLostError,
    StudyStateError,
)
from archtune._notebook import import_tqdm_quietly
from archtune._reporter import CheckpointReporter, Decision, NullReporter, Reporter
from archtune._version import __version__
from archtune.space import Choice, Fixed, Float, Int, Space

# Optuna's `tqdm.auto` import warns in a notebook without ipywidgets; archtune shows no tqdm bar.
import_tqdm_quietly()

if TYPE_CHECKING:  # what the lazy names below are, for type checkers and IDEs
    from archtune._api import tune
    from archtune.config import load_config
    from archtune.interop import ImportedModel, UnsupportedLayerError, from_keras, from_torch
    from archtune.search import TuneResult
    from archtune.shrinking import ShrinkResult, shrink, shrink_trial


__all__ = [
    "ArchtuneError",
    "CheckpointReporter",
    "CheckpointWarning",
    "Choice",
    "ConfigError",
    "Decision",
    "DivergedError",
    "Fixed",
    "Float",
    "ImportedModel",
    "InfeasibleError",
    "Int",
    "InvalidSpaceError",
    "MissingDependencyError",
    "NullReporter",
    "ObjectiveError",
    "Reporter",
    "ShrinkResult",
    "Space",
    "StorageLostError",
    "StudyStateError",
    "TuneResult",
    "UnsupportedLayerError",
    "__version__",
    "from_keras",
    "from_torch",
    "load_config",
    "shrink",
    "shrink_trial",
    "tune",
]


def __getattr__(name: str) -> object:
    # The engine (Optuna, pydantic) loads on first use, so `import archtune` stays light.
    if name == "tune":
        from archtune._api import tune

        return tune
    if name == "TuneResult":
        from archtune.search import TuneResult

        return TuneResult
    if name in ("from_keras", "from_torch", "ImportedModel", "UnsupportedLayerError"):
        from archtune import interop

        return getattr(interop, name)
    if name in ("shrink", "shrink_trial", "ShrinkResult"):
        from archtune import shrinking

        return getattr(shrinking, name)
    if name == "load_config":
        from archtune.config import load_config

        return load_config
    raise AttributeError(f"module 'archtune' has no attribute {name!r}")
