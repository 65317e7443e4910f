"""Constraints on cost (``params <= 25000``), checked before a configuration is trained."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from archtune._errors import ConfigError, InfeasibleError

__all__ = ["Constraint", "keeps_constraints", "parse_constraints"]

_PATTERN = re.compile(r"^\s*(<=|>=|<|>)\s*([-+0-9.eE_,]+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """``metric op bound``, e.g. ``params <= 25000``.

    Example:
        >>> Constraint("params", "<=", 25000).violation(30000)
        0.2
    """

    metric: str
    op: Literal["<=", ">="]
    bound: float

    def violation(self, value: float) -> float:
        """How far ``value`` breaks the constraint, relative to the bound (0 when it holds).

        Relative, so that the violations of constraints on different scales compare.
        """
        excess = value - self.bound if self.op == "<=" else self.bound - value
        return max(0.0, excess) / max(abs(self.bound), 1e-12)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


def parse_constraints(
    spec: Mapping[str, Any] | None, *, field: str = "constraints"
) -> tuple[Constraint, ...]:
    """Parse ``{metric: "<= 25000" | ">= 0.9" | number}`` (a bare number means ``<=``).

    Raises:
        ConfigError: a value that is not a comparison with a number.
    """
    if spec is None:
        return ()
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{field} must map metrics to bounds like '<= 25000', got {spec!r}")
    constraints = []
    for metric, text in spec.items():
        if isinstance(text, int | float) and not isinstance(text, bool):
            constraints.append(Constraint(str(metric), "<=", float(text)))
            continue
        match = _PATTERN.match(str(text))
        try:
            bound = float(match.group(2).replace("_", "").replace(",", "")) if match else None
        except ValueError:
            bound = None
        if match is None or bound is None:
            raise ConfigError(
                f"{field}.{metric} must be a bound like '<= 25000' or '>= 0.9', got {text!r}"
            )
        if match.group(1) in ("<", ">"):  # bounds are inclusive; a strict one must not pass
            raise ConfigError(
                f"{field}.{metric} must be an inclusive bound ('<=' or '>='), got {text!r}; "
                f"write {match.group(1)}= with the bound you mean, e.g. '{match.group(1)}= "
                f"{match.group(2)}'"
            )
        op = match.group(1)
        constraints.append(Constraint(str(metric), op, bound))  # type: ignore[arg-type]
    return tuple(constraints)


def keeps_constraints(
    constraints: tuple[Constraint, ...], precheck: Callable[[Mapping[str, Any]], dict[str, float]]
) -> Callable[[Mapping[str, Any]], bool]:
    """A test that a configuration can be built and keeps every constraint, by ``precheck``
    (the cost a configuration has before training)."""

    def keeps(config: Mapping[str, Any]) -> bool:
        try:
            cost = precheck(config)
        except InfeasibleError:
            return False
        return all(c.violation(cost[c.metric]) == 0 for c in constraints)

    return keeps
