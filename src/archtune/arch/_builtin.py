"""The built-in reference networks, by name.

==============  =====================================================  ==========
name            structure                                              parameters
==============  =====================================================  ==========
cnn-32-64-64    28x28x1, 3 conv 3x3 (32, 64, 64), 2 max-pools, 64, 10      93,322
cnn-16-32-32    28x28x1, 3 conv 3x3 (16, 32, 32), 2 max-pools, 32, 10      23,626
mlp-64-64       10 inputs, 64, 64, 10                                       5,514
mlp-32-32       10 inputs, 32, 32, 10                                       1,738
==============  =====================================================  ==========
"""

from __future__ import annotations

from collections.abc import Callable

from archtune._errors import ConfigError
from archtune.arch._layers import Conv2D, Dense, Flatten, Layer, MaxPool2D
from archtune.arch._network import Head, Network

__all__ = ["builtin_network", "list_builtin_networks"]


def _cnn(name: str, filters: tuple[int, int, int], dense: int) -> Network:
    """Keras's MNIST CNN: three valid 3x3 convolutions, max-pools between, a dense layer."""
    first, second, third = filters
    layers: tuple[Layer, ...] = (
        Conv2D(first, 3, activation="relu"),
        MaxPool2D(2),
        Conv2D(second, 3, activation="relu"),
        MaxPool2D(2),
        Conv2D(third, 3, activation="relu"),
        Flatten(),
        Dense(dense, activation="relu"),
    )
    return Network((28, 28, 1), layers=layers, head=Head(10, activation="softmax"), name=name)


def _mlp(name: str, widths: tuple[int, ...]) -> Network:
    """A ReLU multi-layer perceptron on 10 features with 10 classes."""
    layers = tuple(Dense(width, activation="relu") for width in widths)
    return Network((10,), layers=layers, head=Head(10, activation="softmax"), name=name)


_BUILTINS: dict[str, Callable[[], Network]] = {
    "cnn-32-64-64": lambda: _cnn("cnn-32-64-64", (32, 64, 64), 64),
    "cnn-16-32-32": lambda: _cnn("cnn-16-32-32", (16, 32, 32), 32),
    "mlp-64-64": lambda: _mlp("mlp-64-64", (64, 64)),
    "mlp-32-32": lambda: _mlp("mlp-32-32", (32, 32)),
}


def list_builtin_networks() -> list[str]:
    """Return the names of the built-in networks, in the order of the table above."""
    return list(_BUILTINS)


def builtin_network(name: str) -> Network:
    """Return the built-in network called ``name``.

    Example:
        >>> builtin_network("mlp-32-32").input_shape
        (10,)

    Raises:
        ConfigError: ``name`` is not a built-in network; the message lists the known names.
    """
    factory = _BUILTINS.get(name)
    if factory is None:
        known = ", ".join(map(repr, _BUILTINS))
        raise ConfigError(f"builtin_network: name must be one of {known}, got {name!r}")
    return factory()
