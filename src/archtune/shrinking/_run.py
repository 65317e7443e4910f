"""The shrink pipeline: baseline, search, final fine-tunes, choice, export.

1. The baseline is trained with its recipe (``epochs`` epochs: the budget's unit), or its
   given weights are evaluated as they are.
2. A strategy (``progressive`` by default, or ``sampler``) searches for smaller models and
   returns a ladder of them, from the most costly to the cheapest.
3. Finalists from the ladder get a full fine-tune (``finetune_epochs``, cosine schedule): a
   search over the ladder, as many at once as there are workers, that closes in on the
   cheapest model within ``max_drop`` of the baseline on validation.
4. The choice (:mod:`._select`) is made on validation; the test split reports, with intervals.
5. The chosen model is exported to ONNX; the result is stored in the study
   (``archtune.shrink.result``), so the report names the same model as the CLI and the JSON.

Every model trains in the executor's workers and is recorded as a trial (:mod:`._runner`);
the budget (``budget`` baseline trainings, in epochs over the training split) covers it all.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from archtune._errors import ConfigError
from archtune.arch import Network, estimate_cost
from archtune.recipe import Recipe
from archtune.shrinking._finals import FINETUNE_RECIPE, Final, finetune_ladder
from archtune.shrinking._objective import ShrinkObjective
from archtune.shrinking._progressive import ProgressiveStrategy
from archtune.shrinking._resolve import resolve_baseline
from archtune.shrinking._result import COST_KEYS, Candidate, ShrinkResult
from archtune.shrinking._runner import ShrinkTask, TaskRunner
from archtune.shrinking._select import (
    choose,
    paired_change,
    trivial_accuracy,
    useful,
    wilson_interval,
)
from archtune.shrinking._space import describe_structure, shrink_space
from archtune.shrinking._strategy import (
    BaseShrinkStrategy,
    LadderPoint,
    SearchContext,
    model_path,
    task_config,
)

if TYPE_CHECKING:
    from archtune._notebook import ShrinkProgress
    from archtune.backends import BaseBackend
    from archtune.data import Dataset
    from archtune.search import ProgressSink

__all__ = ["DEFAULT_RECIPE", "STRATEGIES", "shrink"]

logger = logging.getLogger("archtune")

DEFAULT_RECIPE: dict[str, Any] = {"optimizer": "adam", "lr": 1e-3, "batch_size": 64}
"""The baseline's recipe when the model comes with none (``epochs`` is the budget's unit)."""

STRATEGIES = ("progressive", "sampler")

_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def shrink(
    model: str | Network | Any,
    data: str | Any = "mnist-sample",
    *,
    max_drop: float = 0.005,
    objective: str = "params",
    budget: float | None = None,
    epochs: int = 10,
    finetune_epochs: int | None = None,
    strategy: str | BaseShrinkStrategy = "progressive",
    target: float | None = None,
    distill: bool | Mapping[str, float] = False,
    n_trials: int = 32,
    recipe: Mapping[str, Any] | None = None,
    train_baseline: bool | None = None,
    standardize: bool | None = None,
    max_samples: int | None = None,
    backend: str = "torch",
    storage: str | None = None,
    models_dir: str | Path | None = None,
    n_workers: int = 2,
    seed: int = 0,
    resume: bool = False,
    name: str | None = None,
    output: str | Path | None = None,
    progress: ProgressSink | None = None,
    log: Callable[[str], None] | None = None,
    trials: int | None = None,
    workers: int | None = None,
) -> ShrinkResult:
    """Shrink ``model`` on ``data``: the cheapest model within ``max_drop`` of its accuracy.

    Example:
        >>> result = archtune.shrink("cnn-32-64-64", "mnist-sample")  # doctest: +SKIP
        >>> result.chosen.params, result.verdict  # doctest: +SKIP

    Args:
        model: A built-in network (``cnn-32-64-64``), a family, a ``.keras`` file,
            ``module:function`` returning a Keras model or a PyTorch module, a
            :class:`~archtune.arch.Network` or an :class:`~archtune.interop.ImportedModel`.
        data: A dataset spec (see :func:`archtune.data.load_dataset`).
        max_drop: The accepted drop in accuracy, absolute (0.005 = half a point), judged on
            validation; the test split reports.
        objective: The cost to minimise: ``params``, ``flops`` or ``latency``.
        budget: All of shrink's training, in baseline trainings (``epochs`` epochs each).
            ``None``: :data:`DEFAULT_BUDGET`, raised where the training split is so small
            that it would hold fewer than :data:`DEFAULT_SEARCH_STEPS` search steps (each
            proposal's fine-tune is stretched to a number of optimizer steps there), with a
            log line; a budget given that cannot hold one step is refused.
        epochs: One baseline training's epochs (the baseline's own, and the budget's unit).
        finetune_epochs: Each finalist's fine-tune (default ``2 * epochs``).
        strategy: ``progressive`` (layer by layer from the weights), ``sampler`` (TPE over
            width multipliers, layer removals, kernels, separable convolutions and the
            recipe), or a :class:`BaseShrinkStrategy`.
        target: Stop the search at this reduction (``None``: as far as the budget goes).
        distill: Learn from the baseline's logits too: ``True`` or
            ``{"temperature": 4, "alpha": 0.7}``.
        n_trials: The ``sampler`` strategy's trials.
        recipe: The baseline's recipe fields (default :data:`DEFAULT_RECIPE`).
        train_baseline: Train the baseline (default: only when no weights come with it).
        standardize: Standardise the inputs (default: yes for a description trained here,
            no for a model that comes with weights, which expects the data as its user
            prepared them).
        max_samples: Use a stratified subset of the data (fast runs and tests).
        backend: ``torch`` or ``keras``: the framework that trains every model.
        storage: The study's Optuna storage URL (``None``: in memory).
        models_dir: Where trained models are kept (default: a temporary folder without
            ``storage``, else ``archtune-shrink/<name>``, so ``resume`` finds them).
        n_workers: Models trained at once, each in its own process.
        seed: Seeds the data split, the baseline and every fine-tune.
        resume: Continue the study of this name (tasks already recorded are not rerun).
        name: The study's name (default ``shrink-<model>-<data>``).
        output: Where the chosen model's ONNX file goes (default ``<name>.onnx``).
        progress: Unused by the progressive strategy (kept for the CLI's progress bar).
        log: Receives one line per step (default: the ``archtune`` logger).
        trials: Deprecated name of ``n_trials``.
        workers: Deprecated name of ``n_workers``.

    Raises:
        ConfigError: a bad argument (a storage URL that does not open, too), or a model that
            does not fit the data.
        StudyStateError: the study exists (without ``resume``) or does not (with it).
    """
    started = time.perf_counter()
    notebook = _notebook_progress(log)
    say = log or (notebook.log if notebook is not None else logger.info)
    n_trials = _renamed("trials", trials, "n_trials", n_trials)
    workers = _renamed("workers", workers, "n_workers", n_workers)
    cost_key = _check_args(objective, max_drop, budget, epochs, workers, backend)
    finetune_epochs = finetune_epochs if finetune_epochs is not None else 2 * epochs
    if finetune_epochs < 1:
        raise ConfigError(f"shrink: finetune_epochs must be >= 1, got {finetune_epochs}")
    from archtune.config import check_storage

    check_storage(storage, source="shrink(): storage")  # one line, before any training
    search = _strategy(strategy, target, n_trials)
    temperature, alpha, use_distill = _distill_args(distill)
    data_kwargs = _data_kwargs(data, max_samples, seed)
    # A model with weights is judged on the data as its user prepared it, unless told.
    given_weights = _comes_with_weights(model)
    if standardize is None:
        standardize = data_kwargs.get("standardize", not given_weights)
    data_kwargs["standardize"] = bool(standardize)
    dataset = _load(data_kwargs)
    if dataset.task != "classification":
        raise ConfigError(f"shrink: data {data!r} is a regression task; shrink needs classes")
    network, weights = resolve_baseline(
        model,
        input_shape=tuple(dataset.input_shape),
        n_outputs=int(dataset.n_outputs or 1),
        head="softmax",
    )
    shrink_space(network)  # fails early when there is nothing to shrink
    base_recipe = {**DEFAULT_RECIPE, **dict(recipe or {}), "epochs": epochs}
    Recipe.from_dict(base_recipe)  # validate
    study_name = name or _default_name(model, network, data_kwargs["dataset"])
    target_path = Path(output) if output is not None else Path(f"{study_name}.onnx")
    _check_writable(target_path)
    engine = _backend(backend)
    cost_of = _cost_function(cost_key, engine)
    train = train_baseline if train_baseline is not None else weights is None
    # The finalists' search needs two rounds: the first spreads its fine-tunes over the
    # ladder (one per worker, two at most), the second aims at the boundary the first shows.
    n_reserved = min(workers, 2) + 1
    reserved = (epochs if train else 0) + n_reserved * finetune_epochs
    step = max(1.0, search.first_step_epochs(network, cost_of, dataset.n_train, base_recipe))
    if budget is None:
        budget = _default_budget(dataset.n_train, epochs, reserved, step, say)
    budget_epochs = budget * epochs
    if budget_epochs - reserved < step:
        raise ConfigError(
            f"shrink: a budget of {budget:g} baseline trainings ({budget_epochs:g} epochs) cannot "
            f"hold the baseline's training ({epochs if train else 0} epochs), {n_reserved} "
            f"fine-tunes of {finetune_epochs} epochs and one search step ({step:.1f} epochs); "
            f"raise budget (--budget) to at least {(reserved + step) / epochs:.1f} or lower "
            "finetune_epochs (--finetune-epochs)"
        )
    preprocessing = "standardized" if standardize else "as given"
    say(f"data: {data_kwargs['dataset']}, inputs {dataset.describe_inputs()}")
    if weights is not None and not train:
        _check_not_near_chance(engine, network, weights, dataset, standardize=bool(standardize))
    with _models_folder(models_dir, storage, study_name) as work:
        study = _open_study(study_name, storage, work, cost_key, resume)
        if not resume:  # a new study: models left by an earlier one of that name are stale
            _clear_models(work, keep=work / "study.db")
        objective_fn = ShrinkObjective(
            data=tuple(sorted(data_kwargs.items())),
            recipe=base_recipe,
            backend=backend,
            teacher=str(work / "teacher-logits.npy") if use_distill else None,
            temperature=temperature,
            alpha=alpha,
        )
        executor = _executor(objective_fn, workers)
        try:
            runner = TaskRunner(
                study,
                executor,
                cost_key=cost_key,
                seed=seed,
                suffix=engine.native_suffix,
                on_done=_epochs_shown(notebook, budget_epochs),
            )
            say(f"baseline {network.name or 'model'}: {describe_structure(network)}")
            baseline_model, baseline_val, baseline_train_s = _baseline(
                runner, engine, network, weights, dataset, base_recipe, work, train
            )
            say(f"baseline: validation accuracy {baseline_val:.4f}")
            if use_distill:
                _write_teacher(engine, baseline_model, dataset, work / "teacher-logits.npy")
            search_budget = budget_epochs - runner.epochs - n_reserved * finetune_epochs
            context = SearchContext(
                baseline=network,
                baseline_model=baseline_model,
                baseline_val=baseline_val,
                cost_of=cost_of,
                runner=runner,
                epochs=max(0.0, search_budget),
                work=work,
                recipe=base_recipe,
                distill=use_distill,
                seed=seed,
                log=say,
                n_train=dataset.n_train,
                trivial_val=trivial_accuracy(dataset.y_val),
            )
            ladder = search.search(context)
            say(f"search: {len(ladder)} models on the ladder, {runner.epochs:.0f} epochs so far")
            finals = finetune_ladder(
                runner,
                ladder,
                baseline_val=baseline_val,
                max_drop=max_drop,
                epochs=finetune_epochs,
                budget_epochs=budget_epochs,
                n_workers=workers,
                distill=use_distill,
                work=work,
                log=say,
            )
        finally:
            executor.shutdown()
        baseline, rows = _measure(
            engine,
            dataset,
            network,
            baseline_model,
            baseline_val,
            baseline_train_s,
            base_recipe,
            finals,
        )
        trivial = trivial_accuracy(dataset.y_val)
        offered = [row for row in rows if useful(row.val_accuracy, baseline.val_accuracy, trivial)]
        pareto = tuple(sorted(offered, key=lambda c: (c.cost(objective), -c.val_accuracy)))
        index = choose(
            [c.cost(objective) for c in pareto],
            [c.val_accuracy for c in pareto],
            baseline.val_accuracy,
            max_drop,
        )
        chosen = baseline
        if index is not None and pareto[index].cost(objective) < baseline.cost(objective):
            chosen = pareto[index]
        _export(engine, _saved(chosen, baseline_model), chosen, target_path)
        say(f"chosen: {chosen.label}, exported to {target_path}: {_fold(target_path, dataset)}")
        result = ShrinkResult(
            baseline=baseline,
            pareto=pareto,
            chosen=chosen,
            baseline_best_recipe=None,
            objective=objective,
            max_drop=max_drop,
            exported=target_path,
            study_name=study_name,
            storage=storage,
            wall_time_s=time.perf_counter() - started,
            counts=_counts(study),
            strategy=search.name,
            epochs_spent=runner.epochs,
            budget_epochs=budget_epochs,
            baseline_epochs=epochs,
            preprocessing=preprocessing,
            ladder=tuple(_ladder_row(point) for point in ladder),
        )
        study.set_user_attr("archtune.shrink.result", result.to_dict())
        # Without a storage the study's file goes with the temporary folder: keep a copy.
        kept = study if storage is not None else _in_memory_copy(study_name, work / "study.db")
    return dataclasses.replace(result, study=kept)


def _in_memory_copy(name: str, database: Path) -> Any:
    """The study ``name`` of the SQLite file ``database``, copied into memory (what
    ``ShrinkResult.report()`` reads once the temporary folder is gone)."""
    import optuna

    memory = optuna.storages.InMemoryStorage()
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "a new study created" line
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # copy_study's experimental warning
            optuna.copy_study(
                from_study_name=name, from_storage=f"sqlite:///{database}", to_storage=memory
            )
        return optuna.load_study(study_name=name, storage=memory)
    finally:
        optuna.logging.set_verbosity(verbosity)


# -- progress ---------------------------------------------------------------------------------
def _notebook_progress(log: Callable[[str], None] | None) -> ShrinkProgress | None:
    """In a Jupyter kernel, without a ``log`` of the caller's: the live notebook block."""
    from archtune._notebook import ShrinkProgress, in_notebook

    return ShrinkProgress() if log is None and in_notebook() else None


def _epochs_shown(
    notebook: ShrinkProgress | None, budget_epochs: float
) -> Callable[[Any], None] | None:
    """A ``TaskRunner.on_done`` that moves the notebook's bar by each task's epochs."""
    if notebook is None:
        return None
    spent = [0.0]

    def on_done(outcome: Any) -> None:
        if outcome.metrics is not None:
            spent[0] += float(outcome.metrics.get("epochs", 0.0))
        notebook.epochs(min(spent[0], budget_epochs), budget_epochs)

    return on_done


# -- arguments --------------------------------------------------------------------------------
def _renamed(old: str, old_value: int | None, new: str, value: int) -> int:
    """``value``, or ``old_value`` given under the deprecated name ``old`` (with a warning)."""
    if old_value is None:
        return value
    warnings.warn(f"shrink: {old}= is deprecated; use {new}=", DeprecationWarning, stacklevel=3)
    return old_value


#: The budget without one given, in baseline trainings (see :func:`_default_budget`).
DEFAULT_BUDGET = 10.0
#: The fewest search steps the default budget holds.
DEFAULT_SEARCH_STEPS = 3


def _default_budget(
    n_train: int, epochs: int, reserved: float, step: float, say: Callable[[str], None]
) -> float:
    """The budget without one given, in baseline trainings: ten, or on a
    training split so small that each proposal's fine-tune is stretched to many passes (a
    table of a hundred rows), enough for the reserved trainings and
    :data:`DEFAULT_SEARCH_STEPS` steps of the search, said in a log line. On such a table an
    epoch is a couple of optimizer steps, so the larger budget costs seconds."""
    need = (reserved + DEFAULT_SEARCH_STEPS * step) / epochs
    if need <= DEFAULT_BUDGET:
        return DEFAULT_BUDGET
    budget = math.ceil(need * 10) / 10
    say(
        f"budget: {DEFAULT_BUDGET:g} baseline trainings would hold "
        f"{max(0, int((DEFAULT_BUDGET * epochs - reserved) // step))} search steps of "
        f"{step:.1f} epochs on {n_train:,} training rows; using {budget:g} "
        f"({DEFAULT_SEARCH_STEPS} steps; set budget (--budget) to choose)"
    )
    return budget


def _check_args(
    objective: str,
    max_drop: float,
    budget: float | None,
    epochs: int,
    workers: int,
    backend: str,
) -> str:
    if objective not in COST_KEYS:
        raise ConfigError(
            f"shrink: objective must be one of {', '.join(COST_KEYS)}, got {objective!r}"
        )
    if not 0 <= max_drop < 1:
        raise ConfigError(
            f"shrink: max_drop must be in [0, 1) (0.005 = half a point), got {max_drop}"
        )
    if budget is not None and not budget > 0:
        raise ConfigError(f"shrink: budget must be > 0 (in baseline trainings), got {budget}")
    if epochs < 1:
        raise ConfigError(f"shrink: epochs must be >= 1, got {epochs}")
    if workers < 1:
        raise ConfigError(f"shrink: n_workers must be >= 1, got {workers}")
    if backend not in ("torch", "keras"):
        raise ConfigError(f"shrink: backend must be one of torch, keras, got {backend!r}")
    return COST_KEYS[objective]


def _strategy(
    strategy: str | BaseShrinkStrategy, target: float | None, trials: int
) -> BaseShrinkStrategy:
    if target is not None and not target > 1:
        raise ConfigError(f"shrink: target must be a reduction > 1 (e.g. 20), got {target}")
    if isinstance(strategy, BaseShrinkStrategy):
        return strategy
    if strategy == "progressive":
        return ProgressiveStrategy(target=target)
    if strategy == "sampler":
        from archtune.shrinking._sampled import SamplerStrategy

        if trials < 1:
            raise ConfigError(f"shrink: n_trials must be >= 1, got {trials}")
        return SamplerStrategy(n_trials=trials)
    raise ConfigError(
        f"shrink: strategy must be one of {', '.join(STRATEGIES)} or a BaseShrinkStrategy, "
        f"got {strategy!r}"
    )


def _distill_args(distill: bool | Mapping[str, float]) -> tuple[float, float, bool]:
    if isinstance(distill, bool):
        return 4.0, 0.7, distill
    if not isinstance(distill, Mapping):
        raise ConfigError(
            f"shrink: distill must be true, false or {{temperature, alpha}}, got {distill!r}"
        )
    unknown = set(distill) - {"temperature", "alpha"}
    if unknown:
        raise ConfigError(
            f"shrink: distill takes temperature and alpha, got unknown {sorted(unknown)}"
        )
    temperature = float(distill.get("temperature", 4.0))
    alpha = float(distill.get("alpha", 0.7))
    if not temperature > 0:
        raise ConfigError(f"shrink: distill.temperature must be > 0, got {temperature}")
    if not 0 <= alpha <= 1:
        raise ConfigError(f"shrink: distill.alpha must be in [0, 1], got {alpha}")
    return temperature, alpha, True


def _comes_with_weights(model: Any) -> bool:
    from archtune.interop import ImportedModel

    if isinstance(model, ImportedModel):
        return True
    return isinstance(model, str) and (model.endswith(".keras") or ":" in model)


def _data_kwargs(data: str | Any, max_samples: int | None, seed: int) -> dict[str, Any]:
    if isinstance(data, Mapping):
        kwargs = dict(data)
        if "name" in kwargs and "dataset" not in kwargs:  # {name: mnist-sample, ...}
            kwargs["dataset"] = kwargs.pop("name")
        if "dataset" not in kwargs:
            raise ConfigError(
                f"shrink: data must name a dataset ({{name: ..., standardize: ...}}), got {data!r}"
            )
        unknown = sorted(set(kwargs) - {"dataset", *_DATA_OPTIONS})
        if unknown:
            raise ConfigError(
                f"shrink: data.{unknown[0]} is not a known field; allowed: name, "
                f"{', '.join(_DATA_OPTIONS)}"
            )
    else:
        kwargs = {"dataset": data}
    kwargs.setdefault("seed", seed)
    if max_samples is not None:
        kwargs["max_samples"] = max_samples
    return kwargs


_DATA_OPTIONS = ("standardize", "val_fraction", "test_fraction", "max_samples", "target", "seed")
"""The keys of a ``data`` mapping besides its name (``load_dataset``'s options)."""

NEAR_CHANCE_SHARE = 0.25
"""A model with weights that scores below chance plus this share of the way from chance to
100 % on validation is refused: it was most likely trained on inputs prepared otherwise."""


def _check_not_near_chance(
    engine: BaseBackend,
    network: Network,
    weights: Mapping[str, Any],
    dataset: Dataset,
    *,
    standardize: bool,
) -> None:
    """Refuse to shrink a model whose weights score near chance on the data as prepared.

    Shrinking toward such a baseline "keeps its accuracy" with any model at all; the usual
    cause is data prepared otherwise than for its training (standardised or not, [0, 1] or
    [0, 255] pixels), which the message names with the fix.

    Raises:
        ConfigError: the baseline's validation accuracy is near chance.
    """
    model = engine.build(network)
    engine.set_state(model, {k: np.asarray(v) for k, v in weights.items()}, strict=True)
    accuracy = float(engine.evaluate(model, dataset, split="val")["val_accuracy"])
    chance = trivial_accuracy(dataset.y_val)
    if accuracy >= chance + NEAR_CHANCE_SHARE * (1 - chance):
        return
    other = "--no-standardize (standardize=False)" if standardize else "--standardize"
    raise ConfigError(
        f"shrink: the model's weights score {accuracy:.1%} on the validation split, near chance "
        f"({chance:.1%}, always the most frequent class), so shrinking it would keep nothing; "
        f"its inputs were {dataset.describe_inputs()}; feed the data as the model was trained "
        f"({other}, or a .npz file of your own), or train it here (--train-baseline, "
        "train_baseline=True)"
    )


def _load(kwargs: Mapping[str, Any]) -> Dataset:
    from archtune.data import load_cached

    try:
        return load_cached(tuple(sorted(kwargs.items())))
    except ConfigError as exc:
        raise ConfigError(f"shrink: data: {exc}") from None


def _default_name(model: Any, network: Network, dataset: Any) -> str:
    label = Path(model).stem if isinstance(model, str) else (network.name or "model")
    label = label.rpartition(":")[2]
    data = Path(dataset).stem if isinstance(dataset, str) else "data"
    return _NAME.sub("-", f"shrink-{label}-{data}").strip("-")


def _check_writable(path: Path) -> None:
    """Fail before any training when the ONNX file cannot be written (folders are made)."""
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".archtune-"):
            pass
    except OSError as exc:
        raise ConfigError(
            f"shrink: output {str(path)!r} cannot be written ({exc.strerror or exc}); "
            "pass -o with a writable path"
        ) from None


def _backend(name: str) -> BaseBackend:
    from archtune.backends import get_backend

    return get_backend(name)


def _cost_function(cost_key: str, engine: BaseBackend) -> Callable[[Network], float]:
    """The objective's cost of a network before training (latency: one measurement)."""
    if cost_key == "latency_ms":

        def latency(network: Network) -> float:
            model = engine.build(network)
            return float(engine.measure_latency(model, network.input_shape, batch_sizes=(1,))[1])

        return latency

    def analytic(network: Network) -> float:
        return float(getattr(estimate_cost(network), cost_key))

    return analytic


# -- study, folders, executor -----------------------------------------------------------------
class _models_folder:
    """The folder for trained models: temporary, or kept beside a stored study for resume."""

    def __init__(self, models_dir: str | Path | None, storage: str | None, name: str) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if models_dir is None and storage is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="archtune-shrink-")
            self.path = Path(self._tmp.name)
        else:
            self.path = Path(models_dir) if models_dir is not None else Path("archtune-shrink")
            self.path = self.path / name
            self.path.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _clear_models(folder: Path, *, keep: Path) -> None:
    for path in folder.iterdir():
        if path == keep:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _open_study(name: str, storage: str | None, work: Path, cost_key: str, resume: bool) -> Any:
    import optuna

    from archtune._errors import StudyStateError
    from archtune._redact import redact_url
    from archtune.search._study import storage_of, study_exists

    url = storage if storage is not None else f"sqlite:///{work / 'study.db'}"
    store = storage_of(url)
    exists = study_exists(store, name)
    where = redact_url(url)
    if exists and not resume:
        raise StudyStateError(
            f"shrink: study {name!r} already exists in {where}; pass resume=True (--resume) to "
            "continue it, or another name"
        )
    if resume and not exists:
        raise StudyStateError(f"shrink: study {name!r} not found in {where}; nothing to resume")
    if exists:
        return optuna.load_study(study_name=name, storage=store)
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the log says it in its own words
    try:
        study = optuna.create_study(
            study_name=name, storage=store, directions=["maximize", "minimize"]
        )
    finally:
        optuna.logging.set_verbosity(verbosity)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_accuracy", cost_key])
    study.set_user_attr("archtune.source", "shrink")
    return study


