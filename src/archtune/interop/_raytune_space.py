"""Convert a Ray Tune ``param_space`` (``tune.uniform``, ``tune.choice``, dicts) to archtune's.

Each searched value becomes one archtune parameter named by its path, joined with ``/`` as Ray
Tune flattens configs (``{"model": {"lr": ...}}`` → ``model/lr``); constants stay in the config
the trainable receives and are not searched.

- ``uniform``, ``quniform``: ``Float``, ``Float(step=q)`` (Ray snaps the bounds to ``q``).
- ``loguniform``, ``qloguniform``: ``Float(log=True)``; the config rounds to ``q`` as Ray does.
- ``randint``, ``qrandint``: ``Int`` (upper bound exclusive, inclusive for ``q > 1``, as in
  Ray); ``lograndint``, ``qlograndint``: ``Int(log=True)``, rounded to ``q``.
- ``randn``, ``qrandn``: the bounded form over mean ± 3 sd, with a warning.
- ``choice``: ``Choice`` (the categories when they are plain values, else their indices);
  ``grid_search``: a ``Choice`` of its values (``sampler="grid"``, or ``auto`` when the
  budget covers the space, tries each once).
- ``sample_from`` and other functions of the config: an error that says what to do.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any, Literal

from archtune._errors import ConfigError
from archtune._imports import require
from archtune.interop._errors import ConversionWarning
from archtune.interop._tree import (
    Const,
    ConvertedSpace,
    Leaf,
    MappingNode,
    Node,
    SequenceNode,
    Switch,
)
from archtune.space import Choice, Float, Int, Param, Scalar, Space

__all__ = ["SPREAD_SD", "convert_ray_tune"]

SPREAD_SD = 3.0
"""``randn`` is searched over its mean plus or minus this many standard deviations."""


def _scalar_keys(values: list[Any]) -> tuple[Scalar, ...] | None:
    plain = []
    for value in values:
        item = getattr(value, "item", None)
        value = item() if callable(item) and getattr(value, "shape", None) == () else value
        if not isinstance(value, bool | int | float | str | type(None)):
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None
        plain.append(value)
    if len({repr(v) for v in plain}) != len(plain):
        return None
    return tuple(plain)


def _grid_index(bound: float, q: float, up: bool) -> float:
    """Ray's ``Quantized._grid_index``: a bound on the multiples of ``q``, rounded inwards."""
    scaled = bound / q
    nearest = round(scaled)
    if math.isclose(scaled, nearest):
        return float(nearest)
    return float(math.ceil(scaled) if up else math.floor(scaled))


