"""Run Ray Tune function trainables under archtune, with no Ray cluster.

A Ray Tune 2.x trainable changes one import::

    from archtune.interop import raytune as tune           # was: from ray import tune

    def train(config):
        start = 1
        checkpoint = tune.get_checkpoint()
        if checkpoint:
            with checkpoint.as_directory() as folder:
                start = load(folder) + 1
        for epoch in range(start, config["epochs"] + 1):
            loss = train_one_epoch(config["lr"])
            with tempfile.TemporaryDirectory() as folder:
                save(folder, epoch)
                tune.report({"loss": loss}, checkpoint=tune.Checkpoint.from_directory(folder))

    space = {"lr": tune.loguniform(1e-4, 1e-1), "epochs": 20}
    result = tune.tune_trainable(train, space, metric="loss", mode="min", n_trials=30)

Each :func:`report` is one step (``training_iteration``) that reaches archtune's scheduler;
a STOP ends the trainable there, as Ray Tune stops a trial. Checkpoint folders are kept in
archtune's artifact store (``artifacts=`` or beside an SQLite ``storage=``), so a rerun trial
resumes from :func:`get_checkpoint`. The space's ``tune.uniform``... are Ray Tune's own
(this module passes them through; converting them needs ``ray[tune]`` installed, running the
trainable does not start Ray). See ``docs/migrating-from-ray-tune.md``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from archtune._errors import ConfigError
from archtune._imports import require
from archtune.interop._ray_objective import BINDING
from archtune.interop._raytune_space import SPREAD_SD, convert_ray_tune
from archtune.space import Space

if TYPE_CHECKING:
    from archtune.search import TuneResult

__all__ = [
    "SPREAD_SD",
    "Checkpoint",
    "from_ray_tune",
    "get_checkpoint",
    "report",
    "tune_trainable",
]

#: Ray Tune's space functions, passed through so that ``tune.uniform(...)`` keeps working.
_RAY_NAMES = (
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "randn",
    "qrandn",
    "randint",
    "qrandint",
    "lograndint",
    "qlograndint",
    "choice",
    "grid_search",
    "sample_from",
)


def __getattr__(name: str) -> Any:
    if name in _RAY_NAMES:
        module = require("ray.tune", extra="raytune", feature="archtune.interop.raytune")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Checkpoint:
    """Ray Tune's ``Checkpoint`` of a local folder: ``from_directory``, ``as_directory``.

    Example:
        >>> checkpoint = Checkpoint.from_directory("/tmp")
        >>> with checkpoint.as_directory() as folder:
        ...     print(folder)
        /tmp
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)

    def __repr__(self) -> str:
        return f"Checkpoint(path={self.path!r})"

    @classmethod
    def from_directory(cls, path: str | os.PathLike[str]) -> Checkpoint:
        """A checkpoint of the files in ``path`` (read when it is reported)."""
        return cls(path)

    @contextlib.contextmanager
    def as_directory(self) -> Iterator[str]:
        """The checkpoint's folder, for reading."""
        yield self.path

    def to_directory(self, path: str | os.PathLike[str] | None = None) -> str:
        """Copy the checkpoint's files to ``path`` (a new temporary folder by default)."""
        target = os.fspath(path) if path is not None else tempfile.mkdtemp(prefix="checkpoint-")
        shutil.copytree(self.path, target, dirs_exist_ok=True)
        return target


def from_ray_tune(param_space: Mapping[str, Any]) -> Space:
    """The archtune :class:`~archtune.space.Space` of a Ray Tune ``param_space``.

    Searched values are named by their path with ``/`` (``model/lr``); constants are not
    searched and reach the trainable unchanged.

    Example:
        >>> from ray import tune                                # doctest: +SKIP
        >>> from_ray_tune({"lr": tune.loguniform(1e-4, 1e-1),   # doctest: +SKIP
        ...                "model": {"units": tune.qrandint(16, 256, 16)}})
        Space({'lr': Float(..., log=True), 'model/units': Int(16, 256, step=16)})

    Raises:
        ConfigError: ``sample_from`` or another value archtune cannot search, named by path.

    Warns:
        ConversionWarning: once per ``randn``/``qrandn`` (searched over mean ± 3 sd).
    """
    return convert_ray_tune(param_space, stacklevel=3).space


def report(metrics: Mapping[str, Any], *, checkpoint: Any = None) -> None:
    """Ray Tune's ``report``: one step's metrics, and optionally a checkpoint folder.

    Under archtune, the metrics reach the driver's scheduler; when it stops the trial, this
    call does not return (the trainable ends, as under Ray Tune). Outside a trial it does
    nothing.
    """
    session = BINDING.current()
    if session is not None:
        session.report(metrics, checkpoint)


def get_checkpoint() -> Checkpoint | None:
    """The trial's last reported checkpoint (a rerun after its worker died), or ``None``."""
    session = BINDING.current()
    if session is None:
        return None
    folder = session.restore()
    return Checkpoint(folder) if folder is not None else None


def tune_trainable(
    trainable: Callable[[dict[str, Any]], Any] | str,
    param_space: Mapping[str, Any],
    *,
    metric: str,
    mode: str,
    n_trials: int,
    **tune_options: Any,
) -> TuneResult:
    """Search a Ray Tune function trainable's ``param_space`` with archtune.

    ``Tuner(train, param_space=..., tune_config=TuneConfig(metric=, mode=, num_samples=))``
    becomes ``tune_trainable(train, param_space, metric=, mode=, n_trials=)``.

    Args:
        trainable: A module-level ``train(config)`` that calls :func:`report`, or
            ``"module:function"``.
        param_space: Ray Tune's space (see :func:`from_ray_tune`).
        metric: The reported metric to optimise.
        mode: ``"min"`` or ``"max"``.
        n_trials: Trials that must reach an end (Ray's ``num_samples`` for a space without
            ``grid_search``).
        **tune_options: Any keyword of :func:`archtune.tune` (``n_workers``, ``scheduler``
            (``asha``, ``hyperband``, ``median``; docs/migrating-from-ray-tune.md maps Ray's),
            ``sampler``, ``storage``, ``artifacts``, ``seed``, ...).

    Returns:
        archtune's :class:`~archtune.search.TuneResult`; each trial's metrics are its last
        report (with ``training_iteration``).
    """
    from archtune._api import tune
    from archtune.interop._ray_objective import RayTrainableObjective

    if mode not in ("min", "max"):
        raise ConfigError(f"tune_trainable: mode must be 'min' or 'max', got {mode!r}")
    if not isinstance(metric, str) or not metric:
        raise ConfigError(f"tune_trainable: metric must be a metric's name, got {metric!r}")
    if "objectives" in tune_options:
        raise ConfigError("tune_trainable: give metric= and mode=, not objectives=")
    converted = convert_ray_tune(param_space, stacklevel=3)
    return tune(
        RayTrainableObjective(trainable, converted),
        converted.space,
        objectives={metric: mode},
        n_trials=n_trials,
        **tune_options,
    )
