"""The error a dataset specification or a data file raises."""

from __future__ import annotations

from archtune._errors import ConfigError

__all__ = ["DatasetError"]


class DatasetError(ConfigError):
    """A dataset cannot be loaded: an unknown name, a missing or malformed file, bad arrays.

    The message names the spec, what was expected and, when there is one, the fix.
    """
