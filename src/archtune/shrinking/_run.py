"""The shrink pipeline: baseline, MO-ASHA search, retraining, choice, export."""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archtune._errors import ConfigError
from archtune.arch import Network, estimate_cost
from archtune.recipe import Recipe
from archtune.shrinking._objective import INIT_KEY, INITS, ShrinkObjective
from archtune.shrinking._resolve import resolve_baseline
from archtune.shrinking._result import COST_KEYS, Candidate, ShrinkResult
from archtune.shrinking._space import describe_structure, shrink_space

if TYPE_CHECKING:
    from archtune.data import Dataset
    from archtune.search import Experiment, ProgressSink, TrialResult, TuneResult

__all__ = ["DEFAULT_RECIPE", "shrink"]

logger = logging.getLogger("archtune")

DEFAULT_RECIPE: dict[str, Any] = {"optimizer": "adam", "lr": 1e-3, "batch_size": 64}
"""The baseline's recipe when the model comes with none (``epochs`` is the full budget)."""

_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def shrink(
    model: str | Network | Any,
    data: str | Any = "mnist-sample",
    *,
    max_drop: float = 0.005,
    objective: str = "params",
    trials: int = 32,
    epochs: int = 8,
    search_epochs: int | None = None,
    retrain_top: int = 4,
    init: str = "search",
    search_recipe: bool = True,
    recipe: Mapping[str, Any] | None = None,
    train_baseline: bool | None = None,
    max_samples: int | None = None,
    storage: str | None = None,
    workers: int = 2,
    seed: int = 0,
    resume: bool = False,
    name: str | None = None,
    output: str | Path | None = None,
    progress: ProgressSink | None = None,
    log: Callable[[str], None] | None = None,
) -> ShrinkResult:
    """Shrink ``model`` on ``data``: the cheapest model within ``max_drop`` of its accuracy.

    1. The baseline is trained with its recipe (or its given weights are evaluated).
    2. Its shrink space (width multipliers, removable layers, kernel sizes, separable
       convolutions; with ``search_recipe`` also the learning rate, batch size, schedule and
       label smoothing) is searched with MO-ASHA for (``val_accuracy``, cost); a candidate
       starts from the baseline's pruned weights or from scratch (``init``).
    3. Up to ``retrain_top`` Pareto candidates, and the baseline's structure with the best
       recipe found, are retrained for ``epochs`` and evaluated on the test split.
    4. The cheapest model within ``max_drop`` of the baseline's test accuracy is chosen and
       exported to ONNX.

    Args:
        model: A built-in network (``cnn-32-64-64``), a family, a ``.keras`` file,
            ``module:function`` returning a Keras model or a PyTorch module, a
            :class:`~archtune.arch.Network` or an :class:`~archtune.interop.ImportedModel`.
        data: A dataset spec (see :func:`archtune.data.load_dataset`).
        max_drop: The accepted drop in test accuracy, absolute (0.005 = half a point).
        objective: The cost to minimise: ``params``, ``flops`` or ``latency``.
        trials: Search trials (``budget.trials``).
        epochs: The full budget: the baseline's and the retrained candidates' epochs.
        search_epochs: The most epochs of a search trial (default: half of ``epochs``).
        retrain_top: How many Pareto candidates are retrained (spread over the cost range).
        init: ``search`` (pretrained or scratch is a parameter), ``pretrained`` or ``scratch``.
        search_recipe: Search the recipe jointly; else hold it at the baseline's.
        recipe: The baseline's recipe fields (default :data:`DEFAULT_RECIPE`).
        train_baseline: Train the baseline (default: only when no weights come with it).
        max_samples: Use a stratified subset of the data (fast runs and tests).
        storage: The study's Optuna storage URL (``None``: in memory).
        workers: Trials (and retrainings) at once, each in its own process.
        seed: Seeds the data split, the baseline, the sampler and every trial.
        resume: Continue the study of this name.
        name: The study's name (default ``shrink-<model>-<data>``).
        output: Where the chosen model's ONNX file goes (default ``<name>.onnx``).
        progress: Receives the search's progress.
        log: Receives one line per step (default: the ``archtune`` logger).

    Raises:
        ConfigError: a bad argument, or a model that does not fit the data.
        StudyStateError: the study exists (without ``resume``) or does not (with it).
    """
    started = time.perf_counter()
    say = log or logger.info
    cost_key = _check_args(objective, init, max_drop, trials, epochs, retrain_top, workers)
    if search_epochs is None:
        search_epochs = max(1, math.ceil(epochs / 2))
    if search_epochs < 1:
        raise ConfigError(f"shrink: search_epochs must be >= 1, got {search_epochs}")
    data_kwargs = _data_kwargs(data, max_samples, seed)
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
    with tempfile.TemporaryDirectory(prefix="archtune-shrink-") as tmp:
        work = Path(tmp)
        say(f"baseline {network.name or 'model'}: {describe_structure(network)}")
        baseline, state_path = _baseline(
            network, weights, dataset, base_recipe, seed, work, train_baseline
        )
        say(
            f"baseline: test accuracy {baseline.test_accuracy:.4f}, {baseline.params:,} params, "
            f"{baseline.flops:,} FLOPs, {baseline.latency_ms:.3f} ms"
        )
        objective_fn = ShrinkObjective(
            network=network.to_dict(),
            data=tuple(sorted(data_kwargs.items())),
            recipe={**base_recipe, "epochs": search_epochs},
            baseline_state=str(state_path),
        )
        tune = _search(
            objective_fn,
            network,
            base_recipe,
            cost_key=cost_key,
            init=init,
            search_recipe=search_recipe,
            trials=trials,
            search_epochs=search_epochs,
            storage=storage,
            workers=workers,
            seed=seed,
            resume=resume,
            name=study_name,
            progress=progress,
            work=work,
        )
        say(f"search: {_counts(tune.counts)}; {len(tune.best_trials)} on the Pareto front")
        picked = _pick(tune.best_trials, cost_key, retrain_top)
        best_recipe = _best_recipe(tune.best_trials) if search_recipe else None
        jobs: list[tuple[str, int | None, dict[str, Any]]] = [
            (f"trial {t.number}", t.number, dict(t.config)) for t in picked
        ]
        if best_recipe is not None:
            jobs.insert(0, ("baseline + best recipe", None, {**best_recipe, INIT_KEY: "scratch"}))
        say(f"retraining {len(jobs)} models for {epochs} epochs")
        retrained = _retrain(
            objective_fn, jobs, epochs=epochs, seed=seed, workers=workers, work=work
        )
        best_row = retrained.pop(0) if best_recipe is not None else None
        if best_row is not None:  # the same structure: the same latency, not a noisy one
            best_row = dataclasses.replace(best_row, latency_ms=baseline.latency_ms)
        pareto = tuple(sorted(retrained, key=lambda c: (c.cost(objective), -c.test_accuracy)))
        chosen = _choose(baseline, best_row, pareto, objective, max_drop)
        target = Path(output) if output is not None else Path(f"{study_name}.onnx")
        _export(work, chosen, target)
        say(f"chosen: {chosen.label}, exported to {target}")
    return ShrinkResult(
        baseline=baseline,
        pareto=pareto,
        chosen=chosen,
        baseline_best_recipe=best_row,
        objective=objective,
        max_drop=max_drop,
        exported=target,
        study_name=study_name,
        storage=storage,
        wall_time_s=time.perf_counter() - started,
        counts=tune.counts,
    )


