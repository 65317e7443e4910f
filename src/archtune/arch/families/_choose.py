"""``family: auto``: choose a family from the data's shape and a budget, and say why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from archtune._errors import ConfigError
from archtune.arch._cost import estimate_cost
from archtune.arch._errors import InfeasibleNetworkError
from archtune.arch.families._base import Family
from archtune.arch.families._cnn1d import CNN1D
from archtune.arch.families._cnn2d import CNN2D
from archtune.arch.families._mlp import MLP
from archtune.arch.families._resnet import RESNET
from archtune.arch.families._rnn import RNN
from archtune.arch.families._transformer import TRANSFORMER
from archtune.space import Scalar

__all__ = ["LARGE_IMAGE_SIDE", "FamilyChoice", "Task", "choose_family"]

Task = Literal["classification", "regression"]
_TASKS: tuple[str, ...] = ("classification", "regression")

#: Images at least this many pixels on their shorter side get ``resnet`` when it fits.
LARGE_IMAGE_SIDE = 32


@dataclass(frozen=True)
class FamilyChoice:
    """The family ``choose_family`` chose, the configuration to start from, and why.

    Attributes:
        family: The chosen family.
        reason: Why, in sentences a person can read: the data's kind, the family's strengths,
            and how the budget was met (a cheaper family, or a shrunk configuration).
        config: The ``model.*`` configuration that fits: the family's default configuration,
            or a shrunk one; it lies in the family's default space.
        params: Its trainable parameters on the given input.
        flops: Its forward FLOPs for one example on the given input.
    """

    family: Family
    reason: str
    config: dict[str, Scalar] = field(default_factory=dict)
    params: int = 0
    flops: int = 0


@dataclass(frozen=True)
class _Trial:
    """One configuration measured against the budget."""

    family: Family
    config: dict[str, Scalar]
    params: int = 0
    flops: int = 0
    infeasible: str = ""

    def over(self, max_params: int | None, max_flops: float | None) -> str:
        """Why it does not fit (``""`` when it does)."""
        if self.infeasible:
            return f"does not fit this input ({self.infeasible})"
        over = []
        if max_params is not None and self.params > max_params:
            over.append(f"{self.params:,} parameters, over max_params={max_params:,}")
        if max_flops is not None and self.flops > max_flops:
            over.append(f"{self.flops:,} FLOPs, over max_flops={max_flops:,.0f}")
        return "has " + " and ".join(over) if over else ""

    def cost(self) -> str:
        return f"{self.params:,} parameters and {self.flops:,} FLOPs"


def _check_shape(input_shape: object) -> tuple[int, ...]:
    shape = tuple(input_shape) if isinstance(input_shape, list | tuple) else None
    if (
        shape is None
        or not 1 <= len(shape) <= 3
        or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape)
    ):
        raise ConfigError(
            "choose_family: input_shape must be (features,), (length, channels) or (height, "
            f"width, channels) with integers >= 1, got {input_shape!r}"
        )
    return shape


def _check_limit(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
        raise ConfigError(f"choose_family: {name} must be a number >= 1 or None, got {value!r}")


def _candidates(shape: tuple[int, ...]) -> tuple[list[Family], str]:
    """The families to try, best first, and why, from the input's rank."""
    if len(shape) == 3:
        side = min(shape[:2])
        if side >= LARGE_IMAGE_SIDE:
            return [RESNET, CNN2D], (
                f"input {shape} is an image (height, width, channels) at least "
                f"{LARGE_IMAGE_SIDE} pixels a side: resnet, whose residual stages train deeper "
                "networks well at that size"
            )
        return [CNN2D, RESNET], (
            f"input {shape} is an image (height, width, channels) under {LARGE_IMAGE_SIDE} "
            "pixels a side: cnn2d, a few convolution and pooling blocks that train fast and "
            "well at that size (resnet pays off on larger images)"
        )
    if len(shape) == 2:
        return [CNN1D, RNN, TRANSFORMER], (
            f"input {shape} is a sequence (length, channels): cnn1d, convolutions over "
            "positions, fast to train and a strong baseline for signals and short sequences "
            "(rnn, GRU or LSTM, suits order that spans the whole sequence but trains step by "
            "step; transformer suits long contexts and plenty of data; ask for either by name)"
        )
    return [MLP], f"input {shape} is tabular (features,): mlp, dense layers"


def _measure(
    family: Family,
    config: dict[str, Scalar],
    *,
    shape: tuple[int, ...],
    n_outputs: int,
    head_activation: str,
) -> _Trial:
    try:
        network = family.build(
            config, input_shape=shape, n_outputs=n_outputs, head_activation=head_activation
        )
    except InfeasibleNetworkError as err:
        return _Trial(family, config, infeasible=f"{err.path}: {err.reason}")
    cost = estimate_cost(network)
    return _Trial(family, config, cost.params, cost.flops)


