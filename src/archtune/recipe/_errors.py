"""Errors of training recipes (``DivergedError`` lives in ``archtune._errors``)."""

from __future__ import annotations

from archtune._errors import ConfigError, DivergedError

__all__ = ["DivergedError", "InvalidRecipeError"]


class InvalidRecipeError(ConfigError):
    """A recipe field is invalid.

    Attributes:
        field: The offending field, e.g. ``"lr"`` (empty for whole-recipe problems).
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)

    def __reduce__(self) -> tuple[type[InvalidRecipeError], tuple[str, str]]:
        # Picklable across processes (Ray, multiprocessing): both arguments, not only args.
        return (type(self), (self.field, str(self)))