def _check_args(
    objective: str,
    init: str,
    max_drop: float,
    trials: int,
    epochs: int,
    retrain_top: int,
    workers: int,
) -> str:
    if objective not in COST_KEYS:
        raise ConfigError(
            f"shrink: objective must be one of {', '.join(COST_KEYS)}, got {objective!r}"
        )
    if init not in ("search", *INITS):
        raise ConfigError(f"shrink: init must be search, pretrained or scratch, got {init!r}")
    if not 0 <= max_drop < 1:
        raise ConfigError(
            f"shrink: max_drop must be in [0, 1) (0.005 = half a point), got {max_drop}"
        )
    for label, value in (("trials", trials), ("epochs", epochs), ("retrain_top", retrain_top)):
        if value < 1:
            raise ConfigError(f"shrink: {label} must be >= 1, got {value}")
    if workers < 1:
        raise ConfigError(f"shrink: workers must be >= 1, got {workers}")
    return COST_KEYS[objective]


def _data_kwargs(data: str | Any, max_samples: int | None, seed: int) -> dict[str, Any]:
    if isinstance(data, Mapping):
        kwargs = dict(data)
        if "dataset" not in kwargs:
            raise ConfigError(f"shrink: data must name a dataset ({{dataset: ...}}), got {data!r}")
    else:
        kwargs = {"dataset": data}
    kwargs.setdefault("seed", seed)
    if max_samples is not None:
        kwargs["max_samples"] = max_samples
    return kwargs


