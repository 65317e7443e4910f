"""The executors by name: one table, from which the config's names and the docs' list derive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from archtune._errors import ConfigError
from archtune.execution._base import BaseExecutor
from archtune.execution._local import LocalExecutor
from archtune.execution._ray import RayExecutor

__all__ = ["EXECUTORS", "EXECUTOR_NAMES", "ExecutorName", "ExecutorRequest", "make_executor"]


@dataclass(frozen=True)
class ExecutorRequest:
    """What an executor factory of :data:`EXECUTORS` may use."""

    n_workers: int
    address: str | None = None
    resources: Mapping[str, float] = field(default_factory=lambda: {"cpus": 1.0, "gpus": 0.0})


def _ray(request: ExecutorRequest) -> BaseExecutor:
    return RayExecutor(
        request.n_workers, address=request.address, resources=dict(request.resources)
    )


#: Every executor by name (``local``: spawned processes here; ``ray``: Ray actors).
EXECUTORS: Mapping[str, Callable[[ExecutorRequest], BaseExecutor]] = MappingProxyType(
    {"local": lambda request: LocalExecutor(request.n_workers), "ray": _ray}
)
EXECUTOR_NAMES: tuple[str, ...] = tuple(EXECUTORS)
if TYPE_CHECKING:
    ExecutorName = str
else:
    ExecutorName = Literal[EXECUTOR_NAMES]  # for pydantic: "must be one of 'local' or 'ray'"


def make_executor(name: str, request: ExecutorRequest) -> BaseExecutor:
    """The executor called ``name`` (one of :data:`EXECUTOR_NAMES`).

    Raises:
        ConfigError: an unknown name.
    """
    factory = EXECUTORS.get(name)
    if factory is None:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTOR_NAMES)}, got {name!r}")
    return factory(request)
