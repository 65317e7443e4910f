"""Rebuild a built-in trial's network, retrain it, write it in a portable format, check it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from archtune._errors import ConfigError, StudyStateError
from archtune.backends._threads import torch_threads
from archtune.config import check_writable
from archtune.search import TrialResult, TuneResult, load_result
from archtune.search import _attrs as attrs

if TYPE_CHECKING:
    from archtune.data import Dataset

__all__ = [
    "BUILTIN_ATTR",
    "CLASSES_KEY",
    "FORMATS",
    "PREPROCESSING_KEY",
    "ExportResult",
    "builtin_objective",
    "export_trial",
    "fold_dataset_preprocessing",
    "fold_preprocessing",
    "objective_from_record",
    "trial_seed",
    "trial_threads",
]

BUILTIN_ATTR = attrs.STUDY_BUILTIN
"""Study attribute of built-in training: ``{model, data, recipe, backend}``, written at study
creation (:meth:`archtune.training.TrainObjective.to_record`)."""

FORMATS = ("onnx", "torchscript", "keras")
Format = Literal["onnx", "torchscript", "keras"]

PREPROCESSING_KEY = "archtune.preprocessing"
"""ONNX metadata: what the file does to its inputs and outputs (JSON, see
:func:`fold_preprocessing`)."""
CLASSES_KEY = "archtune.classes"
"""ONNX metadata: the class names, output index by output index (a JSON list)."""


def objective_from_record(record: Mapping[str, Any]) -> Any:
    """The :class:`~archtune.training.TrainObjective` the study's record describes."""
    from archtune.training import TrainObjective

    try:
        return TrainObjective.from_record(record)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StudyStateError(f"study attribute {BUILTIN_ATTR} is malformed ({exc})") from None


