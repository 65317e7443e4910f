"""The metrics a study optimises and in which direction."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from archtune._errors import ConfigError, ObjectiveError

__all__ = ["Direction", "Objectives"]

Direction = Literal["max", "min"]
_ALIASES: dict[str, Direction] = {
    "max": "max",
    "maximize": "max",
    "maximise": "max",
    "min": "min",
    "minimize": "min",
    "minimise": "min",
}


@dataclass(frozen=True)
class Objectives:
    """An ordered ``{metric: "max" | "min"}`` mapping.

    Example:
        >>> Objectives.parse({"val_accuracy": "max", "params": "min"}).optuna_directions
        ['maximize', 'minimize']
    """

    directions: tuple[tuple[str, Direction], ...]

    @classmethod
    def parse(cls, spec: Mapping[str, Any] | str, *, field: str = "objectives") -> Objectives:
        """Parse ``{metric: direction}``; a bare metric name means ``{metric: "max"}``."""
        if isinstance(spec, str):
            spec = {spec: "max"}
        if not isinstance(spec, Mapping) or not spec:
            raise ConfigError(f"{field} must map at least one metric to max or min, got {spec!r}")
        parsed: list[tuple[str, Direction]] = []
        for metric, direction in spec.items():
            if not isinstance(metric, str) or not metric:
                raise ConfigError(f"{field} keys must be metric names, got {metric!r}")
            key = direction.lower() if isinstance(direction, str) else direction
            if key not in _ALIASES:
                raise ConfigError(f"{field}.{metric} must be max or min, got {direction!r}")
            parsed.append((metric, _ALIASES[key]))
        return cls(tuple(parsed))

    @property
    def names(self) -> list[str]:
        """The metric names, in order."""
        return [name for name, _ in self.directions]

    @property
    def optuna_directions(self) -> list[Literal["maximize", "minimize"]]:
        """The directions as Optuna spells them."""
        return ["maximize" if d == "max" else "minimize" for _, d in self.directions]

    @property
    def is_multi(self) -> bool:
        """Whether there are several objectives (a Pareto front, not one best trial)."""
        return len(self.directions) > 1

    def to_dict(self) -> dict[str, str]:
        """The plain-data form."""
        return dict(self.directions)

    def values(self, metrics: Mapping[str, Any]) -> list[float]:
        """Extract the objective values from a trial's final metrics.

        Raises:
            ObjectiveError: a metric is missing (a configuration error: the study stops).
            ValueError: a value is NaN or infinite, or not a number (the trial fails).
        """
        missing = [name for name in self.names if name not in metrics]
        if missing:
            returned = ", ".join(sorted(metrics)) or "nothing"
            raise ObjectiveError(
                f"objectives names {missing[0]!r}, but the objective returned {returned}; "
                "return it from the objective, or change `objectives:`"
            )
        values: list[float] = []
        for name in self.names:
            value = metrics[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"metric {name!r} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"metric {name!r} is {value} (not finite)")
            values.append(float(value))
        return values
