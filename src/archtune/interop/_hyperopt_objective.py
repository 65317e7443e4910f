"""The worker side of :func:`archtune.interop.hyperopt.fmin`.

:class:`HyperoptObjective` is plain, picklable data (the user's ``fn`` by reference, the
converted space); each worker builds Hyperopt's point from the trial's configuration, calls
``fn(point)`` with the trial's reporter bound (for :func:`archtune.interop.hyperopt.report`),
and turns Hyperopt's result (a number, or ``{"loss": ..., "status": ...}``) into metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from archtune._errors import ObjectiveError
from archtune._reporter import NullReporter, Reporter
from archtune.interop._session import TrialBinding
from archtune.interop._tree import ConvertedSpace

__all__ = ["BINDING", "STATUS_FAIL", "STATUS_OK", "HyperoptObjective", "StatusFail", "metrics_of"]

STATUS_OK = "ok"
"""Hyperopt's ``STATUS_OK``: the result holds a ``loss``."""
STATUS_FAIL = "fail"
"""Hyperopt's ``STATUS_FAIL``: the evaluation failed; archtune records a failed trial."""
_STATUSES = ("ok", "fail")

BINDING: TrialBinding[Reporter] = TrialBinding("archtune.interop.hyperopt")
"""The running trial's reporter, while ``fn`` runs."""


class StatusFail(RuntimeError):
    """``fn`` returned ``{"status": STATUS_FAIL}``: the trial is recorded as failed."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool | str):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def metrics_of(result: Any) -> dict[str, float]:
    """Hyperopt's result as archtune metrics: ``loss`` and the result's other numbers.

    Raises:
        StatusFail: ``status`` is ``"fail"``.
        ObjectiveError: the result is neither a number nor a dict Hyperopt accepts.
    """
    loss = _number(result)
    if loss is not None and not isinstance(result, Mapping):
        return {"loss": loss}
    if not isinstance(result, Mapping):
        raise ObjectiveError(
            f"fmin: fn must return a number or a dict with 'loss' and 'status', got {result!r}"
        )
    status = result.get("status")
    if status not in _STATUSES:
        raise ObjectiveError(
            f"fmin: fn's result status must be one of {', '.join(map(repr, _STATUSES))} "
            f"(STATUS_OK, STATUS_FAIL), got {status!r}"
        )
    if status == STATUS_FAIL:
        reason = result.get("failure") or result.get("error")
        raise StatusFail(
            "fn returned status 'fail'" + (f": {reason}" if reason is not None else "")
        )
    loss = _number(result.get("loss"))
    if loss is None:
        raise ObjectiveError(
            f"fmin: fn's result with status 'ok' must hold a number 'loss', got "
            f"{result.get('loss')!r}"
        )
    metrics = {"loss": loss}
    for key, value in result.items():
        number = _number(value)
        if key not in ("loss", "status") and number is not None and math.isfinite(number):
            metrics[str(key)] = number
    return metrics


@dataclass(frozen=True)
class HyperoptObjective:
    """``objective(config, reporter)``: one Hyperopt evaluation of ``fn``.

    Attributes:
        fn: The user's ``fn(point)`` (a module-level function or a picklable callable) or
            ``"module:function"``.
        converted: The converted space, which builds the point from the configuration.
    """

    fn: Callable[..., Any] | str
    converted: ConvertedSpace

    def __str__(self) -> str:
        name = self.fn if isinstance(self.fn, str) else getattr(self.fn, "__qualname__", "fn")
        return f"Hyperopt fn {name}"

    def _function(self) -> Callable[..., Any]:
        if not isinstance(self.fn, str):
            return self.fn
        from archtune.execution import ObjectiveRef

        return ObjectiveRef(self.fn).load()

    def __call__(
        self, config: Mapping[str, Any], reporter: Reporter | None = None
    ) -> dict[str, float]:
        """Call ``fn`` with Hyperopt's point for ``config``; return its metrics."""
        reporter = reporter if reporter is not None else NullReporter()
        point = self.converted.point(config)
        with BINDING.bound(reporter):
            result = self._function()(point)
        return metrics_of(result)
