"""Weight and bias initialisation of a PyTorch module from a :class:`Recipe`."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from archtune._errors import ConfigError
from archtune.backends.torch._checkpoint import read_state_dict
from archtune.data import Dataset
from archtune.recipe import Recipe

__all__ = ["InitSummary", "apply_initialisation", "seeded_rng"]


@dataclass(frozen=True)
class InitSummary:
    """What :func:`apply_initialisation` did.

    Attributes:
        weights: Names of the weights it initialised.
        biases: Names of the biases it initialised.
        copied: Names of the entries copied from the pretrained state (``pretrained`` only).
        output_bias: The name of the bias treated as the output layer's (``mean`` only).
    """

    weights: tuple[str, ...] = ()
    biases: tuple[str, ...] = ()
    copied: tuple[str, ...] = ()
    output_bias: str | None = None


@contextlib.contextmanager
def seeded_rng(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Seed torch's global RNGs inside the block and restore their state afterwards."""
    devices = [device.index or 0] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _layers(
    module: torch.nn.Module,
) -> Iterator[tuple[list[tuple[str, torch.nn.Parameter]], list[tuple[str, torch.nn.Parameter]]]]:
    """Yield ``(weights, biases)`` of each submodule that has a weight matrix or kernel.

    A weight is a parameter with ``weight`` in its name and at least two dimensions (Linear,
    Conv, recurrent and attention matrices); 1-D weights belong to normalisation layers,
    which keep their own initialisation (scale 1, shift 0).
    """
    for prefix, sub in module.named_modules():
        own = list(sub.named_parameters(recurse=False))
        weights = [
            (f"{prefix}.{n}" if prefix else n, p) for n, p in own if "weight" in n and p.ndim >= 2
        ]
        if weights:
            biases = [(f"{prefix}.{n}" if prefix else n, p) for n, p in own if "bias" in n]
            yield weights, biases


def _draw(shape: torch.Size, recipe: Recipe, gen: torch.Generator) -> torch.Tensor:
    t = torch.empty(shape)
    init = torch.nn.init
    kind = recipe.weight_init
    fan_in, _ = init._calculate_fan_in_and_fan_out(t)
    if kind == "normal":
        init.normal_(t, 0.0, recipe.init_std, generator=gen)
    elif kind == "uniform":
        init.uniform_(t, -recipe.init_limit, recipe.init_limit, generator=gen)
    elif kind == "glorot_normal":
        init.xavier_normal_(t, generator=gen)
    elif kind == "glorot_uniform":
        init.xavier_uniform_(t, generator=gen)
    elif kind == "he_normal":
        init.kaiming_normal_(t, nonlinearity="relu", generator=gen)
    elif kind == "he_uniform":
        init.kaiming_uniform_(t, nonlinearity="relu", generator=gen)
    elif kind == "lecun_normal":
        init.normal_(t, 0.0, 1.0 / math.sqrt(fan_in), generator=gen)
    elif kind == "lecun_uniform":
        limit = math.sqrt(3.0 / fan_in)
        init.uniform_(t, -limit, limit, generator=gen)
    elif kind == "orthogonal":
        init.orthogonal_(t, gain=recipe.init_gain, generator=gen)
    elif kind == "constant":
        t.fill_(recipe.init_value)
    else:  # pragma: no cover - the caller handles default/keep/pretrained
        raise ValueError(f"no weight draw for {kind!r}")
    return t


def _reset(module: torch.nn.Module, seed: int) -> None:
    """Redraw every submodule's own parameters with the framework's default, seeded."""
    first = next(module.parameters(), None)
    with seeded_rng(seed, None if first is None else first.device):
        for sub in module.modules():
            # nn.MultiheadAttention initialises its packed projections in the private
            # `_reset_parameters` and has no public `reset_parameters`.
            reset = getattr(sub, "reset_parameters", None) or getattr(
                sub, "_reset_parameters", None
            )
            if callable(reset):
                reset()


def _output_bias_values(dataset: Dataset, n: int) -> torch.Tensor:
    if dataset.n_classes is not None:
        counts = np.bincount(dataset.y_train.astype(np.int64), minlength=dataset.n_classes)
        prior = (counts + 1.0) / (counts.sum() + dataset.n_classes)  # Laplace-smoothed
        values = np.log(prior)
    else:
        values = np.atleast_1d(dataset.y_train.astype(np.float64).mean(axis=0))
    if values.size != n:
        raise ConfigError(
            f"bias_init='mean': the output bias has {n} entries but the dataset has "
            f"{values.size} outputs"
        )
    return torch.as_tensor(values, dtype=torch.float32)


