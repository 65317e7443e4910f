"""KerasTuner's ``HyperParameters``, recording a search space or replaying a configuration.

Shared by :mod:`archtune.interop.kerastuner` (the driver: :func:`discover_space`) and
:mod:`archtune.interop._kt_objective` (the workers: ``build(hp)`` with the trial's values).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from archtune._errors import ConfigError, InvalidSpaceError
from archtune.space import Choice, Fixed, Float, Int, Param, Scalar, Space

if TYPE_CHECKING:
    import optuna

__all__ = ["HyperParameters", "alternatives", "space_of"]

_SAMPLINGS = ("linear", "log")
_EXPLORE_ALL_INTS = 8  # an Int with at most this many values is explored value by value


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _as_values(values: Any) -> tuple[Scalar, ...]:
    return tuple(values) if isinstance(values, (list, tuple)) else (values,)


class HyperParameters:
    """KerasTuner's ``HyperParameters``, with its method names and signatures.

    Each method declares a hyperparameter and returns its value in this run of ``build``:
    the default (a plain ``HyperParameters()``, as in KerasTuner), the trial's value in a worker
    (:meth:`from_config`), or a value suggested by an Optuna trial (:meth:`from_trial`). A
    hyperparameter whose conditions do not hold (``conditional_scope``, ``parent_values``)
    returns ``None``, as in KerasTuner.

    Example:
        >>> hp = HyperParameters()
        >>> hp.Int("units", 32, 256, step=32)
        32
        >>> with hp.conditional_scope("units", [64, 128]):
        ...     print(hp.Float("dropout", 0.0, 0.5))
        None
        >>> sorted(hp.to_space())
        ['dropout', 'units']
    """

    def __init__(self) -> None:
        self._params: dict[str, Param] = {}
        self._values: dict[str, Scalar] = {}
        self._scopes: list[tuple[str, tuple[Scalar, ...]]] = []
        self._given: Mapping[str, Any] = {}
        self._replay = False
        self._trial: optuna.Trial | None = None
        self._missing: list[str] = []

    # -- how values are chosen ------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HyperParameters:
        """Replay ``build`` with a trial's configuration (what archtune's workers do).

        A hyperparameter missing from ``config`` takes its default and is listed in
        :attr:`missing` (its space was not discovered).
        """
        hp = cls()
        hp._given = dict(config)
        hp._replay = True
        return hp

    @classmethod
    def from_trial(cls, trial: optuna.Trial) -> HyperParameters:
        """Define-by-run: every declaration suggests its value from an Optuna trial."""
        hp = cls()
        hp._trial = trial
        return hp

    @classmethod
    def _with_overrides(cls, overrides: Mapping[str, Scalar]) -> HyperParameters:
        hp = cls()
        hp._given = dict(overrides)
        return hp

    # -- KerasTuner's API -----------------------------------------------------------------
    def Int(
        self,
        name: str,
        min_value: int,
        max_value: int,
        step: int | None = None,
        sampling: str | None = "linear",
        default: int | None = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> int | None:
        """An integer in ``[min_value, max_value]`` (on the ``step`` grid; ``log`` sampling).

        ``max_value`` off the grid is lowered onto it, as KerasTuner does. The default is
        ``min_value``.
        """
        where = f"hp.Int({name!r})"
        for field, value in (("min_value", min_value), ("max_value", max_value)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"kerastuner: {where} {field} must be an integer, got {value!r}")
        log = self._log(where, sampling)
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 1):
            raise ConfigError(f"kerastuner: {where} step must be an integer >= 1, got {step!r}")
        if log and step not in (None, 1):
            raise ConfigError(
                f"kerastuner: {where} step must be None with sampling='log', got {step}; "
                "archtune samples log-scaled integers without a step"
            )
        if min_value > max_value:
            raise ConfigError(
                f"kerastuner: {where} min_value must be <= max_value, got {min_value} > "
                f"{max_value}"
            )
        grid = step or 1
        high = min_value + (max_value - min_value) // grid * grid
        param = self._param(where, lambda: Int(min_value, high, log=log, step=grid))
        value = self._declare(
            name, param, min_value if default is None else default, parent_name, parent_values
        )
        return None if value is None else int(value)

    def Float(
        self,
        name: str,
        min_value: float,
        max_value: float,
        step: float | None = None,
        sampling: str | None = "linear",
        default: float | None = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> float | None:
        """A real number in ``[min_value, max_value]``; the default is ``min_value``."""
        where = f"hp.Float({name!r})"
        log = self._log(where, sampling)
        if log and step is not None:
            raise ConfigError(
                f"kerastuner: {where} step must be None with sampling='log', got {step}"
            )
        high = max_value
        if step is not None and isinstance(step, (int, float)) and step > 0:
            n_steps = int((max_value - min_value) / step + 1e-9)
            high = min_value + n_steps * step
        param = self._param(where, lambda: Float(min_value, high, log=log, step=step))
        value = self._declare(
            name, param, min_value if default is None else default, parent_name, parent_values
        )
        return None if value is None else float(value)

    def Choice(
        self,
        name: str,
        values: Sequence[Scalar],
        ordered: bool | None = None,
        default: Scalar = None,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> Any:
        """One of ``values`` (all of one type); the default is the first.

        ``ordered`` is accepted and not used: archtune's samplers treat choices as categories.
        """
        where = f"hp.Choice({name!r})"
        options = tuple(values) if isinstance(values, (list, tuple)) else ()
        if not options:
            raise ConfigError(
                f"kerastuner: {where} values must be a non-empty list, got {values!r}"
            )
        if len({type(v) for v in options}) > 1:
            raise ConfigError(
                f"kerastuner: {where} values must all have one type, got {list(options)}"
            )
        param = self._param(where, lambda: Choice(options))
        fallback = options[0] if default is None else default
        return self._declare(name, param, fallback, parent_name, parent_values)

    def Boolean(
        self,
        name: str,
        default: bool = False,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> bool | None:
        """``True`` or ``False``; the default is ``False``."""
        value = self._declare(name, Choice((False, True)), default, parent_name, parent_values)
        return None if value is None else bool(value)

    def Fixed(
        self,
        name: str,
        value: Scalar,
        parent_name: str | None = None,
        parent_values: Any = None,
    ) -> Any:
        """A constant: part of every configuration, never searched."""
        param = self._param(f"hp.Fixed({name!r})", lambda: Fixed(value))
        return self._declare(name, param, value, parent_name, parent_values)

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Hyperparameters declared inside exist only when ``parent_name`` is in ``parent_values``.

        Raises:
            ConfigError: ``parent_name`` was not declared before.
        """
        self._check_parent(f"conditional_scope({parent_name!r})", parent_name)
        self._scopes.append((parent_name, _as_values(parent_values)))
        try:
            yield
        finally:
            self._scopes.pop()

    def get(self, name: str) -> Any:
        """The value of an active hyperparameter.

        Raises:
            KeyError: ``name`` was never declared.
            ValueError: ``name`` is declared but inactive (its conditions do not hold).
        """
        if name in self._values:
            return self._values[name]
        if name in self._params:
            raise ValueError(f"kerastuner: hyperparameter {name!r} is currently inactive")
        raise KeyError(f"kerastuner: hyperparameter {name!r} does not exist")

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._params

    @property
    def values(self) -> dict[str, Any]:
        """The active hyperparameters' values, by name."""
        return dict(self._values)

    @property
    def missing(self) -> list[str]:
        """Names a :meth:`from_config` replay did not find in the configuration."""
        return list(self._missing)

    def to_space(self) -> Space:
        """The declared hyperparameters as an archtune :class:`~archtune.space.Space`.

        Raises:
            ConfigError: A condition refers to a float or to values its parent cannot take.
        """
        return space_of(self._params)

    # -- internals ------------------------------------------------------------------------
    @staticmethod
    def _log(where: str, sampling: str | None) -> bool:
        mode = "linear" if sampling is None else str(sampling).lower()
        if mode not in _SAMPLINGS:
            raise ConfigError(
                f"kerastuner: {where} sampling must be 'linear' or 'log', got {sampling!r}"
                + ("; 'reverse_log' has no archtune equivalent" if mode == "reverse_log" else "")
            )
        return mode == "log"

    @staticmethod
    def _param(where: str, make: Callable[[], Param]) -> Param:
        try:
            return make()
        except InvalidSpaceError as exc:
            raise ConfigError(f"kerastuner: {where} {exc.path} {exc.reason}") from None

    def _check_parent(self, where: str, parent: str) -> None:
        if parent not in self._params:
            known = ", ".join(self._params) or "none yet"
            raise ConfigError(
                f"kerastuner: {where} parent_name must name a hyperparameter declared before, "
                f"got {parent!r} (declared: {known})"
            )

    def _conditions(
        self, where: str, parent_name: str | None, parent_values: Any
    ) -> dict[str, tuple[Scalar, ...]]:
        scopes = list(self._scopes)
        if parent_name is not None:
            self._check_parent(where, parent_name)
            scopes.append((parent_name, _as_values(parent_values)))
        when: dict[str, tuple[Scalar, ...]] = {}
        for parent, allowed in scopes:
            if parent in when:  # nested scopes on one parent: both must hold
                allowed = tuple(v for v in when[parent] if any(_same(v, a) for a in allowed))
            when[parent] = allowed
        return when

    def _active(self, when: Mapping[str, tuple[Scalar, ...]]) -> bool:
        return all(
            parent in self._values and any(_same(self._values[parent], a) for a in allowed)
            for parent, allowed in when.items()
        )

    def _record(self, name: str, param: Param) -> None:
        known = self._params.get(name)
        if known is None:
            self._params[name] = param
            return
        if dataclasses.replace(known, when={}) != dataclasses.replace(param, when={}):
            raise ConfigError(
                f"kerastuner: hyperparameter {name!r} must be declared the same way each time, "
                f"got {_describe(known)} and {_describe(param)}; give them different names"
            )
        self._params[name] = dataclasses.replace(known, when=_merge_when(known.when, param.when))

    def _declare(
        self,
        name: str,
        param: Param,
        default: Any,
        parent_name: str | None,
        parent_values: Any,
    ) -> Any:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"kerastuner: name must be a non-empty string, got {name!r}")
        if not param.contains(default):
            raise ConfigError(
                f"kerastuner: hp {name!r} default must lie in {param.to_dict()}, got {default!r}"
            )
        when = self._conditions(f"hp {name!r}", parent_name, parent_values)
        self._record(name, dataclasses.replace(param, when=when))
        if not self._active(when):
            self._values.pop(name, None)
            return None
        if name in self._values:  # declared again in this run: the same value
            return self._values[name]
        value = self._choose(name, param, default)
        self._values[name] = value
        return value

    def _choose(self, name: str, param: Param, default: Any) -> Any:
        if self._trial is not None:
            return _suggest(self._trial, name, param)
        if name in self._given and (self._replay or param.contains(self._given[name])):
            return self._given[name]
        if self._replay and not isinstance(param, Fixed):
            self._missing.append(name)
        return default


