"""Search-space parameters: :class:`Int`, :class:`Float`, :class:`Choice` and :class:`Fixed`.

Each parameter is a frozen value object that validates itself on construction and knows its
plain-data form (the YAML/JSON ``{type: int, low: 16, high: 256, log: true}`` shape). A ``when``
condition makes a parameter exist only for some values of other parameters:
``Float(0.0, 0.99, when={"optimizer": "sgd"})``.

A parameter built directly names its call in errors:
``Int(low=10, high=2): low must be <= high, got low=10, high=2; swap them``. Built from a config
entry (:meth:`Space.from_dict`), the entry's path names it instead: ``space.units.low ...``.
"""

from __future__ import annotations

import dataclasses
import math
import reprlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from archtune._errors import InvalidSpaceError

__all__ = ["Choice", "Condition", "Fixed", "Float", "Int", "Param", "Scalar"]

Scalar: TypeAlias = "bool | int | float | str | None"
"""A value a parameter can take: what survives a YAML/JSON round trip unchanged."""

Condition: TypeAlias = "Mapping[str, tuple[Scalar, ...]]"
"""``{parent: allowed values}``: the parameter exists when every parent has an allowed value."""


_SHORT = reprlib.Repr()
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 8
_SHORT.maxstring = _SHORT.maxother = 40


