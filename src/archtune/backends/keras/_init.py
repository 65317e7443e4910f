"""Weight and bias initialisation of a ``keras.Model`` from a :class:`Recipe`.

The schemes and their fans follow the PyTorch backend (``archtune.backends.torch._init``), so
a recipe means the same in both: a weight is a trainable variable of rank >= 2 whose name has
no ``bias`` (kernels, recurrent kernels, embeddings); a bias is one whose name has ``bias``;
normalisation scales and shifts keep their initialisation.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from archtune._errors import ConfigError
from archtune.backends.keras._build import HEAD_NAME
from archtune.backends.keras._keras import import_keras
from archtune.backends.keras._random import seeded
from archtune.data import Dataset
from archtune.recipe import Recipe

keras = import_keras()

__all__ = ["InitSummary", "apply_initialisation", "is_bias", "is_weight", "read_weights"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class InitSummary:
    """What :func:`apply_initialisation` did (variable paths, e.g. ``layers_0/kernel``).

    Attributes:
        weights: The weights it drew.
        biases: The biases it set.
        copied: The variables copied from the pretrained weights (``pretrained`` only).
        output_bias: The bias treated as the output layer's (``mean`` only).
    """

    weights: tuple[str, ...] = ()
    biases: tuple[str, ...] = ()
    copied: tuple[str, ...] = ()
    output_bias: str | None = None


def is_weight(variable: Any) -> bool:
    """Whether ``variable`` is a weight: trainable, rank >= 2, no ``bias`` in its name."""
    return bool(variable.trainable) and len(variable.shape) >= 2 and "bias" not in variable.name


def is_bias(variable: Any) -> bool:
    """Whether ``variable`` is a bias: trainable, with ``bias`` in its name."""
    return bool(variable.trainable) and "bias" in variable.name


def _fans(variable: Any) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight, as PyTorch computes them for its counterpart."""
    shape = tuple(int(n) for n in variable.shape)
    parts = variable.path.split("/")
    owner = parts[-2] if len(parts) > 1 else ""
    if variable.name == "embeddings":  # PyTorch's (n, dim) embedding: fan_in = dim
        return shape[-1], shape[0]
    if variable.name == "depthwise_kernel":  # PyTorch's (in, 1, *window)
        window = math.prod(shape[:-2])
        return window * shape[-1], window * shape[-2]
    if owner in ("query", "key", "value") and len(shape) == 3:  # PyTorch's (3d, d) in_proj
        return shape[0], 3 * shape[0]
    if owner == "attention_output" and len(shape) == 3:  # (heads, head_dim, d)
        return shape[0] * shape[1], shape[2]
    receptive = math.prod(shape[:-2])
    return receptive * shape[-2], receptive * shape[-1]


def _orthogonal(shape: tuple[int, ...], gain: float, rng: np.random.Generator) -> FloatArray:
    rows, cols = math.prod(shape[:-1]), shape[-1]
    flat = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return np.asarray(gain * q[:rows, :cols].reshape(shape), dtype=np.float64)


def _draw(variable: Any, recipe: Recipe, rng: np.random.Generator) -> FloatArray:
    shape = tuple(int(n) for n in variable.shape)
    kind = recipe.weight_init
    fan_in, fan_out = _fans(variable)
    if kind == "orthogonal":
        return _orthogonal(shape, recipe.init_gain, rng)
    if kind == "constant":
        return np.full(shape, recipe.init_value)
    normal_std = {
        "normal": recipe.init_std,
        "glorot_normal": math.sqrt(2.0 / (fan_in + fan_out)),
        "he_normal": math.sqrt(2.0 / fan_in),
        "lecun_normal": math.sqrt(1.0 / fan_in),
    }
    if kind in normal_std:
        return rng.normal(0.0, normal_std[kind], shape)
    uniform_limit = {
        "uniform": recipe.init_limit,
        "glorot_uniform": math.sqrt(6.0 / (fan_in + fan_out)),
        "he_uniform": math.sqrt(6.0 / fan_in),
        "lecun_uniform": math.sqrt(3.0 / fan_in),
    }
    if kind in uniform_limit:
        limit = uniform_limit[kind]
        return rng.uniform(-limit, limit, shape)
    raise ValueError(f"no weight draw for {kind!r}")  # pragma: no cover - the caller filters


def _assign(variable: Any, value: npt.ArrayLike) -> None:
    variable.assign(np.asarray(value).astype(variable.dtype).reshape(tuple(variable.shape)))


def _redraw_default(model: Any, seed: int) -> None:
    """Keras's own initialisation, redrawn from ``seed`` (a seeded clone's weights)."""
    try:
        with seeded(seed):
            fresh = keras.models.clone_model(model)
    except Exception as exc:
        raise ConfigError(
            f"weight_init='default' redraws the weights of a clone of the model, and Keras "
            f"cannot clone this one ({exc}); use weight_init='keep' or another scheme"
        ) from exc
    model.set_weights(fresh.get_weights())


