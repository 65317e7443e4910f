"""Interop errors: a layer the network description cannot express; an approximated space."""

from __future__ import annotations

from archtune._errors import ConfigError

__all__ = ["ConversionWarning", "UnsupportedLayerError"]


class ConversionWarning(UserWarning):
    """A Hyperopt or Ray Tune distribution archtune searches in a documented, nearby way.

    Unbounded normals become a range of plus or minus three standard deviations, weighted
    choices lose their weights; the message names the parameter and what archtune searches.
    """


class UnsupportedLayerError(ConfigError):
    """A layer of the user's model has no faithful equivalent in the network description.

    Attributes:
        source: The import function, ``"from_keras"`` or ``"from_torch"``.
        position: Where the layer sits, e.g. ``"layers[3]"`` or ``"node 'conv2'"``.
        layer: The layer's name and type, e.g. ``"'rescaling' (Rescaling)"``.
        reason: What is wrong, e.g. ``"is not supported"`` or ``"dilation must be 1, got 2"``.
        supported: The layer types the importer supports.
    """

    def __init__(
        self,
        source: str,
        position: str,
        layer: str,
        reason: str,
        supported: tuple[str, ...] = (),
    ) -> None:
        self.source = source
        self.position = position
        self.layer = layer
        self.reason = reason
        self.supported = tuple(supported)
        message = f"{source}: {position} {layer} {reason}"
        if self.supported:
            message += (
                f"; supported layers: {', '.join(self.supported)}. Replace it with one of "
                "them, or write the network with archtune.arch"
            )
        super().__init__(message)

    def __reduce__(
        self,
    ) -> tuple[type[UnsupportedLayerError], tuple[str, str, str, str, tuple[str, ...]]]:
        return (
            type(self),
            (self.source, self.position, self.layer, self.reason, self.supported),
        )
