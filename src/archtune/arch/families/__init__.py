"""Model families: builders of networks from a configuration, with default search spaces.

Each family (``mlp``, ``cnn2d``, ``cnn1d``, ``resnet``, ``rnn``, ``transformer``) turns a flat
configuration of ``model.*`` parameters into a :class:`~archtune.arch.Network`, and offers a
default search space over them (archtune's plain-dict space format) and a default
configuration that trains well on its natural dataset. :func:`choose_family` picks a family
from the data's shape and a budget (``family: auto``). ``docs/families.md`` describes each.

Example:
    >>> from archtune.arch import count_params
    >>> from archtune.arch.families import get_family
    >>> cnn = get_family("cnn2d")
    >>> net = cnn.build(cnn.default_config(), input_shape=(28, 28, 1), n_outputs=10,
    ...                 head_activation="softmax")
    >>> count_params(net)
    50282
"""

from __future__ import annotations

from archtune.arch.families._base import PREFIX, Family, Knob, ModelConfig, Rule, tapered
from archtune.arch.families._choose import LARGE_IMAGE_SIDE, FamilyChoice, Task, choose_family
from archtune.arch.families._cnn1d import CNN1D
from archtune.arch.families._cnn2d import CNN2D
from archtune.arch.families._mlp import MLP
from archtune.arch.families._registry import FAMILIES, get_family
from archtune.arch.families._resnet import RESNET
from archtune.arch.families._rnn import RNN
from archtune.arch.families._transformer import TRANSFORMER

__all__ = [
    "CNN1D",
    "CNN2D",
    "FAMILIES",
    "LARGE_IMAGE_SIDE",
    "MLP",
    "PREFIX",
    "RESNET",
    "RNN",
    "TRANSFORMER",
    "Family",
    "FamilyChoice",
    "Knob",
    "ModelConfig",
    "Rule",
    "Task",
    "choose_family",
    "get_family",
    "tapered",
]