def read_weights(path: str | os.PathLike[str], model: Any) -> dict[str, npt.NDArray[Any]]:
    """The variables of a ``.keras`` file, or of a ``.weights.h5`` file of ``model``'s shape.

    Returns:
        ``{variable path: value}``.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"pretrained weights {str(p)!r} do not exist (or are not a file)")
    try:
        if p.name.endswith(".weights.h5"):
            source = keras.models.clone_model(model)
            source.load_weights(p)
        else:
            source = keras.saving.load_model(p, compile=False)
    except Exception as exc:
        raise ConfigError(
            f"pretrained weights {str(p)!r} cannot be read as a .keras model or a "
            f".weights.h5 file of this model ({exc})"
        ) from exc
    return {v.path: np.asarray(keras.ops.convert_to_numpy(v)) for v in source.weights}


def _copy_pretrained(model: Any, state: Mapping[str, npt.ArrayLike]) -> list[str]:
    copied = []
    for variable in model.weights:
        source = state.get(variable.path)
        if source is not None and np.shape(source) == tuple(variable.shape):
            _assign(variable, source)
            copied.append(variable.path)
    if not copied:
        warnings.warn(
            "weight_init='pretrained': no variable of the model matches the pretrained "
            "weights by path and shape; the model keeps its initialisation",
            UserWarning,
            stacklevel=3,
        )
    return copied


def _output_bias(model: Any, dataset: Dataset, biases: list[Any]) -> Any:
    head = next((layer for layer in model.layers if layer.name == HEAD_NAME), None)
    bias = getattr(head, "bias", None)
    if bias is not None and int(np.prod(bias.shape)) == dataset.n_outputs:
        return bias
    fits = [v for v in biases if int(np.prod(v.shape)) == dataset.n_outputs]
    if not fits:
        raise ConfigError(
            f"bias_init='mean': no bias of the model has {dataset.n_outputs} entries (the "
            "number of outputs); use bias_init='zeros'"
        )
    return fits[-1]


def _output_bias_values(dataset: Dataset, n: int) -> FloatArray:
    if dataset.n_classes is not None:
        counts = np.bincount(dataset.y_train.astype(np.int64), minlength=dataset.n_classes)
        values = np.log((counts + 1.0) / (counts.sum() + dataset.n_classes))
    else:
        values = np.atleast_1d(dataset.y_train.astype(np.float64).mean(axis=0))
    if values.size != n:
        raise ConfigError(
            f"bias_init='mean': the output bias has {n} entries but the dataset has "
            f"{values.size} outputs"
        )
    return np.asarray(values, dtype=np.float64)


def apply_initialisation(
    model: Any,
    recipe: Recipe,
    *,
    seed: int,
    dataset: Dataset | None = None,
    pretrained_weights: Mapping[str, npt.ArrayLike] | None = None,
) -> InitSummary:
    """Initialise ``model``'s weights and biases in place as ``recipe`` says, seeded.

    - ``default``: Keras's own initialisers (Glorot-uniform kernels, orthogonal recurrent
      kernels, zero biases, ...), redrawn from ``seed``.
    - ``keep``: the weights stay as they are.
    - ``normal``, ``uniform``, ``glorot_*``, ``he_*`` (ReLU gain, fan-in), ``lecun_*``,
      ``orthogonal``, ``constant``: the default first, then the scheme on every weight, with
      PyTorch's fans (so that the scale is the PyTorch backend's). ``constant`` warns.
    - ``pretrained``: variables of ``pretrained_weights`` (``{path: array}``) or of
      ``recipe.pretrained_path`` (a ``.keras`` or ``.weights.h5`` file) whose path and shape
      match are copied.

    Biases: ``default`` keeps them, ``zeros``, ``constant`` (``recipe.bias_value``), or
    ``mean``: zeros, and the head's bias set to the target mean (regression) or the log class
    frequencies (classification). Copied biases are not touched.

    Returns:
        An :class:`InitSummary` of what was initialised or copied.
    """
    kind = recipe.weight_init
    copied: list[str] = []
    weights: list[str] = []
    if kind == "default":
        _redraw_default(model, seed)
    elif kind == "pretrained":
        if pretrained_weights is None:
            if recipe.pretrained_path is None:
                raise ConfigError(
                    "weight_init='pretrained' needs recipe.pretrained_path or the baseline's "
                    "weights (pretrained_weights=)"
                )
            pretrained_weights = read_weights(recipe.pretrained_path, model)
        copied = _copy_pretrained(model, pretrained_weights)
    elif kind != "keep":
        if kind == "constant":
            warnings.warn(
                f"weight_init='constant' sets every weight to {recipe.init_value}: identical "
                "weights get identical gradients, so units of a layer never differ. Use it "
                "only to study that effect.",
                UserWarning,
                stacklevel=2,
            )
        _redraw_default(model, seed)
        rng = np.random.default_rng(seed)
        for variable in model.trainable_variables:
            if is_weight(variable):
                _assign(variable, _draw(variable, recipe, rng))
                weights.append(variable.path)

    biases: list[str] = []
    output_bias: str | None = None
    if recipe.bias_init != "default":
        targets = [v for v in model.trainable_variables if is_bias(v) and v.path not in copied]
        value = recipe.bias_value if recipe.bias_init == "constant" else 0.0
        for variable in targets:
            _assign(variable, np.full(tuple(variable.shape), value))
            biases.append(variable.path)
        if recipe.bias_init == "mean":
            if dataset is None:
                raise ConfigError("bias_init='mean' needs the dataset (dataset=)")
            bias = _output_bias(model, dataset, targets)
            _assign(bias, _output_bias_values(dataset, int(np.prod(bias.shape))))
            output_bias = bias.path
    return InitSummary(tuple(weights), tuple(biases), tuple(copied), output_bias)