def builtin_objective(result: TuneResult, what: str) -> Any:
    """The built-in objective a study ran (its ``archtune.builtin`` record).

    Raises:
        StudyStateError: the study has no such record (``what``, e.g. ``export``, says who
            needed it).
    """
    record = result.study.user_attrs.get(BUILTIN_ATTR)
    if not isinstance(record, dict):
        raise StudyStateError(
            f"study {result.name!r} has no {BUILTIN_ATTR} record: {what} rebuilds only "
            "built-in training studies (data:/model:/recipe:) run by this archtune version"
        )
    return objective_from_record(record)


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_trial` wrote and checked.

    Attributes:
        path: The file written.
        format: ``onnx``, ``torchscript`` or ``keras``.
        trial: The trial exported.
        seed: The seed it was retrained with.
        threads: The torch thread count it was retrained on: its worker's, recorded in the
            study (``None``: not recorded, this process's count).
        max_abs_diff: The largest difference between the reloaded file's outputs and the
            framework's on test inputs.
        metrics: The retrained model's metrics (compare with ``trial.metrics``).
        preprocessing: One line on what the file expects: raw inputs with the
            standardisation folded in (ONNX), or standardised inputs.
    """

    path: Path
    format: str
    trial: TrialResult
    seed: int
    max_abs_diff: float
    metrics: dict[str, float]
    preprocessing: str = ""
    threads: int | None = None


def trial_seed(result: TuneResult, trial: TrialResult) -> int:
    """The seed the driver gave the trial: ``config seed + first attempt's number`` (else 0)."""
    seed = (result.study.user_attrs.get(attrs.STUDY_CONFIG) or {}).get("seed")
    if seed is None:
        return 0
    frozen = result.study.get_trials(deepcopy=False)
    first, _ = attrs.lineage(next(t for t in frozen if t.number == trial.number))
    return int(seed) + first


def trial_threads(result: TuneResult, trial: TrialResult) -> int | None:
    """Torch's thread count in the worker that trained the trial (``None``: not recorded)."""
    frozen = next(t for t in result.study.get_trials(deepcopy=False) if t.number == trial.number)
    threads = frozen.user_attrs.get(attrs.TRIAL_THREADS)
    return int(threads) if threads is not None else None


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

    An ONNX file takes raw inputs: the data's standardisation is folded into its graph, and
    its metadata holds the class names (:func:`fold_dataset_preprocessing`). TorchScript and
    Keras files take standardised inputs (``Dataset.preprocess``).

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
    target = Path(path)
    if format == "keras" and target.suffix != ".keras":
        raise ConfigError(f"-o {target}: a Keras model file must end in .keras")
    check_writable(target)  # before the retraining, not after
    result = study if isinstance(study, TuneResult) else _load(study, storage)
    objective = builtin_objective(result, "export")
    if format == "torchscript" and objective.backend != "torch":
        raise ConfigError(f"--format torchscript needs the torch backend, got {objective.backend}")
    if format == "keras" and objective.backend != "keras":
        raise ConfigError(f"--format keras needs the keras backend, got {objective.backend}")
    chosen = _pick(result, trial, smallest_within)
    seed = trial_seed(result, chosen)
    threads = trial_threads(result, chosen)
    with torch_threads(threads):  # the thread count changes the rounding, hence the model
        model, network, metrics, dataset = _retrain(objective, chosen.config, seed)
    from archtune.backends import get_backend

    backend = get_backend(objective.backend)
    rows = slice(0, 64)  # checked on the first rows of the test split (else validation)
    x = np.asarray(dataset.split("test" if dataset.n_test else "val")[0][rows])
    expected = np.asarray(backend.predict(model, x), dtype=np.float32)
    target.parent.mkdir(parents=True, exist_ok=True)
    got = _write_and_reload(backend, model, network, target, format, x)
    diff = _check_close(got, expected, atol, f"the exported {format} model", objective.backend)
    if format == "onnx":
        raw = _raw_rows(objective, dataset, rows)
        before = _run_onnx(target, dataset.preprocess(raw))
        preprocessing = fold_dataset_preprocessing(target, dataset)
        if dataset.x_mean is not None:  # what "raw" means: the data's own scale
            preprocessing += f"; the study's inputs were {dataset.describe_inputs()}"
        after = _in_model_units(_run_onnx(target, raw), dataset)
        diff = max(diff, _check_close(after, before, atol, "the folded ONNX model", "its graph"))
    else:
        preprocessing = _unfolded(dataset)
    return ExportResult(target, format, chosen, seed, diff, metrics, preprocessing, threads)


def _check_close(got: np.ndarray, expected: np.ndarray, atol: float, what: str, ref: str) -> float:
    diff = float(np.max(np.abs(got - expected))) if expected.size else 0.0
    if got.shape != expected.shape or not diff <= atol:
        raise StudyStateError(
            f"{what}'s outputs differ from {ref}'s by {diff:.3g} (tolerance {atol:g}); the "
            "file is not trustworthy"
        )
    return diff


def _raw_rows(objective: Any, dataset: Dataset, rows: slice) -> npt.NDArray[np.float32]:
    """The same rows as the user has them: the split again, without standardisation."""
    if dataset.x_mean is None:
        raw_x = dataset.split("test" if dataset.n_test else "val")[0]
    else:
        from archtune.data import load_cached

        data = dict(objective.data) | {"standardize": False}
        raw = load_cached(tuple(sorted(data.items())))
        raw_x = raw.split("test" if raw.n_test else "val")[0]
    return np.asarray(raw_x[rows], dtype=np.float32)


def _in_model_units(out: np.ndarray, dataset: Dataset) -> np.ndarray:
    """Regression outputs in the targets' units back in the model's (standardised) ones."""
    if dataset.task != "regression" or dataset.y_mean is None or dataset.y_scale is None:
        return out
    mean = np.asarray(dataset.y_mean, dtype=np.float64)
    y = (out.astype(np.float64) - mean) / np.asarray(dataset.y_scale, dtype=np.float64)
    return np.asarray(y, dtype=np.float32)


def _unfolded(dataset: Dataset) -> str:
    if dataset.x_mean is None:
        return f"takes the inputs as given (the study's data: {dataset.describe_inputs()})"
    return (
        "takes standardised inputs: apply (x - mean) / scale of the training split first "
        "(archtune's Dataset.preprocess), or export to ONNX, which has it in the graph; the "
        f"study's inputs were {dataset.describe_inputs()}"
    )


def fold_dataset_preprocessing(path: str | os.PathLike[str], dataset: Dataset) -> str:
    """Fold ``dataset``'s preprocessing and class names into the ONNX file at ``path``.

    The file then takes raw inputs as the dataset's files hold them, and a regression model
    answers in the targets' units. See :func:`fold_preprocessing`.

    Returns:
        One line saying what the file now contains.
    """
    regression = dataset.task == "regression"
    return fold_preprocessing(
        path,
        dataset.x_mean,
        dataset.x_scale,
        classes=dataset.classes,
        y_mean=dataset.y_mean if regression else None,
        y_scale=dataset.y_scale if regression else None,
    )


def fold_preprocessing(
    path: str | os.PathLike[str],
    x_mean: npt.ArrayLike | None,
    x_scale: npt.ArrayLike | None,
    *,
    classes: Sequence[object] | None = None,
    y_mean: npt.ArrayLike | None = None,
    y_scale: npt.ArrayLike | None = None,
) -> str:
    """Rewrite an ONNX model so it takes raw inputs and says what it contains.

    The standardisation ``(x - x_mean) / x_scale`` becomes the graph's first nodes (computed
    in float64, as archtune computes it, broadcasting over the channels-last input: ``x_mean``
    has shape ``(features,)``, ``(1, channels)`` or ``(1, 1, channels)``), and with
    ``y_mean``/``y_scale`` the last nodes turn standardised regression outputs back into
    the targets' units. The input and output keep their names and float32 type. The metadata
    gets :data:`PREPROCESSING_KEY` (a JSON object: ``inputs``, ``standardized``, the shapes of
    the statistics, ``outputs``) and, with ``classes``, :data:`CLASSES_KEY` (a JSON list).

    Args:
        path: The ONNX file, rewritten in place.
        x_mean: The mean subtracted from inputs, or ``None`` (inputs were not standardised).
        x_scale: The scale inputs were divided by, or ``None``.
        classes: The class of each output index (classification).
        y_mean: The mean of standardised regression targets, or ``None``.
        y_scale: Their scale, or ``None``.

    Returns:
        One line saying what the file contains, for messages.

    Raises:
        MissingDependencyError: ``onnx`` is not installed.
        ValueError: the model has not one float32 input and one output, or the statistics
            do not broadcast against them.
    """
    from archtune._imports import require

    onnx = require("onnx", extra="onnx", feature="folding preprocessing into an ONNX file")
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(os.fspath(path))
    graph = model.graph
    names = _onnx_names(graph)
    initialized = {init.name for init in graph.initializer}
    inputs = [value for value in graph.input if value.name not in initialized]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ValueError(
            f"{path}: folding needs one input and one output, got {len(inputs)} and "
            f"{len(graph.output)}"
        )
    float_input = inputs[0].type.tensor_type.elem_type == TensorProto.FLOAT
    record: dict[str, Any] = {"inputs": "raw", "standardized": False}
    if x_mean is not None and x_scale is not None and float_input:
        mean = np.asarray(x_mean, dtype=np.float64)
        scale = np.asarray(x_scale, dtype=np.float64)
        _check_broadcast(inputs[0], mean, scale, path)
        source = inputs[0].name
        standardized = _fresh(names, f"{source}_standardized")
        _rename_uses(graph, source, standardized)
        m, s, x64, centered, scaled = (
            _fresh(names, n)
            for n in (
                "archtune_x_mean",
                "archtune_x_scale",
                "archtune_x64",
                "archtune_centered",
                "archtune_scaled",
            )
        )
        graph.initializer.extend(
            [numpy_helper.from_array(mean, m), numpy_helper.from_array(scale, s)]
        )
        first = [
            helper.make_node("Cast", [source], [x64], to=TensorProto.DOUBLE),
            helper.make_node("Sub", [x64, m], [centered]),
            helper.make_node("Div", [centered, s], [scaled]),
            helper.make_node("Cast", [scaled], [standardized], to=TensorProto.FLOAT),
        ]
        nodes = [*first, *graph.node]
        del graph.node[:]
        graph.node.extend(nodes)
        record |= {
            "standardized": True,
            "formula": "(x - x_mean) / x_scale, in the graph",
            "x_mean_shape": list(mean.shape),
            "x_scale_shape": list(scale.shape),
        }
    elif not float_input:
        record["inputs"] = "as the model takes them (not float32: nothing folded)"
    outputs = "logits" if classes is not None else "the model's outputs"
    if y_mean is not None and y_scale is not None:
        _fold_output(graph, names, np.asarray(y_mean), np.asarray(y_scale))
        outputs = "targets in the data's units (y * y_scale + y_mean, in the graph)"
        record["y_shape"] = list(np.asarray(y_mean).shape)
    record["outputs"] = outputs
    props = {PREPROCESSING_KEY: json.dumps(record)}
    if classes is not None:
        props[CLASSES_KEY] = json.dumps([_json_scalar(c) for c in classes])
    kept = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, os.fspath(path))
    return _describe_folded(record, classes)


def _describe_folded(record: Mapping[str, Any], classes: Sequence[object] | None) -> str:
    if record["standardized"]:
        shape = tuple(record["x_mean_shape"])
        text = f"takes raw inputs (the standardisation (x - mean) / scale, {shape}, is in it)"
    elif record["inputs"] == "raw":
        text = "takes the inputs as given (the study's data is not standardised)"
    else:
        text = f"takes the inputs {record['inputs']}"
    if "y_shape" in record:
        text += "; answers in the targets' units"
    if classes is not None:
        text += f"; its metadata names the {len(classes)} classes ({CLASSES_KEY})"
    return text


def _json_scalar(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _onnx_names(graph: Any) -> set[str]:
    names = {value.name for value in (*graph.input, *graph.output, *graph.value_info)}
    names |= {init.name for init in graph.initializer}
    for node in graph.node:
        names.update(node.input)
        names.update(node.output)
        names.add(node.name)
    return names


def _fresh(names: set[str], base: str) -> str:
    name, i = base, 1
    while name in names:
        name, i = f"{base}_{i}", i + 1
    names.add(name)
    return name


def _rename_uses(graph: Any, old: str, new: str) -> None:
    """Make every node that reads ``old`` (in subgraphs too) read ``new``."""
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for attribute in node.attribute:
            for sub in (attribute.g, *attribute.graphs):
                if sub is not None and len(sub.node):
                    _rename_uses(sub, old, new)


def _check_broadcast(value: Any, mean: np.ndarray, scale: np.ndarray, path: object) -> None:
    dims = value.type.tensor_type.shape.dim
    sample = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in dims[1:])
    for name, stat in (("x_mean", mean), ("x_scale", scale)):
        try:
            np.broadcast_shapes((1, *sample), stat.shape)
        except ValueError:
            raise ValueError(
                f"{path}: {name} of shape {stat.shape} does not broadcast against inputs "
                f"(n, {', '.join(map(str, sample))})"
            ) from None


def _fold_output(graph: Any, names: set[str], y_mean: np.ndarray, y_scale: np.ndarray) -> None:
    from onnx import TensorProto, helper, numpy_helper

    output = graph.output[0].name
    standardized = _fresh(names, f"{output}_standardized")
    for node in graph.node:
        for i, name in enumerate(node.output):
            if name == output:
                node.output[i] = standardized
    _rename_uses(graph, output, standardized)
    m, s, y64, scaled, shifted = (
        _fresh(names, n)
        for n in (
            "archtune_y_mean",
            "archtune_y_scale",
            "archtune_y64",
            "archtune_y_scaled",
            "archtune_y_shifted",
        )
    )
    graph.initializer.extend(
        [
            numpy_helper.from_array(y_mean.astype(np.float64), m),
            numpy_helper.from_array(y_scale.astype(np.float64), s),
        ]
    )
    graph.node.extend(
        [
            helper.make_node("Cast", [standardized], [y64], to=TensorProto.DOUBLE),
            helper.make_node("Mul", [y64, s], [scaled]),
            helper.make_node("Add", [scaled, m], [shifted]),
            helper.make_node("Cast", [shifted], [output], to=TensorProto.FLOAT),
        ]
    )


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
) -> tuple[Any, Any, dict[str, float], Dataset]:
    """Train the trial's network again on its recipe, as its worker did."""
    from archtune.backends import get_backend
    from archtune.data import load_cached

    backend = get_backend(objective.backend)
    network = objective.model.build(config)
    dataset = load_cached(objective.data)
    model = backend.build(network, seed=seed)
    fit = backend.fit(model, dataset, objective.recipe_of(config), seed=seed)
    return model, network, dict(fit.metrics), dataset


def _run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    from archtune._imports import require

    onnxruntime = require("onnxruntime", extra="onnx", feature="checking an ONNX export")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0]
    dtype = np.int64 if "int64" in feed.type else np.float32
    (out,) = session.run(None, {feed.name: x.astype(dtype)})
    return np.asarray(out, dtype=np.float32)


def _write_and_reload(
    backend: Any, model: Any, network: Any, target: Path, format: str, x: np.ndarray
) -> np.ndarray:
    if format == "onnx":
        backend.export_onnx(model, target, input_shape=network.input_shape)
        return _run_onnx(target, x)
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