def _changes(before: dict[str, Scalar], after: dict[str, Scalar]) -> str:
    return ", ".join(
        f"{key} {before.get(key)!r} -> {value!r}"
        for key, value in after.items()
        if before.get(key) != value
    )


def _choice(trial: _Trial, sentences: list[str]) -> FamilyChoice:
    reason = " ".join(sentences)
    return FamilyChoice(trial.family, reason, dict(trial.config), trial.params, trial.flops)


def _budget(max_params: int | None, max_flops: float | None) -> str:
    parts = []
    if max_params is not None:
        parts.append(f"max_params={max_params:,}")
    if max_flops is not None:
        parts.append(f"max_flops={max_flops:,.0f}")
    return ", ".join(parts)


def choose_family(
    input_shape: Sequence[int],
    *,
    task: Task,
    n_outputs: int | None = None,
    max_params: int | None = None,
    max_flops: float | None = None,
) -> FamilyChoice:
    """Choose a family for data of ``input_shape`` within a budget, and say why.

    Images ``(height, width, channels)`` get ``cnn2d``, or ``resnet`` when they are at least
    :data:`LARGE_IMAGE_SIDE` pixels a side and its default configuration fits; sequences
    ``(length, channels)`` get ``cnn1d``; tabular ``(features,)`` gets ``mlp``. The preferred
    family's default configuration is measured with :func:`~archtune.arch.estimate_cost`; when
    it is over the budget (or does not fit the input), the next family's default is tried, then
    each family's configuration is made cheaper step by step (``Family.smaller``) until it fits.

    Args:
        input_shape: One example's shape, channels-last, without the batch axis.
        task: ``"classification"`` (softmax head) or ``"regression"``.
        n_outputs: The head's units, for the cost; default 10 for classification, else 1.
        max_params: The most trainable parameters allowed, or ``None``.
        max_flops: The most forward FLOPs per example allowed, or ``None``.

    Example:
        >>> choice = choose_family((28, 28, 1), task="classification")
        >>> choice.family.name
        'cnn2d'

    Raises:
        ConfigError: An argument is malformed, or no family fits the budget; the message names
            the smallest configuration tried and its cost.
    """
    shape = _check_shape(input_shape)
    if task not in _TASKS:
        raise ConfigError(f"choose_family: task must be one of {_TASKS}, got {task!r}")
    if n_outputs is None:
        n_outputs = 10 if task == "classification" else 1
    elif isinstance(n_outputs, bool) or not isinstance(n_outputs, int) or n_outputs < 1:
        raise ConfigError(f"choose_family: n_outputs must be an integer >= 1, got {n_outputs!r}")
    _check_limit("max_params", max_params)
    _check_limit("max_flops", max_flops)
    head_activation = "softmax" if task == "classification" else "none"
    families, why = _candidates(shape)
    budget = _budget(max_params, max_flops)

    def measure(family: Family, config: dict[str, Scalar]) -> _Trial:
        return _measure(
            family, config, shape=shape, n_outputs=n_outputs, head_activation=head_activation
        )

    within = f", within {budget}" if budget else ""
    sentences = [f"{why}."]
    for index, family in enumerate(families):
        trial = measure(family, family.default_config())
        over = trial.over(max_params, max_flops)
        if not over:
            lead = f"{family.name}'s" if index == 0 else f"Chose {family.name}: its"
            sentences.append(f"{lead} default configuration has {trial.cost()}{within}.")
            return _choice(trial, sentences)
        sentences.append(f"{family.name}'s default configuration {over}.")
    smallest: _Trial | None = None
    for family in families:
        default = family.default_config()
        config: dict[str, Scalar] | None = default
        while config is not None:
            trial = measure(family, config)
            if not trial.infeasible and (smallest is None or trial.params < smallest.params):
                smallest = trial
            if not trial.over(max_params, max_flops):
                sentences.append(
                    f"Chose {family.name}, shrunk from its default configuration "
                    f"({_changes(default, config)}): {trial.cost()}{within}."
                )
                return _choice(trial, sentences)
            config = family.smaller(config)
    found = (
        f"the smallest configuration tried, {smallest.family.name} {smallest.config}, has "
        f"{smallest.cost()}"
        if smallest is not None
        else "no configuration fits this input"
    )
    raise ConfigError(
        f"choose_family: no family fits input {shape} within {budget or 'no budget'}: {found}; "
        "raise the budget or pick a family and space by hand"
    )