def _executor(objective: ShrinkObjective, workers: int) -> Any:
    from archtune.execution import LocalExecutor, ObjectiveRef

    executor = LocalExecutor(workers)
    executor.start(ObjectiveRef(objective), metric_names=["val_accuracy"])
    return executor


def _counts(study: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        status = trial.state.name.lower()
        counts[status] = counts.get(status, 0) + 1
    return counts


# -- baseline ---------------------------------------------------------------------------------
def _baseline(
    runner: TaskRunner,
    engine: BaseBackend,
    network: Network,
    weights: Mapping[str, Any] | None,
    dataset: Dataset,
    recipe: Mapping[str, Any],
    work: Path,
    train: bool,
) -> tuple[str, float, float]:
    """The baseline's saved model, validation accuracy and training seconds."""
    path = model_path(work, "baseline", engine.native_suffix)
    if weights is not None and not train:
        model = engine.build(network)
        engine.set_state(model, {k: np.asarray(v) for k, v in weights.items()}, strict=True)
        engine.save(model, path)
        accuracy = engine.evaluate(model, dataset, split="val")["val_accuracy"]
        return path, float(accuracy), 0.0
    task = ShrinkTask(
        key="baseline",
        config=task_config(
            network, None, {}, save=path, epochs=int(recipe["epochs"]), init="scratch"
        ),
        info={"archtune.shrink.stage": "baseline"},
    )
    (outcome,) = runner.run([task])
    if outcome.metrics is None:
        raise ConfigError(f"shrink: the baseline could not be trained: {outcome.error}")
    return path, float(outcome.metrics["val_accuracy"]), float(outcome.metrics["train_time_s"])


def _write_teacher(engine: BaseBackend, model_file: str, dataset: Dataset, path: Path) -> None:
    """The baseline's logits on the training split, computed once for distillation."""
    logits = engine.predict(engine.load(model_file), dataset.x_train)
    np.save(path, np.asarray(logits, dtype=np.float32))


# -- measuring and choosing -------------------------------------------------------------------
def _measure(
    engine: BaseBackend,
    dataset: Dataset,
    network: Network,
    baseline_model: str,
    baseline_val: float,
    baseline_train_s: float,
    base_recipe: Mapping[str, Any],
    finals: Sequence[Final],
) -> tuple[Candidate, list[Candidate]]:
    """Test accuracy (with intervals) and latency of the baseline and each finalist."""
    if engine.name == "torch":
        import torch

        torch.set_num_threads(1)  # latency on one thread, as every worker trains
    base_model = engine.load(baseline_model)
    base_correct = _correct(engine, base_model, dataset)
    recipe = Recipe.from_dict(dict(base_recipe)).active_params()
    baseline = _candidate(
        engine,
        "baseline",
        None,
        network,
        base_model,
        baseline_val,
        base_correct,
        base_correct,
        baseline_train_s,
        recipe,
        {},
        0.0,
    )
    rows = []
    for point, metrics, path in finals:
        model = engine.load(path)
        correct = _correct(engine, model, dataset)
        rows.append(
            _candidate(
                engine,
                f"trial {point.trial}",
                point.trial,
                point.network,
                model,
                float(metrics["val_accuracy"]),
                correct,
                base_correct,
                float(metrics.get("train_time_s", 0.0)),
                {**recipe, **FINETUNE_RECIPE, "epochs": int(metrics.get("epochs", 0))},
                {"moves": list(point.moves), "model": path},
                point.epochs + float(metrics.get("epochs", 0.0)),
            )
        )
    return baseline, rows


def _correct(engine: BaseBackend, model: Any, dataset: Dataset) -> np.ndarray:
    logits = engine.predict(model, dataset.x_test)
    return np.asarray(np.argmax(logits, axis=-1) == dataset.y_test)


def _candidate(
    engine: BaseBackend,
    label: str,
    trial: int | None,
    network: Network,
    model: Any,
    val_accuracy: float,
    correct: np.ndarray,
    base_correct: np.ndarray,
    train_time_s: float,
    recipe: dict[str, Any],
    config: dict[str, Any],
    epochs: float,
) -> Candidate:
    cost = estimate_cost(network)
    latency = engine.measure_latency(model, network.input_shape, batch_sizes=(1,))
    n = int(correct.size)
    return Candidate(
        label=label,
        trial=trial,
        params=int(cost.params),
        flops=int(cost.flops),
        latency_ms=float(latency[1]),
        val_accuracy=val_accuracy,
        test_accuracy=float(correct.mean()) if n else math.nan,
        train_time_s=train_time_s,
        structure=describe_structure(network),
        recipe=recipe,
        config=config,
        network=network.to_dict(),
        test_interval=wilson_interval(int(correct.sum()), n),
        change_interval=paired_change(correct, base_correct),
        epochs=epochs,
    )


def _ladder_row(point: LadderPoint) -> dict[str, Any]:
    cost = estimate_cost(point.network)
    return {
        "trial": point.trial,
        "params": int(cost.params),
        "flops": int(cost.flops),
        "cost": point.cost,
        "val_accuracy": point.val_accuracy,
        "epochs": point.epochs,
        "moves": list(point.moves),
        "structure": describe_structure(point.network),
        "model": point.model,
    }


def _saved(chosen: Candidate, baseline_model: str) -> str:
    if chosen.trial is None:
        return baseline_model
    return str(chosen.config["model"])


def _fold(target: Path, dataset: Dataset) -> str:
    """The data's preprocessing and class names into the ONNX file: it takes raw inputs."""
    from archtune.report._export import fold_dataset_preprocessing

    return fold_dataset_preprocessing(target, dataset)


def _export(engine: BaseBackend, model_file: str, chosen: Candidate, target: Path) -> None:
    loggers = [logging.getLogger(name) for name in ("onnx_ir", "onnxscript", "torch.onnx")]
    levels = [one.level for one in loggers]
    for one in loggers:
        one.setLevel(logging.WARNING)
    try:
        engine.export_onnx(
            engine.load(model_file), target, input_shape=tuple(chosen.network["input_shape"])
        )
    finally:
        for one, level in zip(loggers, levels, strict=True):
            one.setLevel(level)