def apply_initialisation(
    module: torch.nn.Module,
    recipe: Recipe,
    *,
    seed: int,
    dataset: Dataset | None = None,
    pretrained_state: Mapping[str, torch.Tensor] | None = None,
) -> InitSummary:
    """Initialise ``module``'s weights and biases in place as ``recipe`` says, seeded.

    - ``default``: every submodule's ``reset_parameters()`` (PyTorch's own initialisation),
      redrawn from ``seed`` so that the same seed gives the same weights.
    - ``keep``: the weights stay as they are.
    - ``normal``, ``uniform``, ``glorot_*``, ``he_*`` (ReLU gain, fan-in), ``lecun_*``
      (fan-in), ``orthogonal``, ``constant``: the default first (for the parameters the scheme
      does not cover, e.g. normalisation layers), then the scheme on every weight matrix or
      kernel. ``constant`` warns: identical weights do not break symmetry.
    - ``pretrained``: entries of ``pretrained_state`` (or of ``recipe.pretrained_path``) whose
      name and shape match are copied; the others are left as they are.

    Biases (of layers with a weight matrix): ``default`` keeps what the weight step left,
    ``zeros``, ``constant`` (``recipe.bias_value``), or ``mean``: zeros, and the output bias
    (the last registered bias whose size is the dataset's number of outputs) set to the target
    mean (regression) or the log of the class frequencies (classification). Under
    ``pretrained``, copied biases are not touched.

    Args:
        module: The module to initialise (in place).
        recipe: Supplies ``weight_init``, ``bias_init`` and their parameters.
        seed: Seeds every random draw; the global RNG state is left unchanged.
        dataset: Needed by ``bias_init="mean"``.
        pretrained_state: The baseline's state dict for ``pretrained`` (else the path).

    Returns:
        An :class:`InitSummary` of what was initialised or copied.
    """
    kind = recipe.weight_init
    copied: list[str] = []
    weights: list[str] = []
    if kind == "default":
        _reset(module, seed)
    elif kind == "pretrained":
        if pretrained_state is None:
            if recipe.pretrained_path is None:
                raise ConfigError(
                    "weight_init='pretrained' needs recipe.pretrained_path or the baseline's "
                    "state (pretrained_state=)"
                )
            pretrained_state = read_state_dict(recipe.pretrained_path)
        own = module.state_dict()
        with torch.no_grad():
            for name, target in own.items():
                source = pretrained_state.get(name)
                if source is not None and tuple(source.shape) == tuple(target.shape):
                    target.copy_(source.to(target.device, target.dtype))
                    copied.append(name)
        if not copied:
            warnings.warn(
                "weight_init='pretrained': no parameter of the module matches the pretrained "
                "state by name and shape; the module keeps its initialisation",
                UserWarning,
                stacklevel=2,
            )
    elif kind != "keep":
        if kind == "constant":
            warnings.warn(
                f"weight_init='constant' sets every weight to {recipe.init_value}: identical "
                "weights get identical gradients, so units of a layer never differ. Use it "
                "only to study that effect.",
                UserWarning,
                stacklevel=2,
            )
        _reset(module, seed)
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for layer_weights, _ in _layers(module):
                for name, p in layer_weights:
                    p.copy_(_draw(p.shape, recipe, gen))
                    weights.append(name)

    biases: list[str] = []
    output_bias: str | None = None
    if recipe.bias_init != "default":
        all_biases = [
            (n, p)
            for _, layer_biases in _layers(module)
            for n, p in layer_biases
            if n not in copied
        ]
        with torch.no_grad():
            for name, p in all_biases:
                p.fill_(recipe.bias_value if recipe.bias_init == "constant" else 0.0)
                biases.append(name)
            if recipe.bias_init == "mean":
                if dataset is None:
                    raise ConfigError("bias_init='mean' needs the dataset (dataset=)")
                fits = [(n, p) for n, p in all_biases if p.numel() == dataset.n_outputs]
                if not fits:
                    raise ConfigError(
                        f"bias_init='mean': no bias of the module has {dataset.n_outputs} "
                        "entries (the number of outputs); use bias_init='zeros'"
                    )
                output_bias, p = fits[-1]
                p.copy_(_output_bias_values(dataset, p.numel()).reshape(p.shape))
    return InitSummary(tuple(weights), tuple(biases), tuple(copied), output_bias)
