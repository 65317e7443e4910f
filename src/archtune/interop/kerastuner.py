"""Run KerasTuner-style ``build(hp)`` functions under archtune.

A KerasTuner user changes one import::

    from archtune.interop import kerastuner as kt     # was: import keras_tuner as kt

    def build(hp):
        model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()])
        for i in range(hp.Int("layers", 1, 3)):
            model.add(keras.layers.Dense(hp.Int(f"units_{i}", 16, 128, step=16),
                                         activation="relu"))
        model.add(keras.layers.Dense(10, activation="softmax"))
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2,
                      sampling="log")), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    result = kt.tune_builder(build, data="digits", objectives={"val_accuracy": "max"},
                             n_trials=20, epochs=5)

archtune keeps its rule that *parameters are data*: :func:`discover_space` runs ``build`` in the
driver with a recording :class:`HyperParameters` to learn the search space (names, ranges, log
sampling, conditions), the driver samples each trial's configuration from that space, and each
worker replays ``build`` with :meth:`HyperParameters.from_config`, which returns the trial's
values. See ``docs/migrating-from-kerastuner.md`` for what maps to what and the limits.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from archtune._errors import ConfigError
from archtune.interop._kt_hyperparameters import HyperParameters, alternatives, space_of
from archtune.space import Param, Scalar, Space

if TYPE_CHECKING:
    from archtune.data import Dataset
    from archtune.search import TuneResult

__all__ = ["DEFAULT_MAX_BUILDS", "HyperParameters", "discover_space", "tune_builder"]

DEFAULT_MAX_BUILDS = 64
"""How many times :func:`discover_space` may run ``build`` by default."""


def discover_space(
    build: Callable[[HyperParameters], Any], *, max_builds: int = DEFAULT_MAX_BUILDS
) -> Space:
    """Learn ``build``'s search space by running it with recording hyperparameters.

    The first run takes every default. Then, for each Choice, Boolean and Int it declared,
    ``build`` runs again with each other option (an Int: its ends, or every value when it has
    at most 8), so names declared only in some branches or loop iterations are found too
    (``for i in range(hp.Int("layers", 1, 3))``). Names found in such a run are explored the
    same way. ``conditional_scope`` and ``parent_values`` become ``when`` conditions.

    Args:
        build: ``build(hp)``, as written for KerasTuner.
        max_builds: The most runs of ``build``; a warning says when the exploration stopped
            early (names only other values reach would then take their defaults).

    Returns:
        The space, with each parameter after the parents its conditions name.

    Raises:
        ConfigError: ``build`` fails with its default values, or declares a name two ways.
    """
    if isinstance(max_builds, bool) or not isinstance(max_builds, int) or max_builds < 1:
        raise ConfigError(
            f"discover_space: max_builds must be an integer >= 1, got {max_builds!r}"
        )
    params: dict[str, Param] = {}
    queue: list[dict[str, Scalar]] = [{}]
    seen: set[str] = {repr({})}
    builds = 0
    while queue and builds < max_builds:
        overrides = queue.pop(0)
        hp = HyperParameters._with_overrides(overrides)
        hp._params = dict(params)  # names are declared the same way in every run
        builds += 1
        try:
            build(hp)
        except ConfigError:
            raise
        except Exception as exc:
            values = f" with {overrides}" if overrides else " with its default values"
            raise ConfigError(
                f"kerastuner: build(hp) failed{values} while archtune discovered its space "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        new = [name for name in hp._params if name not in params or not overrides]
        params = dict(hp._params)
        for name in new:
            if name not in hp._values:
                continue
            for value in alternatives(params[name], hp._values[name]):
                candidate = {**overrides, name: value}
                key = repr(sorted(candidate.items(), key=lambda item: item[0]))
                if key not in seen:
                    seen.add(key)
                    queue.append(candidate)
    if queue:
        warnings.warn(
            f"kerastuner: space discovery stopped after {max_builds} runs of build(hp) with "
            f"{len(queue)} value combinations left; hyperparameters that only those reach "
            "are not searched (raise max_builds to explore them)",
            UserWarning,
            stacklevel=2,
        )
    return space_of(params)


# -- the study -----------------------------------------------------------------------------


def _build_reference(build: Callable[..., Any] | str) -> tuple[Callable[..., Any] | str, Any]:
    """``(what workers receive, the function here)`` for ``build`` or ``"module:function"``."""
    from archtune.execution import ObjectiveRef

    if isinstance(build, str):
        try:
            return build, ObjectiveRef(build).load()
        except ConfigError as exc:
            raise ConfigError(
                f"tune_builder: build {str(exc).removeprefix('objective ')}"
            ) from None
    if not callable(build):
        raise ConfigError(
            f"tune_builder: build must be a function or 'module:function', got {build!r}"
        )
    try:
        pickle.dumps(build)
    except Exception as exc:
        raise ConfigError(
            f"tune_builder: build must be a module-level function that worker processes can "
            f"import, got {getattr(build, '__qualname__', build)!r} ({exc}); define it at the top "
            "level of a module, or pass 'module:function'"
        ) from exc
    return build, build


def tune_builder(
    build: Callable[[HyperParameters], Any] | str,
    *,
    data: Dataset | str | Mapping[str, Any] | tuple[Any, Any],
    n_trials: int,
    objectives: Mapping[str, str] | str | None = None,
    n_workers: int = 1,
    epochs: int = 10,
    batch_size: int = 32,
    fit_kwargs: Mapping[str, Any] | None = None,
    data_options: Mapping[str, Any] | None = None,
    max_builds: int = DEFAULT_MAX_BUILDS,
    **tune_options: Any,
) -> TuneResult:
    """Search a KerasTuner-style ``build(hp)`` with archtune: KerasTuner's ``search()``.

    Each trial replays ``build`` with the trial's values in a worker process, trains the
    compiled Keras model on ``data`` with ``model.fit`` and reports ``val_*`` metrics after
    every epoch; a ``STOP`` from archtune's scheduler ends the fit.

    Args:
        build: A module-level ``build(hp)`` that returns a *compiled* Keras model (as in
            KerasTuner), or ``"module:function"``.
        data: An :class:`archtune.data.Dataset`, or what :func:`archtune.data.load_dataset`
            takes (``"digits"``, ``"mnist-sample"``, a file, ``"module:function"``, ``(x, y)``).
        n_trials: Trials that must reach an end.
        objectives: ``{metric: "max" | "min"}`` over the ``fit`` logs (``val_accuracy``,
            ``val_loss``, ...), ``test_*`` and ``params``; default ``{"val_accuracy": "max"}``.
        n_workers: Trials that run at once, each in its own process.
        epochs: ``model.fit``'s epochs.
        batch_size: ``model.fit``'s batch size.
        fit_kwargs: More keyword arguments of ``model.fit`` (e.g. ``{"shuffle": True}``).
        data_options: Keyword arguments of ``load_dataset`` when ``data`` is not a Dataset.
        max_builds: The most runs of ``build`` while discovering the space.
        **tune_options: Any other keyword of :func:`archtune.tune` (``sampler``, ``seed``,
            ``storage``, ``study_name``, ``resume``, ``timeout``, ...).

    Returns:
        archtune's :class:`~archtune.search.TuneResult`.

    Raises:
        ConfigError: ``build`` cannot reach a worker, fails with its defaults, or an argument
            is invalid.
    """
    from archtune._api import tune
    from archtune.data import Dataset, load_dataset
    from archtune.interop._kt_objective import KerasBuildObjective

    reference, function = _build_reference(build)
    for field, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"tune_builder: {field} must be an integer >= 1, got {value!r}")
    if not isinstance(data, Dataset):
        load_dataset(data, **dict(data_options or {}))  # fail here, not in every worker
    space = discover_space(function, max_builds=max_builds)
    objective = KerasBuildObjective(
        build=reference,
        data=data,
        data_options=tuple(sorted((data_options or {}).items())),
        epochs=epochs,
        batch_size=batch_size,
        fit_kwargs=tuple(sorted((fit_kwargs or {}).items())),
    )
    return tune(
        objective,
        space,
        objectives=objectives if objectives is not None else {"val_accuracy": "max"},
        n_trials=n_trials,
        n_workers=n_workers,
        **tune_options,
    )
