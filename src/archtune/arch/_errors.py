"""The two ways a network description can be wrong.

* :class:`InvalidNetworkError`: a field is malformed (``units=0``, an unknown activation, an
  unknown key in a dict). This is a bug in whoever wrote the description or the search space.
* :class:`InfeasibleNetworkError`: every field is fine, but the layers do not fit together
  (a kernel larger than its input, heads that do not divide the width). The search records such
  a configuration as infeasible and never trains it.
"""

from __future__ import annotations

from archtune._errors import ConfigError, InfeasibleError

__all__ = ["InfeasibleNetworkError", "InvalidNetworkError"]


class InvalidNetworkError(ConfigError):
    """A network description has a malformed field.

    Attributes:
        path: Where the field is, e.g. ``"Conv2D.filters"`` or ``"layers[3]: Dense.units"``.
        reason: What is wrong with it, e.g. ``"must be an integer >= 1, got 0"``.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path} {reason}" if path else reason)

    def __reduce__(self) -> tuple[type[InvalidNetworkError], tuple[str, str]]:
        return (type(self), (self.path, self.reason))


class InfeasibleNetworkError(InfeasibleError):
    """A well-formed network whose layers cannot be connected.

    Attributes:
        path: The layer's place, e.g. ``"layers[4]"``, ``"layers[2].layers[1]"`` (inside a
            residual block) or ``"head"``.
        kind: The layer's kind, e.g. ``"max_pool2d"``.
        input_shape: The shape the layer receives, channels-last, without the batch axis.
        reason: Why the layer cannot take it.

    Example:
        >>> from archtune.arch import Conv2D, Head, Network, infer_shapes
        >>> net = Network((2, 2, 1), layers=(Conv2D(8, 3),), head=Head(10))
        >>> try:
        ...     infer_shapes(net)
        ... except InfeasibleNetworkError as err:
        ...     print(err.path, err.kind, err.input_shape)
        layers[0] conv2d (2, 2, 1)
    """

    def __init__(self, path: str, kind: str, input_shape: tuple[int, ...], reason: str) -> None:
        self.path = path
        self.kind = kind
        self.input_shape = tuple(input_shape)
        self.reason = reason
        super().__init__(f"{path} ({kind}) with input shape {self.input_shape}: {reason}")

    def __reduce__(
        self,
    ) -> tuple[type[InfeasibleNetworkError], tuple[str, str, tuple[int, ...], str]]:
        return (type(self), (self.path, self.kind, self.input_shape, self.reason))