def _describe(param: Param) -> str:
    data = param.to_dict()
    data.pop("when", None)
    return str(data)


def _merge_when(
    first: Mapping[str, tuple[Scalar, ...]], second: Mapping[str, tuple[Scalar, ...]]
) -> dict[str, tuple[Scalar, ...]]:
    """The condition of a name declared under two conditions: either may hold.

    Conditions on the same parents merge by their allowed values; otherwise the name exists
    always (a space condition is a conjunction and cannot say "either").
    """
    if set(first) != set(second) or len(first) > 1:
        return {}
    merged: dict[str, tuple[Scalar, ...]] = {}
    for parent, allowed in first.items():
        values = list(allowed)
        values += [v for v in second[parent] if not any(_same(v, a) for a in values)]
        merged[parent] = tuple(values)
    return merged


def _suggest(trial: optuna.Trial, name: str, param: Param) -> Any:
    if isinstance(param, Fixed):
        return param.value
    if isinstance(param, Int):
        return trial.suggest_int(name, param.low, param.high, step=param.step, log=param.log)
    if isinstance(param, Float):
        return trial.suggest_float(name, param.low, param.high, step=param.step, log=param.log)
    return trial.suggest_categorical(name, list(param.options))


def space_of(params: Mapping[str, Param]) -> Space:
    try:
        return Space(params)
    except InvalidSpaceError as exc:
        raise ConfigError(
            f"kerastuner: the discovered space is invalid: {exc.path} {exc.reason}; a "
            "conditional_scope's parent must be a Choice, Boolean, Int or Fixed, and its "
            "values ones the parent can take"
        ) from None


# -- discovery -----------------------------------------------------------------------------


def alternatives(param: Param, used: Scalar) -> list[Scalar]:
    """Other values worth a build: every option, or an Int's ends (every value if few)."""
    if isinstance(param, Choice):
        candidates = list(param.options)
    elif isinstance(param, Int):
        n_values = (param.high - param.low) // param.step + 1
        candidates = param.grid() if n_values <= _EXPLORE_ALL_INTS else [param.low, param.high]
    else:
        return []
    return [value for value in candidates if not _same(value, used)]
