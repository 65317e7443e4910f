"""What a model family is: named knobs with a default space, and a builder of networks.

A family turns a flat configuration of ``model.*`` parameters into a
:class:`~archtune.arch.Network`. Each knob has a range in the family's default search space,
a default value (the family's default configuration) and a rule for the values the builder
accepts, which may be wider than the default range (a user may search ``model.depth`` up to 12).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from archtune.arch._errors import InfeasibleNetworkError, InvalidNetworkError
from archtune.arch._layers import Layer
from archtune.arch._network import HEAD_ACTIVATIONS, Head, HeadActivation, Network
from archtune.arch._shapes import Shape, infer_shapes
from archtune.space import Param, Scalar, Space

__all__ = [
    "PREFIX",
    "Builder",
    "Cheaper",
    "Family",
    "Knob",
    "ModelConfig",
    "Rule",
    "cap",
    "decrement",
    "halve",
    "int_rule",
    "number_rule",
    "one_of",
    "prefer",
    "rate_rule",
    "smaller_option",
    "tapered",
]

#: Every family parameter's name starts with this, so it never clashes with the recipe's.
PREFIX = "model."

_RANK_NAMES = {1: "(features,)", 2: "(length, channels)", 3: "(height, width, channels)"}


# --- what the builder accepts ---------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A check of the values a knob accepts, and how to say it in an error message."""

    what: str
    test: Callable[[object], bool]


def int_rule(minimum: int = 1) -> Rule:
    """Integers ``>= minimum`` (booleans are not integers here)."""
    return Rule(
        f"an integer >= {minimum}",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= minimum,
    )


def number_rule(low: float, high: float) -> Rule:
    """Numbers in ``[low, high]``."""
    return Rule(
        f"a number in [{low:g}, {high:g}]",
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high,
    )


def rate_rule(high: float = 1.0) -> Rule:
    """Numbers in ``[0, high)``, such as a dropout rate."""
    return Rule(
        f"a number in [0, {high:g})",
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < high,
    )


def one_of(options: tuple[Scalar, ...]) -> Rule:
    """One of ``options``, told apart by type as a space's choice does (``1`` is not ``True``)."""
    shown = ", ".join(map(repr, options))
    return Rule(f"one of {shown}", lambda v: any(type(v) is type(o) and v == o for o in options))


# --- how choose_family makes a configuration cheaper ----------------------------------------

Cheaper = Callable[[Scalar], "Scalar | None"]