def _load(kwargs: Mapping[str, Any]) -> Dataset:
    from archtune.training._objective import load_cached

    try:
        return load_cached(tuple(sorted(kwargs.items())))
    except ConfigError as exc:
        raise ConfigError(f"shrink: data: {exc}") from None


def _default_name(model: Any, network: Network, dataset: Any) -> str:
    label = Path(model).stem if isinstance(model, str) else (network.name or "model")
    label = label.rpartition(":")[2]
    data = Path(dataset).stem if isinstance(dataset, str) else "data"
    return _NAME.sub("-", f"shrink-{label}-{data}").strip("-")


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items()) or "no trials"


def _baseline(
    network: Network,
    weights: Mapping[str, Any] | None,
    dataset: Dataset,
    recipe: Mapping[str, Any],
    seed: int,
    work: Path,
    train: bool | None,
) -> tuple[Candidate, Path]:
    """Train (or evaluate the given weights of) the baseline; save its state and model."""
    import torch

    from archtune.backends.torch import TorchBackend, build_module, evaluate, fit

    torch.set_num_threads(1)
    module = build_module(network)
    base = Recipe.from_dict(dict(recipe))
    if weights is not None and not train:
        module.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
        metrics = {
            **evaluate(module, dataset, split="val"),
            **evaluate(module, dataset, split="test"),
        }
        elapsed = 0.0
    else:
        clock = time.perf_counter()
        metrics = fit(module, dataset, base, seed=seed).metrics
        elapsed = time.perf_counter() - clock
    module = module.cpu().eval()
    state_path = work / "baseline-state.pt"
    torch.save({k: v.detach().cpu() for k, v in module.state_dict().items()}, state_path)
    TorchBackend().save(module, _model_path(work, "baseline"))
    row = _candidate("baseline", None, network, metrics, base.active_params(), {}, elapsed, module)
    return row, state_path


def _candidate(
    label: str,
    trial: int | None,
    network: Network,
    metrics: Mapping[str, float],
    recipe: dict[str, Any],
    config: dict[str, Any],
    elapsed: float,
    module: Any,
) -> Candidate:
    from archtune.backends.torch import measure_latency

    cost = estimate_cost(network)
    latency = measure_latency(module, network.input_shape, batch_sizes=(1,), n_repeats=30)
    return Candidate(
        label=label,
        trial=trial,
        params=int(cost.params),
        flops=int(cost.flops),
        latency_ms=float(latency[1]),
        val_accuracy=float(metrics.get("val_accuracy", math.nan)),
        test_accuracy=float(metrics.get("test_accuracy", math.nan)),
        train_time_s=elapsed,
        structure=describe_structure(network),
        recipe=recipe,
        config=config,
        network=network.to_dict(),
    )