def _normalise_when(when: Mapping[str, Any] | None) -> dict[str, tuple[Scalar, ...]]:
    if when is None:
        return {}
    if not isinstance(when, Mapping):
        raise InvalidSpaceError(
            "when",
            f"must be a mapping of parameter to value(s), got {when!r}; write e.g. "
            "when={'optimizer': 'sgd'}",
        )
    out: dict[str, tuple[Scalar, ...]] = {}
    for parent, allowed in when.items():
        if not isinstance(parent, str):
            raise InvalidSpaceError("when", f"keys must be parameter names, got {parent!r}")
        values = tuple(allowed) if isinstance(allowed, list | tuple) else (allowed,)
        if not values:
            raise InvalidSpaceError(f"when.{parent}", "must list at least one value, got []")
        out[parent] = values
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class _Base:
    when: Condition = field(default_factory=dict, kw_only=True)

    def __post_init__(self) -> None:
        given = dict(self.__dict__)  # before any field is normalised: the values as given
        try:
            object.__setattr__(self, "when", _normalise_when(self.when))
            self._validate()
        except InvalidSpaceError as exc:
            raise InvalidSpaceError(exc.path, exc.reason, call=self._call(given)) from None

    def _validate(self) -> None:
        """Check (and normalise) the fields; raise :class:`InvalidSpaceError` naming one."""

    def _call(self, given: Mapping[str, Any]) -> str:
        """The constructor call with the ``given`` values, for errors: ``Int(low=10, high=2)``.

        Arguments left at their defaults are left out.
        """
        shown = []
        for f in sorted(dataclasses.fields(self), key=lambda f: f.kw_only is True):
            value = given[f.name]
            if f.default is not dataclasses.MISSING:
                is_default = type(value) is type(f.default) and value == f.default
            elif f.default_factory is not dataclasses.MISSING:  # ``when``: empty by default
                is_default = isinstance(value, Mapping) and not value
            else:
                is_default = False
            if not is_default:
                shown.append(f"{f.name}={_SHORT.repr(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def _when_dict(self) -> dict[str, Any]:
        if not self.when:
            return {}
        return {"when": {k: v[0] if len(v) == 1 else list(v) for k, v in self.when.items()}}


@dataclass(frozen=True)
class Int(_Base):
    """An integer in ``[low, high]``, optionally on a log scale or a step grid.

    Example:
        >>> Int(16, 256, log=True).to_dict()
        {'type': 'int', 'low': 16, 'high': 256, 'log': True}
    """

    low: int
    high: int
    log: bool = False
    step: int = 1

    def _validate(self) -> None:
        for name in ("low", "high", "step"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                fix = "; use Float for a range of real numbers" if name != "step" else ""
                raise InvalidSpaceError(name, f"must be an integer, got {value!r}{fix}")
        if self.low > self.high:
            raise InvalidSpaceError(
                "low", f"must be <= high, got low={self.low}, high={self.high}; swap them"
            )
        if self.step < 1:
            raise InvalidSpaceError("step", f"must be an integer >= 1, got {self.step}")
        if self.log and self.low < 1:
            raise InvalidSpaceError(
                "low", f"must be >= 1 when log is true, got {self.low}; raise low or remove log"
            )
        if self.log and self.step != 1:
            raise InvalidSpaceError(
                "step", f"must be 1 when log is true, got {self.step}; remove step or log"
            )
        if (self.high - self.low) % self.step:
            fit = self.high - (self.high - self.low) % self.step
            raise InvalidSpaceError(
                "high",
                f"must be low plus a multiple of step ({self.step}), got high={self.high}; "
                f"use {fit} or {fit + self.step}",
            )

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a value this parameter can take."""
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        return self.low <= value <= self.high and (value - self.low) % self.step == 0

    def grid(self) -> list[Scalar]:
        """Every value, for grid search."""
        return list(range(self.low, self.high + 1, self.step))

    def to_dict(self) -> dict[str, Any]:
        """The plain-data (YAML/JSON) form."""
        out: dict[str, Any] = {"type": "int", "low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step != 1:
            out["step"] = self.step
        return out | self._when_dict()


@dataclass(frozen=True)
class Float(_Base):
    """A real number in ``[low, high]``, optionally on a log scale or a step grid.

    Example:
        >>> Float(1e-4, 1e-1, log=True).contains(0.01)
        True
    """

    low: float
    high: float
    log: bool = False
    step: float | None = None

    def _validate(self) -> None:
        for name in ("low", "high"):
            value = getattr(self, name)
            if not _is_number(value) or not math.isfinite(value):
                raise InvalidSpaceError(name, f"must be a finite number, got {value!r}")
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))
        if self.low > self.high:
            raise InvalidSpaceError(
                "low", f"must be <= high, got low={self.low:g}, high={self.high:g}; swap them"
            )
        if self.log and self.low <= 0:
            raise InvalidSpaceError(
                "low",
                f"must be > 0 when log is true, got {self.low:g}; raise low (e.g. to 1e-05) "
                "or remove log",
            )
        if self.step is not None:
            if not _is_number(self.step) or not self.step > 0:
                raise InvalidSpaceError("step", f"must be a number > 0, got {self.step!r}")
            if self.log:
                raise InvalidSpaceError(
                    "step", "cannot be set when log is true; remove step or log"
                )
            object.__setattr__(self, "step", float(self.step))
            n_steps = (self.high - self.low) / self.step
            if abs(n_steps - round(n_steps)) > 1e-8:
                raise InvalidSpaceError(
                    "high",
                    f"must be low plus a multiple of step ({self.step:g}), got "
                    f"high={self.high:g}; use {self.low + math.floor(n_steps) * self.step:g}",
                )

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a value this parameter can take (steps within 1e-8)."""
        if not _is_number(value) or not self.low <= value <= self.high:
            return False
        if self.step is None:
            return True
        k = (value - self.low) / self.step
        return bool(abs(k - round(k)) < 1e-8)

    def grid(self) -> list[Scalar]:
        """Every value on the step grid, for grid search."""
        if self.step is None:
            raise InvalidSpaceError(
                "step", "must be set for grid search (a float range has no finite grid)"
            )
        n = math.floor((self.high - self.low) / self.step + 1e-9)
        return [self.low + i * self.step for i in range(n + 1)]

    def to_dict(self) -> dict[str, Any]:
        """The plain-data (YAML/JSON) form."""
        out: dict[str, Any] = {"type": "float", "low": self.low, "high": self.high}
        if self.log:
            out["log"] = True
        if self.step is not None:
            out["step"] = self.step
        return out | self._when_dict()


@dataclass(frozen=True)
class Choice(_Base):
    """One of a list of options (strings, numbers, booleans or null).

    Example:
        >>> Choice(["sgd", "adam"]).contains("adam")
        True
    """

    options: Sequence[Scalar]

    def _validate(self) -> None:
        if isinstance(self.options, str) or not isinstance(self.options, Sequence):
            fix = (
                f"; for one option write [{self.options!r}]"
                if isinstance(self.options, str)
                else "; pass a list or tuple (sort a set first: it has no order)"
            )
            raise InvalidSpaceError("options", f"must be a list, got {self.options!r}{fix}")
        options = tuple(self.options)
        if not options:
            raise InvalidSpaceError("options", "must list at least one option, got []")
        for option in options:
            if not isinstance(option, bool | int | float | str | type(None)):
                raise InvalidSpaceError(
                    "options",
                    f"must hold strings, numbers, booleans or null, got {option!r}",
                )
        if len(set(map(repr, options))) != len(options):
            raise InvalidSpaceError(
                "options", f"must not repeat an option, got {list(options)}; remove the repeats"
            )
        object.__setattr__(self, "options", options)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one of the options (``1`` and ``True`` are told apart)."""
        return any(type(value) is type(o) and value == o for o in self.options)

    def grid(self) -> list[Scalar]:
        """Every option, for grid search."""
        return list(self.options)

    def to_dict(self) -> dict[str, Any]:
        """The plain-data (YAML/JSON) form."""
        return {"type": "choice", "options": list(self.options)} | self._when_dict()


@dataclass(frozen=True)
class Fixed(_Base):
    """A constant: part of every configuration, never searched.

    Example:
        >>> Fixed(20).to_dict()
        {'type': 'fixed', 'value': 20}
    """

    value: Scalar

    def _validate(self) -> None:
        if not isinstance(self.value, bool | int | float | str | type(None)):
            raise InvalidSpaceError(
                "value", f"must be a string, number, boolean or null, got {self.value!r}"
            )

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is the fixed value."""
        return type(value) is type(self.value) and value == self.value

    def grid(self) -> list[Scalar]:
        """The one value."""
        return [self.value]

    def to_dict(self) -> dict[str, Any]:
        """The plain-data (YAML/JSON) form."""
        return {"type": "fixed", "value": self.value} | self._when_dict()


Param: TypeAlias = "Int | Float | Choice | Fixed"
"""Any search-space parameter."""
