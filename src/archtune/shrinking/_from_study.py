"""Shrink a trial of a built-in training study: search first, then shrink what it found.

A search trains every network from scratch, and in a short trial a small network trained from
scratch is less accurate than the same size shrunk from a larger trained one (docs/benchmarks.md,
"Search, then shrink"). :func:`shrink_trial` hands one trial of a study (by default its most
accurate) to :func:`~archtune.shrinking.shrink`, with the study's own data, splits, network,
recipe, epochs, backend and the trial's seed, so the shrink's baseline is the trial's model
trained again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archtune._errors import ConfigError

if TYPE_CHECKING:
    from archtune.search import TuneResult
    from archtune.shrinking._result import ShrinkResult

__all__ = ["shrink_trial"]

#: ``load_dataset``'s default seed: the splits a study's data spec gives when it names none.
_DATA_SEED = 0


def shrink_trial(
    study: str | TuneResult,
    *,
    storage: str | None = None,
    trial: int | None = None,
    max_drop: float = 0.005,
    budget: float | None = None,
    objective: str = "params",
    n_workers: int = 2,
    name: str | None = None,
    output: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    **options: Any,
) -> ShrinkResult:
    """Shrink trial ``trial`` of a built-in training study (default: its most accurate).

    Example:
        >>> result = archtune.tune(data=..., model=..., objectives=...)  # doctest: +SKIP
        >>> small = archtune.shrink_trial(result, max_drop=0.01)  # doctest: +SKIP

    Args:
        study: The study's result, or its name in ``storage``.
        storage: Where the study is when ``study`` is a name; the shrink's own study is kept
            there too, so ``resume=True`` continues it (``None``: in memory).
        trial: The trial number (default: the best by the study's quality metric).
        max_drop: The accepted drop in accuracy on validation (see ``shrink``).
        budget: All of the shrink's training, in trainings of the trial (the baseline's
            retraining included); ``None``: as ``shrink`` chooses it.
        objective: The cost to minimise: ``params``, ``flops`` or ``latency``.
        n_workers: Models trained at once.
        name: The shrink study's name (default ``shrink-<study>-trial-<n>``).
        output: Where the chosen model's ONNX file goes (default ``<name>.onnx``).
        log: Receives one line per step.
        **options: Any other argument of :func:`~archtune.shrinking.shrink` but ``model``,
            ``data``, ``recipe``, ``epochs``, ``backend``, ``seed`` and ``storage``, which come
            from the study.

    Raises:
        ConfigError: an option the study decides, or a bad argument (see ``shrink``).
        StudyStateError: not a built-in training study, or no such trial.
    """
    from archtune.report._export import builtin_objective, trial_seed
    from archtune.report._summary import pick_trial
    from archtune.search import TuneResult, load_result
    from archtune.shrinking._run import shrink

    decided = sorted({"model", "data", "recipe", "epochs", "backend", "seed"} & set(options))
    if decided:
        raise ConfigError(
            f"shrink_trial: {decided[0]} comes from the study; leave it out (use "
            "archtune.shrink to shrink a model of your own)"
        )
    if isinstance(study, str):
        if storage is None:
            raise ConfigError(f"shrink_trial: study {study!r} is a name; give its storage URL")
        from archtune.config import check_storage

        check_storage(storage, source="shrink_trial(): storage", must_exist=True)
        study = load_result(study, storage)
    if not isinstance(study, TuneResult):
        raise ConfigError(f"shrink_trial: study must be a TuneResult or a name, got {study!r}")
    train = builtin_objective(study, "shrink_trial")
    chosen = pick_trial(study, trial=trial)
    recipe = train.recipe_of(chosen.config).to_dict()
    epochs = int(recipe.pop("epochs"))
    data = {"seed": _DATA_SEED, **dict(train.data)}
    return shrink(
        train.model.build(chosen.config),
        data,
        max_drop=max_drop,
        objective=objective,
        budget=budget,
        epochs=epochs,
        recipe=recipe,
        backend=train.backend,
        n_workers=n_workers,
        storage=storage,
        seed=trial_seed(study, chosen),
        name=name or _default_name(study.name, chosen.number),
        output=output,
        log=log,
        **options,
    )


def _default_name(study: str, number: int) -> str:
    """``shrink-<study>-trial-<n>``; ``shrink-trial-<n>`` for a study Optuna named itself."""
    if study.startswith("no-name-"):
        return f"shrink-trial-{number}"
    return f"shrink-{study}-trial-{number}"
