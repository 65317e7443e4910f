"""Rebuild a built-in trial's network, retrain it, write it in a portable format, check it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from archtune._errors import ConfigError, StudyStateError
from archtune.search import TrialResult, TuneResult, load_result
from archtune.search import _attrs as attrs

__all__ = [
    "BUILTIN_ATTR",
    "FORMATS",
    "ExportResult",
    "export_trial",
    "objective_from_record",
]

BUILTIN_ATTR = "archtune.builtin"
"""Study attribute of built-in training: ``{model, data, recipe, backend}``, written at study
creation (:meth:`archtune.training.TrainObjective.to_record`)."""

FORMATS = ("onnx", "torchscript", "keras")
Format = Literal["onnx", "torchscript", "keras"]


def objective_from_record(record: Mapping[str, Any]) -> Any:
    """The :class:`~archtune.training.TrainObjective` the study's record describes."""
    from archtune.training import TrainObjective

    try:
        return TrainObjective.from_record(record)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StudyStateError(f"study attribute {BUILTIN_ATTR} is malformed ({exc})") from None


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_trial` wrote and checked.

    Attributes:
        path: The file written.
        format: ``onnx``, ``torchscript`` or ``keras``.
        trial: The trial exported.
        seed: The seed it was retrained with.
        max_abs_diff: The largest difference between the reloaded file's outputs and the
            framework's on test inputs.
        metrics: The retrained model's metrics (compare with ``trial.metrics``).
    """

    path: Path
    format: str
    trial: TrialResult
    seed: int
    max_abs_diff: float
    metrics: dict[str, float]


def _trial_seed(result: TuneResult, trial: TrialResult) -> int:
    """The seed the driver gave the trial: ``config seed + first attempt's number`` (else 0)."""
    seed = (result.study.user_attrs.get(attrs.STUDY_CONFIG) or {}).get("seed")
    if seed is None:
        return 0
    frozen = result.study.get_trials(deepcopy=False)
    first, _ = attrs.lineage(next(t for t in frozen if t.number == trial.number))
    return int(seed) + first


def export_trial(
    study: str | TuneResult,
    path: str | os.PathLike[str],
    *,
    format: str,
    storage: str | None = None,
    trial: int | None = None,
    smallest_within: float | str | None = None,
    atol: float = 1e-4,
) -> ExportResult:
    """Retrain a built-in trial and write it as ``format``; reload it and check its outputs.

    Args:
        study: The study's name (in ``storage``) or its result.
        path: The file to write (``.keras`` for keras).
        format: ``onnx`` (any backend), ``torchscript`` (torch) or ``keras`` (keras).
        storage: The storage URL when ``study`` is a name.
        trial: The trial number (default: the best by quality).
        smallest_within: Instead: the smallest model within this quality drop of the best.
        atol: The largest accepted output difference (logits).

    Raises:
        ConfigError: a bad format, path or selector.
        StudyStateError: not a built-in training study, no such trial, or a mismatch.
    """
    if format not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    result = study if isinstance(study, TuneResult) else _load(study, storage)
    record = result.study.user_attrs.get(BUILTIN_ATTR)
    if not isinstance(record, dict):
        raise StudyStateError(
            f"study {result.name!r} has no {BUILTIN_ATTR} record: export rebuilds only "
            "built-in training studies (data:/model:/recipe:) run by this archtune version"
        )
    objective = objective_from_record(record)
    if format == "torchscript" and objective.backend != "torch":
        raise ConfigError(f"--format torchscript needs the torch backend, got {objective.backend}")
    if format == "keras" and objective.backend != "keras":
        raise ConfigError(f"--format keras needs the keras backend, got {objective.backend}")
    target = Path(path)
    if format == "keras" and target.suffix != ".keras":
        raise ConfigError(f"-o {target}: a Keras model file must end in .keras")
    chosen = _pick(result, trial, smallest_within)
    seed = _trial_seed(result, chosen)
    model, network, metrics, x = _retrain(objective, chosen.config, seed)
    from archtune.backends import get_backend

    backend = get_backend(objective.backend)
    expected = np.asarray(backend.predict(model, x), dtype=np.float32)
    target.parent.mkdir(parents=True, exist_ok=True)
    got = _write_and_reload(backend, model, network, target, format, x)
    diff = float(np.max(np.abs(got - expected))) if expected.size else 0.0
    if got.shape != expected.shape or not diff <= atol:
        raise StudyStateError(
            f"the exported {format} model's outputs differ from {objective.backend}'s by "
            f"{diff:.3g} (tolerance {atol:g}); {target} is not trustworthy"
        )
    return ExportResult(target, format, chosen, seed, diff, metrics)


def _load(name: str, storage: str | None) -> TuneResult:
    if storage is None:
        raise ConfigError(f"export of study {name!r}: a storage URL is needed")
    return load_result(name, storage)


def _pick(
    result: TuneResult, trial: int | None, smallest_within: float | str | None
) -> TrialResult:
    from archtune.report._summary import pick_trial

    return pick_trial(result, trial=trial, smallest_within=smallest_within)


def _retrain(
    objective: Any, config: Mapping[str, Any], seed: int
) -> tuple[Any, Any, dict[str, float], np.ndarray]:
    """Train the trial's network again on its recipe, as its worker did."""
    from archtune.backends import get_backend
    from archtune.training._objective import load_cached

    backend = get_backend(objective.backend)
    network = objective.model.build(config)
    dataset = load_cached(objective.data)
    model = backend.build(network, seed=seed)
    fit = backend.fit(model, dataset, objective.recipe_of(config), seed=seed)
    x = dataset.x_test if len(dataset.x_test) else dataset.x_val
    return model, network, dict(fit.metrics), np.asarray(x[:64])


def _write_and_reload(
    backend: Any, model: Any, network: Any, target: Path, format: str, x: np.ndarray
) -> np.ndarray:
    if format == "onnx":
        backend.export_onnx(model, target, input_shape=network.input_shape)
        from archtune._imports import require

        onnxruntime = require("onnxruntime", extra="onnx", feature="checking an ONNX export")
        session = onnxruntime.InferenceSession(str(target), providers=["CPUExecutionProvider"])
        feed = session.get_inputs()[0]
        dtype = np.int64 if "int64" in feed.type else np.float32
        (out,) = session.run(None, {feed.name: x.astype(dtype)})
        return np.asarray(out, dtype=np.float32)
    if format == "torchscript":
        import torch

        backend.export_torchscript(model, target)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated
            loaded = torch.jit.load(str(target))  # type: ignore[no-untyped-call]
        loaded.eval()
        integer = np.issubdtype(x.dtype, np.integer)
        tensor = torch.tensor(x, dtype=torch.int64 if integer else torch.float32)
        with torch.no_grad():
            return np.asarray(loaded(tensor).float().numpy(), dtype=np.float32)
    backend.save(model, target)
    return np.asarray(backend.predict(backend.load(target), x), dtype=np.float32)
