"""A search space: named parameters, their conditions, and their Optuna form."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import yaml

from archtune._errors import InvalidSpaceError
from archtune.space._params import Choice, Fixed, Float, Int, Param, Scalar

if TYPE_CHECKING:
    import optuna

__all__ = ["Space", "param_from_dict"]

_PARAM_TYPES: dict[str, type[Param]] = {
    "int": Int,
    "float": Float,
    "choice": Choice,
    "fixed": Fixed,
}
_PARAM_KEYS: dict[str, tuple[str, ...]] = {
    "int": ("type", "low", "high", "log", "step", "when"),
    "float": ("type", "low", "high", "log", "step", "when"),
    "choice": ("type", "options", "when"),
    "fixed": ("type", "value", "when"),
}


class Space(Mapping[str, Param]):
    """An ordered, validated mapping of parameter names to parameters.

    The order puts every parameter after the parameters its ``when`` condition refers to, so a
    configuration can be sampled in one pass. Spaces are plain data: :meth:`to_dict` and
    :meth:`from_dict` (and their YAML/JSON forms) round-trip exactly.

    Example:
        >>> space = Space({
        ...     "optimizer": Choice(["sgd", "adam"]),
        ...     "momentum": Float(0.0, 0.99, when={"optimizer": "sgd"}),
        ... })
        >>> space.is_active("momentum", {"optimizer": "adam"})
        False
    """

    def __init__(self, params: Mapping[str, Param]) -> None:
        for name, param in params.items():
            if not isinstance(name, str) or not name:
                raise InvalidSpaceError("space", f"names must be non-empty strings, got {name!r}")
            if not isinstance(param, Int | Float | Choice | Fixed):
                raise InvalidSpaceError(
                    name, f"must be an Int, Float, Choice or Fixed, got {param!r}{_fix(param)}"
                )
        self._params = _ordered(dict(params))

    # -- Mapping --------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Space) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def __repr__(self) -> str:
        return f"Space({self._params!r})"

    # -- Conditions and validation --------------------------------------------------------
    def is_active(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether parameter ``name`` exists given the values chosen so far in ``config``."""
        for parent, allowed in self._params[name].when.items():
            if parent not in config or not any(
                type(config[parent]) is type(a) and config[parent] == a for a in allowed
            ):
                return False
        return True

    def check_config(self, config: Mapping[str, Any]) -> None:
        """Raise :class:`InvalidSpaceError` unless ``config`` is a configuration of this space.

        A configuration holds every active parameter with a value it can take, and nothing else.
        """
        for name, param in self._params.items():
            active = self.is_active(name, config)
            if active and name not in config:
                raise InvalidSpaceError(name, "is active but missing from the configuration")
            if not active and name in config:
                raise InvalidSpaceError(name, "is inactive (its `when` does not hold) but set")
            if active and not param.contains(config[name]):
                raise InvalidSpaceError(
                    name, f"must lie in {param.to_dict()}, got {config[name]!r}"
                )
        unknown = set(config) - set(self._params)
        if unknown:
            raise InvalidSpaceError(
                sorted(unknown)[0], f"is not a parameter of the space ({', '.join(self)})"
            )

    # -- Optuna ---------------------------------------------------------------------------
    def sample(self, trial: optuna.Trial) -> dict[str, Scalar]:
        """Suggest one configuration through an Optuna trial (define-by-run, in order).

        Only active parameters are suggested; fixed ones are added without being suggested, so
        Optuna sees exactly the searched dimensions.
        """
        config: dict[str, Scalar] = {}
        for name, param in self._params.items():
            if not self.is_active(name, config):
                continue
            if isinstance(param, Fixed):
                config[name] = param.value
            elif isinstance(param, Int):
                config[name] = trial.suggest_int(
                    name, param.low, param.high, step=param.step, log=param.log
                )
            elif isinstance(param, Float):
                config[name] = trial.suggest_float(
                    name, param.low, param.high, step=param.step, log=param.log
                )
            else:
                config[name] = trial.suggest_categorical(name, list(param.options))
        return config

    def complete(self, params: Mapping[str, Any]) -> dict[str, Scalar]:
        """The full configuration from a trial's searched ``params``: adds the fixed values."""
        config: dict[str, Scalar] = {}
        for name, param in self._params.items():
            if not self.is_active(name, config):
                continue
            config[name] = param.value if isinstance(param, Fixed) else params[name]
        return config

    def grid(self) -> dict[str, list[Scalar]]:
        """The values of every searched parameter, for Optuna's ``GridSampler``."""
        grid: dict[str, list[Scalar]] = {}
        for name, param in self._params.items():
            if isinstance(param, Fixed):
                continue
            try:
                grid[name] = param.grid()
            except InvalidSpaceError as exc:
                raise InvalidSpaceError(f"{name}.{exc.path}", exc.reason) from None
        return grid

    # -- Plain data -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The plain-data form: ``{name: {type: ..., ...}}``."""
        return {name: param.to_dict() for name, param in self._params.items()}

    @classmethod
    def from_dict(cls, data: Any, *, path: str = "space") -> Space:
        """Build a space from its plain-data form, with errors that name the field path.

        Besides the full ``{type: ...}`` form, a bare list is a choice and a bare scalar is a
        fixed value.

        Raises:
            InvalidSpaceError: ``path`` names the entry, e.g. ``space.lr.low``.
        """
        if isinstance(data, Space):
            return data
        if not isinstance(data, Mapping):
            raise InvalidSpaceError(path, f"must be a mapping of parameter names, got {data!r}")
        params: dict[str, Param] = {}
        for name, spec in data.items():
            if isinstance(spec, Int | Float | Choice | Fixed):
                params[name] = spec
            else:
                params[name] = param_from_dict(spec, path=f"{path}.{name}")
        try:
            return cls(params)
        except InvalidSpaceError as exc:
            raise InvalidSpaceError(f"{path}.{exc.path}", exc.reason) from None

    def to_yaml(self) -> str:
        """The YAML form."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> Space:
        """Parse the YAML form."""
        return cls.from_dict(yaml.safe_load(text))

    def to_json(self) -> str:
        """The JSON form."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Space:
        """Parse the JSON form."""
        return cls.from_dict(json.loads(text))


