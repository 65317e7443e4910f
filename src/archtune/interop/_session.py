"""The trial a function-style objective is running in (Hyperopt's ``fn``, a Ray trainable).

Hyperopt's ``fn(point)`` and Ray Tune's ``train(config)`` take no reporter. The worker-side
wrappers of :mod:`archtune.interop.hyperopt` and :mod:`archtune.interop.raytune` bind the
trial's reporter here for the duration of the call, and the shims' ``report`` functions read it.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ["StopTrial", "TrialBinding"]

T = TypeVar("T")


class StopTrial(BaseException):
    """Raised by a Ray-style ``report`` when archtune's scheduler stopped the trial.

    A ``BaseException``, so that the user's ``except Exception`` around a training step does not
    swallow it; the wrapper that called the trainable catches it and ends the trial as stopped.
    """


class TrialBinding(Generic[T]):
    """A per-context slot for the running trial's session object."""

    def __init__(self, name: str) -> None:
        self._var: contextvars.ContextVar[T | None] = contextvars.ContextVar(name, default=None)

    @contextlib.contextmanager
    def bound(self, session: T) -> Iterator[T]:
        """Make ``session`` the current one for the ``with`` block."""
        token = self._var.set(session)
        try:
            yield session
        finally:
            self._var.reset(token)

    def current(self) -> T | None:
        """The session of the running trial, or ``None`` outside a trial."""
        return self._var.get()
