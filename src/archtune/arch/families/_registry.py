"""The built-in families by name."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from archtune._errors import ConfigError
from archtune.arch.families._base import Family
from archtune.arch.families._cnn1d import CNN1D
from archtune.arch.families._cnn2d import CNN2D
from archtune.arch.families._mlp import MLP
from archtune.arch.families._resnet import RESNET
from archtune.arch.families._rnn import RNN
from archtune.arch.families._transformer import TRANSFORMER

__all__ = ["FAMILIES", "get_family"]

#: Every built-in family by name (read-only).
FAMILIES: Mapping[str, Family] = MappingProxyType(
    {family.name: family for family in (MLP, CNN2D, CNN1D, RESNET, RNN, TRANSFORMER)}
)


def get_family(name: str) -> Family:
    """Return the family called ``name``.

    Example:
        >>> get_family("cnn2d").natural_input
        (28, 28, 1)

    Raises:
        ConfigError: No family has that name; the message lists the names.
    """
    family = FAMILIES.get(name) if isinstance(name, str) else None
    if family is None:
        allowed = ", ".join(map(repr, FAMILIES))
        raise ConfigError(f"family must be one of {allowed}, got {name!r}")
    return family