def halve(low: int) -> Cheaper:
    """Halve an integer, not below ``low``; ``None`` once it is there."""

    def step(value: Scalar) -> Scalar | None:
        if not isinstance(value, int) or value <= low:
            return None
        return max(low, value // 2)

    return step


def decrement(low: int) -> Cheaper:
    """Subtract one from an integer, not below ``low``; ``None`` once it is there."""

    def step(value: Scalar) -> Scalar | None:
        if not isinstance(value, int) or value <= low:
            return None
        return value - 1

    return step


def smaller_option(options: tuple[int, ...]) -> Cheaper:
    """The next smaller of ``options``; ``None`` at the smallest."""

    def step(value: Scalar) -> Scalar | None:
        below = [o for o in options if isinstance(value, int) and o < value]
        return max(below) if below else None

    return step


def cap(limit: float) -> Cheaper:
    """Lower a number to ``limit``; ``None`` when it is not above it."""

    def step(value: Scalar) -> Scalar | None:
        above = isinstance(value, int | float) and not isinstance(value, bool) and value > limit
        return limit if above else None

    return step


def prefer(cheap: Scalar) -> Cheaper:
    """Switch to ``cheap``; ``None`` when the value already is it."""

    def step(value: Scalar) -> Scalar | None:
        return None if type(value) is type(cheap) and value == cheap else cheap

    return step


# --- knobs and configurations ---------------------------------------------------------------


@dataclass(frozen=True)
class Knob:
    """One parameter of a family.

    Attributes:
        name: The full name, e.g. ``"model.depth"``.
        param: Its range in the family's default search space.
        default: Its value in the default configuration, and for a configuration without it.
        rule: The values the builder accepts.
        meaning: What it does, for documentation.
        cheaper: One step towards a cheaper network, used by ``choose_family`` to fit a budget.
    """

    name: str
    param: Param
    default: Scalar
    rule: Rule
    meaning: str
    cheaper: Cheaper | None = None


@dataclass(frozen=True)
class ModelConfig:
    """A complete, checked configuration, read by short name (``depth`` for ``model.depth``)."""

    values: Mapping[str, Scalar]

    def _get(self, key: str) -> Scalar:
        return self.values[PREFIX + key]

    def get_int(self, key: str) -> int:
        """The integer value of ``model.<key>``."""
        value = self._get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{PREFIX}{key} is not an integer: {value!r}")
        return value

    def get_float(self, key: str) -> float:
        """The value of ``model.<key>`` as a float."""
        value = self._get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise TypeError(f"{PREFIX}{key} is not a number: {value!r}")
        return float(value)

    def get_str(self, key: str) -> str:
        """The string value of ``model.<key>``."""
        value = self._get(key)
        if not isinstance(value, str):
            raise TypeError(f"{PREFIX}{key} is not a string: {value!r}")
        return value

    def get_bool(self, key: str) -> bool:
        """The boolean value of ``model.<key>``."""
        value = self._get(key)
        if not isinstance(value, bool):
            raise TypeError(f"{PREFIX}{key} is not a boolean: {value!r}")
        return value


def tapered(width: int, taper: float, n: int) -> list[int]:
    """Return ``n`` widths: ``width * taper**i``, rounded half up, at least 1.

    Example:
        >>> tapered(32, 0.5, 4)
        [32, 16, 8, 4]
    """
    return [max(1, math.floor(width * taper**i + 0.5)) for i in range(n)]


Builder = Callable[[ModelConfig, Shape], list[Layer]]


@dataclass(frozen=True)
class Family:
    """A model family: a builder of networks from a configuration, and its default space.

    Attributes:
        name: The family's name, e.g. ``"cnn2d"``.
        summary: One line on its structure.
        data: The data it suits, for messages: ``"images"``, ``"sequences"`` or ``"tabular"``.
        input_ranks: The input ranks it takes (1: features, 2: sequences, 3: images).
        natural_input: The input shape of the dataset its default configuration is made for.
        natural_dataset: That dataset's name in :mod:`archtune.data`.
        knobs: Its parameters.
        layers: Builds the layers (without the head) from a complete configuration.
        shrink_order: The knobs ``choose_family`` makes cheaper, first to last (also the ladder
            of starting points a search of accuracy against a cost begins with).

    Example:
        >>> from archtune.arch.families import get_family
        >>> mlp = get_family("mlp")
        >>> net = mlp.build({"model.depth": 1}, input_shape=(64,), n_outputs=10,
        ...                 head_activation="softmax")
        >>> [layer.kind for layer in net.layers]
        ['dense', 'dropout']
    """

    name: str
    summary: str
    data: str
    input_ranks: tuple[int, ...]
    natural_input: tuple[int, ...]
    natural_dataset: str
    knobs: tuple[Knob, ...]
    layers: Builder = dataclasses.field(repr=False)
    shrink_order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [knob.name for knob in self.knobs]
        if len(set(names)) != len(names) or not all(n.startswith(PREFIX) for n in names):
            raise ValueError(f"knob names must be unique and start with {PREFIX!r}: {names}")
        unknown = sorted(set(self.shrink_order) - set(names))
        if unknown:
            raise ValueError(f"shrink_order names unknown knobs {unknown}")

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The full names of the family's parameters."""
        return tuple(knob.name for knob in self.knobs)

    def default_space(self) -> dict[str, dict[str, Any]]:
        """Return the default search space in plain-dict form (a fresh dict on each call)."""
        return {knob.name: knob.param.to_dict() for knob in self.knobs}

    def space(self) -> Space:
        """Return the default search space as a :class:`~archtune.space.Space`."""
        return Space({knob.name: knob.param for knob in self.knobs})

    def default_config(self) -> dict[str, Scalar]:
        """Return the default configuration: a point of the default space (active keys only)."""
        space = self.space()
        defaults = {knob.name: knob.default for knob in self.knobs}
        config: dict[str, Scalar] = {}
        for name in space:
            if space.is_active(name, config):
                config[name] = defaults[name]
        return config

    def complete(self, config: Mapping[str, Any]) -> dict[str, Scalar]:
        """Return every parameter's value: ``config``'s ``model.*`` keys, else the defaults.

        Keys outside ``model.*`` (the recipe's ``lr``, ``batch_size``, ...) are ignored.

        Raises:
            InvalidNetworkError: ``config`` is not a mapping, has an unknown ``model.*`` key,
                or a value the family cannot build.
        """
        if not isinstance(config, Mapping):
            raise InvalidNetworkError(
                "model", f"configuration must be a mapping of parameters, got {config!r}"
            )
        allowed = self.parameter_names
        unknown = sorted(
            key
            for key in config
            if isinstance(key, str) and key.startswith(PREFIX) and key not in allowed
        )
        if unknown:
            raise InvalidNetworkError(
                unknown[0],
                f"is not a parameter of the {self.name!r} family; allowed: {', '.join(allowed)}",
            )
        values: dict[str, Scalar] = {}
        for knob in self.knobs:
            if knob.name not in config:
                values[knob.name] = knob.default
                continue
            value = config[knob.name]
            if not knob.rule.test(value):
                raise InvalidNetworkError(knob.name, f"must be {knob.rule.what}, got {value!r}")
            values[knob.name] = value
        return values

    def build(
        self,
        config: Mapping[str, Any],
        *,
        input_shape: tuple[int, ...],
        n_outputs: int,
        head_activation: str,
    ) -> Network:
        """Build the network that ``config`` describes, and check that its layers fit.

        Args:
            config: ``model.*`` parameters; missing ones take the default configuration's
                values, other keys are ignored.
            input_shape: One example's shape, channels-last, without the batch axis.
            n_outputs: The head's units (classes, or regression targets).
            head_activation: ``"softmax"``, ``"sigmoid"`` or ``"none"``.

        Raises:
            InvalidNetworkError: An unknown ``model.*`` key, or a malformed value, shape or
                head.
            InfeasibleNetworkError: The input has a rank the family does not take, or the
                layers do not fit together (e.g. more pooling stages than the input allows).
        """
        if head_activation not in HEAD_ACTIVATIONS:
            allowed = ", ".join(map(repr, HEAD_ACTIVATIONS))
            raise InvalidNetworkError(
                "head_activation", f"must be one of {allowed}, got {head_activation!r}"
            )
        shape = tuple(input_shape) if isinstance(input_shape, list) else input_shape
        empty = Network(
            shape,
            layers=(),
            head=Head(n_outputs, activation=cast(HeadActivation, head_activation)),
            name=self.name,
        )
        values = self.complete(config)
        if len(shape) not in self.input_ranks:
            wanted = " or ".join(_RANK_NAMES[rank] for rank in self.input_ranks)
            raise InfeasibleNetworkError(
                "input",
                self.name,
                shape,
                f"the {self.name!r} family takes {self.data} shaped {wanted}, got rank "
                f"{len(shape)}",
            )
        layers = self.layers(ModelConfig(values), shape)
        network = dataclasses.replace(empty, layers=tuple(layers))
        infer_shapes(network)
        return network

    def smaller(self, config: Mapping[str, Any]) -> dict[str, Scalar] | None:
        """Return a configuration one step cheaper than ``config``, or ``None`` at the floor.

        The first knob of ``shrink_order`` that can get cheaper does; the result keeps only
        the parameters active in the default space.
        """
        values = self.complete(config)
        active = self._active(values)
        knobs = {knob.name: knob for knob in self.knobs}
        for name in self.shrink_order:
            cheaper = knobs[name].cheaper
            if cheaper is None or name not in active:
                continue
            value = cheaper(values[name])
            if value is not None:
                return self._active({**values, name: value})
        return None

    def _active(self, values: Mapping[str, Scalar]) -> dict[str, Scalar]:
        space = self.space()
        config: dict[str, Scalar] = {}
        for name in space:
            if space.is_active(name, config):
                config[name] = values[name]
        return config
