"""Convert a Hyperopt space (``hp.*`` expressions in dicts, lists and choices) to archtune's.

Every Hyperopt label becomes one archtune parameter of the same name. A label inside a branch
of an ``hp.choice`` gets a ``when`` condition on that choice, so nested conditional spaces
keep their structure. Hyperopt's own ``expr_to_config`` computes the same conditions for its
TPE; here they are read while the expression is walked.

- ``choice``, ``pchoice``: ``Choice`` (the option values when every option is a constant,
  else the branch indices); ``pchoice``'s weights are dropped, with a warning.
- ``uniform``, ``quniform``: ``Float``, ``Float(step=q)`` over the multiples of ``q`` Hyperopt
  can return (``Int`` under ``scope.int``, as ``uniformint`` is).
- ``loguniform``, ``qloguniform``: ``Float(log=True)`` (``q=1``: ``Int(log=True)``); the
  point rounds to ``q`` as Hyperopt does.
- ``normal``, ``qnormal``, ``lognormal``, ``qlognormal``: the bounded form over mu ± 3 sigma
  (in log space for the log-normals), with a warning.
- ``randint``: ``Int``. Constants and ``scope.*`` of constants: part of the point.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

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

__all__ = ["SPREAD_SD", "convert_hyperopt"]

SPREAD_SD = 3.0
"""An unbounded normal is searched over its mean plus or minus this many standard deviations."""

_DISTRIBUTIONS = (
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "normal",
    "qnormal",
    "lognormal",
    "qlognormal",
    "randint",
)
_Path = tuple[tuple[str, Scalar], ...]


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, bool | int | float | str | type(None))


def _plain(value: Any) -> Any:
    """NumPy scalars as Python ones (Hyperopt keeps literals as given)."""
    item = getattr(value, "item", None)
    return item() if callable(item) and getattr(value, "shape", None) == () else value


@dataclass
class _Label:
    kind: str  # a distribution name, or "choice"/"pchoice"
    node: Any  # the pyll node that defines it (Hyperopt's DuplicateLabel check)
    param: Param
    paths: list[_Path] = field(default_factory=list)


class _Walker:
    """One walk over a pyll expression: the tree, and each label's parameter and paths."""

    def __init__(self) -> None:
        from hyperopt.pyll import base

        self.base = base
        self.labels: dict[str, _Label] = {}
        self.notes: list[str] = []

    # -- errors ---------------------------------------------------------------------------
    def _labels_inside(self, node: Any) -> list[str]:
        return [
            n.arg["label"].obj
            for n in self.base.dfs(node)
            if n.name == "hyperopt_param" and isinstance(n.arg["label"], self.base.Literal)
        ]

    def _literal(self, label: str, kind: str, node: Any, arg: str) -> float:
        value = node.arg[arg]
        if isinstance(value, self.base.Literal):
            return float(value.obj)
        inside = self._labels_inside(value)
        if inside:
            raise ConfigError(
                f"hyperopt: {label!r} (hp.{kind}) has its {arg} set by another parameter "
                f"({inside[0]!r}); archtune needs fixed bounds: give {label!r} fixed ones and "
                "combine the two values in your fn"
            )
        return float(self.base.rec_eval(value))

    # -- the walk -------------------------------------------------------------------------
    def walk(self, node: Any, path: _Path) -> Node:
        base = self.base
        if isinstance(node, base.Literal):
            return Const(node.obj)
        name = node.name
        if name == "dict":
            return MappingNode(
                tuple((key, self.walk(child, path)) for key, child in node.named_args)
            )
        if name == "pos_args":
            return SequenceNode(tuple(self.walk(child, path) for child in node.pos_args))
        if name == "switch":
            return self._switch(node, path)
        if name in ("float", "int") and len(node.pos_args) == 1:
            inner = node.pos_args[0]
            cast = name
            if name == "int" and inner.name == "float" and len(inner.pos_args) == 1:
                inner = inner.pos_args[0]  # hp.uniformint: int(float(quniform))
            if inner.name == "hyperopt_param":
                return self._param(inner, path, cast)
        if name == "hyperopt_param":
            return self._param(node, path, None)
        inside = self._labels_inside(node)
        if not inside:
            return Const(base.rec_eval(node))
        raise ConfigError(
            f"hyperopt: {inside[0]!r} is used inside scope.{name}(...), which archtune cannot "
            f"convert; search {inside[0]!r} itself and apply {name} to its value in your fn"
        )

    def _switch(self, node: Any, path: _Path) -> Node:
        index = node.pos_args[0]
        if index.name != "hyperopt_param" or index.arg["obj"].name not in (
            "randint",
            "categorical",
        ):
            inside = self._labels_inside(index)
            what = repr(inside[0]) if inside else "a constant"
            raise ConfigError(
                f"hyperopt: a scope.switch is indexed by {what}, not by an hp.choice; "
                "archtune converts choices made with hp.choice or hp.pchoice"
            )
        label = index.arg["label"].obj
        options = node.pos_args[1:]
        weighted = index.arg["obj"].name == "categorical"
        constants = [o.obj for o in options if isinstance(o, self.base.Literal)]
        plain = [_plain(c) for c in constants]
        if (
            len(constants) == len(options)
            and all(_is_scalar(v) for v in plain)
            and len({repr(v) for v in plain}) == len(plain)
        ):
            keys: tuple[Scalar, ...] = tuple(plain)
        else:
            keys = tuple(range(len(options)))
        if weighted:
            p = [float(x) for x in self.base.rec_eval(index.arg["obj"].arg["p"])]
            weights = ", ".join(f"{k!r}: {w:g}" for k, w in zip(keys, p, strict=True))
            self.notes.append(
                f"hyperopt: {label!r} is hp.pchoice with weights ({weights}); archtune's "
                "samplers treat the options alike (the weights were Hyperopt's prior, not a "
                "constraint), so they are not used"
            )
        self._register(label, "pchoice" if weighted else "choice", index, Choice(keys), path)
        branches = tuple(
            self.walk(option, (*path, (label, key)))
            for key, option in zip(keys, options, strict=True)
        )
        return Switch(label, keys, branches)

    def _param(self, node: Any, path: _Path, cast: Any) -> Node:
        label = node.arg["label"].obj
        dist = node.arg["obj"]
        kind = dist.name
        if kind not in _DISTRIBUTIONS:
            raise ConfigError(
                f"hyperopt: {label!r} has distribution {kind!r}, which archtune cannot convert; "
                f"supported: {', '.join(_DISTRIBUTIONS)}, choice, pchoice"
            )
        known = self.labels.get(label)
        if known is not None and known.node is dist:
            known.paths.append(path)
            return self._leaf(label, kind, dist, cast)
        param = self._distribution(label, kind, dist, cast)
        self._register(label, kind, dist, param, path)
        return self._leaf(label, kind, dist, cast)

    def _leaf(self, label: str, kind: str, dist: Any, cast: Any) -> Leaf:
        q = self._literal(label, kind, dist, "q") if kind.startswith("q") else None
        return Leaf(label, q=q, cast=cast)

    def _register(self, label: str, kind: str, node: Any, param: Param, path: _Path) -> None:
        known = self.labels.get(label)
        if known is not None:
            if known.node is not node:
                raise ConfigError(
                    f"hyperopt: label {label!r} names two different expressions "
                    f"(hp.{known.kind} and hp.{kind}); give each its own label"
                )
            known.paths.append(path)
            return
        self.labels[label] = _Label(kind, node, param, [path])

    def _distribution(self, label: str, kind: str, dist: Any, cast: Any) -> Param:
        def arg(name: str) -> float:
            return self._literal(label, kind, dist, name)

        if kind == "randint":
            low = arg("low")
            missing = dist.arg["high"] is self.base.MissingArgument
            low, high = (0.0, low) if missing else (low, arg("high"))
            return Int(int(low), int(high) - 1)
        if kind in ("normal", "qnormal", "lognormal", "qlognormal"):
            mu, sigma = arg("mu"), arg("sigma")
            low, high = mu - SPREAD_SD * sigma, mu + SPREAD_SD * sigma
            bounded = kind.replace("normal", "uniform")
            space = "the log of its value" if "log" in kind else "its value"
            self.notes.append(
                f"hyperopt: {label!r} is hp.{kind}(mu={mu:g}, sigma={sigma:g}), which has no "
                f"bounds; archtune searches {space} uniformly in mu ± {SPREAD_SD:g} sigma "
                f"[{low:g}, {high:g}] (99.7 % of its draws), as hp.{bounded} would; use "
                f"hp.{bounded} to choose the range yourself"
            )
            kind = bounded
        else:
            low, high = arg("low"), arg("high")
        if kind == "uniform":
            return Float(low, high)
        if kind == "quniform":
            q = arg("q")
            lo, hi = round(low / q), round(high / q)  # Python rounds half to even, as np.round
            if cast == "int" and float(q).is_integer():
                return Int(int(lo * q), int(hi * q), step=int(q))
            return Float(lo * q, hi * q, step=q)
        if kind == "loguniform":
            return Float(math.exp(low), math.exp(high), log=True)
        # qloguniform: sampled on the log scale, rounded to q in the point
        q = arg("q")
        if q == 1 and round(math.exp(high)) >= 1:
            return Int(max(1, round(math.exp(low))), round(math.exp(high)), log=True)
        return Float(math.exp(low), math.exp(high), log=True)

    # -- conditions -----------------------------------------------------------------------
    def params(self) -> dict[str, Param]:
        import dataclasses

        whens: dict[str, dict[str, tuple[Scalar, ...]]] = {}

        def when_of(label: str) -> dict[str, tuple[Scalar, ...]]:
            if label in whens:
                return whens[label]
            paths = self.labels[label].paths
            when: dict[str, tuple[Scalar, ...]] = {}
            if all(paths):
                parents = {path[-1][0] for path in paths}
                if len(parents) == 1:
                    parent = parents.pop()
                    allowed: list[Scalar] = []
                    for path in paths:
                        if not any(repr(a) == repr(path[-1][1]) for a in allowed):
                            allowed.append(path[-1][1])
                    options = self.labels[parent].param
                    assert isinstance(options, Choice)
                    if len(allowed) == len(options.options):  # in every branch of its parent
                        when = when_of(parent)
                    else:
                        when = {parent: tuple(allowed)}
                else:  # several parents: the deepest condition all paths share
                    common = paths[0]
                    for path in paths[1:]:
                        n = 0
                        while n < min(len(common), len(path)) and common[n] == path[n]:
                            n += 1
                        common = common[:n]
                    if common:
                        when = {common[-1][0]: (common[-1][1],)}
            whens[label] = when
            return when

        return {
            label: dataclasses.replace(entry.param, when=when_of(label))
            for label, entry in self.labels.items()
        }


def convert_hyperopt(space: Any, *, stacklevel: int = 2) -> ConvertedSpace:
    """Convert a Hyperopt space to archtune's flat space and the tree that rebuilds the point.

    Each approximated distribution warns once (:class:`ConversionWarning`, naming the label);
    ``stacklevel`` points the warning at the caller's line.

    Raises:
        ConfigError: an expression archtune cannot convert (named by its label).
        MissingDependencyError: Hyperopt is not installed.
    """
    require("hyperopt", extra="hyperopt", feature="archtune.interop.hyperopt")
    from hyperopt.pyll import as_apply

    walker = _Walker()
    tree = walker.walk(as_apply(space), ())
    if not walker.labels:
        raise ConfigError(
            "hyperopt: the space searches nothing (no hp.* expression); add one, or call fn "
            "directly"
        )
    converted = ConvertedSpace(Space(walker.params()), tree)
    for note in walker.notes:
        warnings.warn(note, ConversionWarning, stacklevel=stacklevel)
    return converted