def _recipe_space(base: Mapping[str, Any]) -> dict[str, Any]:
    lr = float(base.get("lr", 1e-3))
    batch = int(base.get("batch_size", 64))
    batches = sorted({max(8, batch // 2), batch, batch * 2})
    return {
        "lr": {"type": "float", "low": lr / 10, "high": min(1.0, lr * 3), "log": True},
        "batch_size": {"type": "choice", "options": batches},
        "schedule": {"type": "choice", "options": ["constant", "cosine"]},
        "label_smoothing": {"type": "choice", "options": [0.0, 0.1]},
    }


def _search(
    objective: ShrinkObjective,
    network: Network,
    base_recipe: Mapping[str, Any],
    *,
    cost_key: str,
    init: str,
    search_recipe: bool,
    trials: int,
    search_epochs: int,
    storage: str | None,
    workers: int,
    seed: int,
    resume: bool,
    name: str,
    progress: ProgressSink | None,
    work: Path,
) -> TuneResult:
    from archtune.execution import ObjectiveRef
    from archtune.search import Driver, Experiment, Objectives, SchedulerSpec
    from archtune.space import Space

    entries: dict[str, Any] = dict(shrink_space(network))
    entries[INIT_KEY] = (
        {"type": "choice", "options": list(INITS)}
        if init == "search"
        else {"type": "fixed", "value": init}
    )
    if search_recipe:
        entries.update(_recipe_space(base_recipe))
    experiment = Experiment(
        name=name,
        objective=ObjectiveRef(objective),
        space=Space.from_dict(entries),
        objectives=Objectives.parse({"val_accuracy": "max", cost_key: "min"}),
        n_trials=trials,
        n_workers=workers,
        storage=storage or f"sqlite:///{work / 'study.db'}",
        seed=seed,
        source="shrink",
        scheduler=SchedulerSpec(name="moasha", max_steps=search_epochs),
        precheck=functools.partial(objective.precheck, with_latency=cost_key == "latency_ms"),
        study_attrs={
            "archtune.shrink": {"baseline": network.to_dict(), "recipe": dict(base_recipe)}
        },
    )
    if not resume:
        _create_with_anchors(experiment, network, base_recipe)
    driver = Driver(experiment, resume=True, progress=progress)
    if progress is not None and hasattr(progress, "__enter__"):
        with progress:  # type: ignore[attr-defined]
            return driver.run()
    return driver.run()


ANCHOR_MULTIPLIERS = (0.75, 0.5, 0.25)
"""Uniform width multipliers tried first (pretrained, the baseline's recipe): classic pruning."""


def _create_with_anchors(
    experiment: Experiment, network: Network, base_recipe: Mapping[str, Any]
) -> None:
    """Create the study and queue the uniform-pruning anchors as its first trials."""
    from archtune.search._study import open_study, release_study
    from archtune.space import Fixed

    study = open_study(experiment, resume=False)
    searched = {k for k, p in experiment.space.items() if not isinstance(p, Fixed)}
    for multiplier in ANCHOR_MULTIPLIERS:
        anchor: dict[str, Any] = {INIT_KEY: "pretrained"}
        for key, param in experiment.space.items():
            if key.startswith("shrink.w"):
                anchor[key] = multiplier
            elif key.startswith("shrink.keep"):
                anchor[key] = True
            elif key.startswith("shrink.kernel"):
                anchor[key] = max(getattr(param, "options", (1,)))  # the baseline's kernel
            elif key.startswith("shrink.separable"):
                anchor[key] = False
            elif key in base_recipe:
                anchor[key] = base_recipe[key]
            elif key == "schedule":
                anchor[key] = "constant"
            elif key == "label_smoothing":
                anchor[key] = 0.0
        study.enqueue_trial({k: v for k, v in anchor.items() if k in searched})
    release_study(study)


def _pick(front: list[TrialResult], cost_key: str, top: int) -> list[TrialResult]:
    """Up to ``top`` trials spread over the front's cost range (both ends included)."""
    ordered = sorted(front, key=lambda t: (t.metrics.get(cost_key, math.inf), t.number))
    if len(ordered) <= top:
        return ordered
    if top == 1:
        return [max(ordered, key=lambda t: t.metrics.get("val_accuracy", 0.0))]
    step = (len(ordered) - 1) / (top - 1)
    return [ordered[round(k * step)] for k in range(top)]


def _best_recipe(front: list[TrialResult]) -> dict[str, Any] | None:
    """The searched recipe fields of the most accurate trial on the front."""
    if not front:
        return None
    best = max(front, key=lambda t: (t.metrics.get("val_accuracy", 0.0), -t.number))
    return {k: v for k, v in best.config.items() if k in Recipe.FIELDS}


def _retrain_one(
    objective: ShrinkObjective, config: dict[str, Any], seed: int, epochs: int, path: str
) -> dict[str, float]:
    """Retrain one candidate in a worker process and save it (``TorchBackend.save``)."""
    from archtune.backends.torch import TorchBackend

    module, metrics = objective.train(config, seed=seed, epochs=epochs)
    TorchBackend().save(module.cpu(), path)
    return metrics


def _retrain(
    objective: ShrinkObjective,
    jobs: list[tuple[str, int | None, dict[str, Any]]],
    *,
    epochs: int,
    seed: int,
    workers: int,
    work: Path,
) -> list[Candidate]:
    import multiprocessing
    import os

    from archtune.backends.torch import TorchBackend

    if not jobs:
        return []
    paths = [str(_model_path(work, label)) for label, _, _ in jobs]
    saved = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update({k: "1" for k in saved})
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
            futures = [
                pool.submit(_retrain_one, objective, config, seed, epochs, path)
                for (_, _, config), path in zip(jobs, paths, strict=True)
            ]
            results = [future.result() for future in futures]
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    backend = TorchBackend()
    rows = []
    for (label, number, config), path, metrics in zip(jobs, paths, results, strict=True):
        module = backend.load(path)
        recipe = objective.recipe_of(config, epochs=epochs).active_params()
        rows.append(
            _candidate(
                label,
                number,
                module.network,
                metrics,
                recipe,
                config,
                metrics["train_time_s"],
                module,
            )
        )
    return rows


def _model_path(work: Path, label: str) -> Path:
    """Where a retrained model (or the baseline) is saved: ``trial 3`` -> ``trial-3.pt``."""
    return work / f"{_NAME.sub('-', label)}.pt"


def _choose(
    baseline: Candidate,
    best_recipe: Candidate | None,
    pareto: tuple[Candidate, ...],
    objective: str,
    max_drop: float,
) -> Candidate:
    """The cheapest model whose test accuracy is within ``max_drop`` of the baseline's."""
    floor = baseline.test_accuracy - max_drop - 1e-12
    pool = [baseline, *([best_recipe] if best_recipe else []), *pareto]
    fits = [c for c in pool if c.test_accuracy >= floor]
    return min(fits, key=lambda c: (c.cost(objective), -c.test_accuracy))


def _export(work: Path, chosen: Candidate, target: Path) -> None:
    from archtune.backends.torch import TorchBackend

    backend = TorchBackend()
    module = backend.load(_model_path(work, chosen.label))
    loggers = [logging.getLogger(name) for name in ("onnx_ir", "onnxscript", "torch.onnx")]
    levels = [one.level for one in loggers]
    for one in loggers:
        one.setLevel(logging.WARNING)
    try:
        backend.export_onnx(module, target, input_shape=tuple(chosen.network["input_shape"]))
    finally:
        for one, level in zip(loggers, levels, strict=True):
            one.setLevel(level)