def param_from_dict(spec: Any, *, path: str) -> Param:
    """Parse one parameter's plain-data form (or shorthand); ``path`` names it in errors.

    Its ``when`` is not checked against other parameters here; :class:`Space` does that.
    """
    if isinstance(spec, list):
        spec = {"type": "choice", "options": spec}
    elif not isinstance(spec, Mapping):
        spec = {"type": "fixed", "value": spec}
    kind = spec.get("type")
    if kind not in _PARAM_TYPES:
        allowed = ", ".join(_PARAM_TYPES)
        raise InvalidSpaceError(f"{path}.type", f"must be one of {allowed}, got {kind!r}")
    unknown = [key for key in spec if key not in _PARAM_KEYS[kind]]
    if unknown:
        allowed = ", ".join(_PARAM_KEYS[kind])
        raise InvalidSpaceError(
            f"{path}.{unknown[0]}", f"is not a field of a {kind} parameter; allowed: {allowed}"
        )
    required = {"int": ("low", "high"), "float": ("low", "high"), "choice": ("options",)}
    for key in (*required.get(kind, ()), *(("value",) if kind == "fixed" else ())):
        if key not in spec:
            raise InvalidSpaceError(f"{path}.{key}", f"is required for a {kind} parameter")
    kwargs = {key: value for key, value in spec.items() if key != "type"}
    try:
        return _PARAM_TYPES[kind](**kwargs)
    except InvalidSpaceError as exc:
        raise InvalidSpaceError(f"{path}.{exc.path}", exc.reason) from None


def _fix(value: Any) -> str:
    """How to write ``value``, which is not a parameter, as one (``Space({"lr": 0.1})``)."""
    if isinstance(value, Mapping):
        return "; for the plain-data form ({type: ...}) use Space.from_dict"
    if isinstance(value, list | tuple):
        return f"; for a choice write Choice({list(value)!r})"
    if isinstance(value, bool | int | float | str | type(None)):
        return f"; for a constant write Fixed({value!r})"
    return ""


def _ordered(params: dict[str, Param]) -> dict[str, Param]:
    """Order parameters so each comes after its condition's parents; reject bad conditions."""
    for name, param in params.items():
        for parent, allowed in param.when.items():
            if parent == name:
                raise InvalidSpaceError(f"{name}.when", "must not refer to the parameter itself")
            if parent not in params:
                known = ", ".join(n for n in params if n != name)
                raise InvalidSpaceError(
                    f"{name}.when", f"refers to unknown parameter {parent!r}; known: {known}"
                )
            parent_param = params[parent]
            if isinstance(parent_param, Float):
                raise InvalidSpaceError(
                    f"{name}.when.{parent}",
                    "must refer to a choice, int or fixed parameter, got a float parameter",
                )
            for value in allowed:
                if not parent_param.contains(value):
                    raise InvalidSpaceError(
                        f"{name}.when.{parent}",
                        f"must be values {parent!r} can take ({parent_param.to_dict()}), "
                        f"got {value!r}",
                    )
    ordered: dict[str, Param] = {}
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            raise InvalidSpaceError(f"{name}.when", "conditions form a cycle")
        visiting.add(name)
        for parent in params[name].when:
            visit(parent)
        visiting.discard(name)
        ordered[name] = params[name]

    for name in params:
        visit(name)
    return ordered