class _Walker:
    def __init__(self) -> None:
        from ray.tune.search import sample

        self.sample = sample
        self.params: dict[str, Param] = {}
        self.notes: list[str] = []

    def walk(self, value: Any, path: str) -> Node:
        sample = self.sample
        if isinstance(value, sample.Domain):
            return self._domain(value, path)
        if isinstance(value, Mapping):
            if set(value) == {"grid_search"}:
                return self._categories(list(value["grid_search"]), path)
            items = tuple(
                (key, self.walk(child, f"{path}/{key}" if path else str(key)))
                for key, child in value.items()
            )
            return MappingNode(items)
        if isinstance(value, list | tuple):
            children = tuple(self.walk(child, f"{path}/{i}") for i, child in enumerate(value))
            if all(isinstance(c, Const) for c in children):
                return Const(value)
            return SequenceNode(children, "list" if isinstance(value, list) else "tuple")
        return Const(value)

    def _categories(self, values: list[Any], path: str) -> Node:
        if not values:
            raise ConfigError(f"raytune: {path} must list at least one value, got []")
        keys = _scalar_keys(values) or tuple(range(len(values)))
        self.params[path] = Choice(keys)
        return Switch(path, keys, tuple(Const(v) for v in values))

    def _domain(self, domain: Any, path: str) -> Node:
        sample = self.sample
        if isinstance(domain, sample.Categorical):
            return self._categories(list(domain.categories), path)
        if isinstance(domain, sample.Function):
            raise ConfigError(
                f"raytune: {path} is tune.sample_from(...), a function of the config that "
                "archtune cannot search; compute it in the trainable from the other values, or "
                "search it with tune.choice, tune.uniform or tune.randint"
            )
        is_int = isinstance(domain, sample.Integer)
        if not is_int and not isinstance(domain, sample.Float):
            raise ConfigError(
                f"raytune: {path} is a {type(domain).__name__} domain, which archtune cannot "
                "convert; use tune.uniform, loguniform, randn, randint, lograndint or choice"
            )
        sampler = domain.get_sampler()
        q: float | None = None
        if isinstance(sampler, sample.Quantized):
            q = sampler.q
            sampler = sampler.get_sampler()
        cast: Literal["int", "float"] = "int" if is_int else "float"
        low, high = float(domain.lower), float(domain.upper)
        log = isinstance(sampler, sample.LogUniform)
        if isinstance(sampler, sample.Normal):
            mean, sd = float(sampler.mean), float(sampler.sd)
            low, high = mean - SPREAD_SD * sd, mean + SPREAD_SD * sd
            self.notes.append(
                f"raytune: {path} is tune.{'q' if q else ''}randn(mean={mean:g}, sd={sd:g}), "
                f"which has no bounds; archtune searches it uniformly in mean ± {SPREAD_SD:g} "
                f"sd [{low:g}, {high:g}] (99.7 % of its draws); use tune.uniform to choose "
                "the range yourself"
            )
        elif not isinstance(sampler, sample.Uniform | sample.LogUniform):
            raise ConfigError(
                f"raytune: {path} uses the {sampler} sampler, which archtune cannot convert; "
                "use uniform, loguniform or randn sampling"
            )
        if is_int and (q is None or q == 1):
            # randint and lograndint: upper exclusive; qrandint with q=1 too (Ray's rule)
            self.params[path] = Int(int(low), int(high) - 1, log=log)
            return Leaf(path, cast=cast)
        if q is not None:
            lo, hi = _grid_index(low, q, up=True) * q, _grid_index(high, q, up=False) * q
            if hi < lo:
                raise ConfigError(
                    f"raytune: {path} has no multiple of q={q:g} between {low:g} and {high:g}; "
                    "widen the bounds or lower q"
                )
            if log:
                self.params[path] = (
                    Int(int(lo), int(hi), log=True) if is_int else Float(lo, hi, log=True)
                )
                return Leaf(path, q=q, cast=cast)
            if is_int:
                self.params[path] = Int(int(lo), int(hi), step=int(q))
                return Leaf(path, cast=cast)
            self.params[path] = Float(lo, hi, step=q)
            return Leaf(path, q=q, cast=cast)
        self.params[path] = Float(low, high, log=log)
        return Leaf(path, cast=cast)


def convert_ray_tune(param_space: Mapping[str, Any], *, stacklevel: int = 2) -> ConvertedSpace:
    """Convert a Ray Tune ``param_space`` to archtune's flat space and the config's tree.

    Raises:
        ConfigError: a value archtune cannot search (``sample_from``), named by its path.
        MissingDependencyError: Ray Tune is not installed.
    """
    require("ray.tune", extra="raytune", feature="archtune.interop.raytune")
    if not isinstance(param_space, Mapping):
        raise ConfigError(
            f"raytune: param_space must be a dict of names to values and tune.* domains, got "
            f"{type(param_space).__name__}"
        )
    walker = _Walker()
    tree = walker.walk(param_space, "")
    if not walker.params:
        raise ConfigError(
            "raytune: param_space searches nothing (no tune.* domain and no grid_search); add "
            "one, or run the trainable directly"
        )
    converted = ConvertedSpace(Space(walker.params), tree)
    for note in walker.notes:
        warnings.warn(note, ConversionWarning, stacklevel=stacklevel)
    return converted
