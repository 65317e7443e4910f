"""The pydantic models of an experiment's configuration (the YAML file's schema)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from archtune.search._samplers import SamplerName

__all__ = ["DEFAULT_STORAGE", "BudgetConfig", "ExperimentConfig"]

DEFAULT_STORAGE = "sqlite:///archtune.db"


def _at_least(minimum: int) -> AfterValidator:
    def check(value: int) -> int:
        if value < minimum:
            raise PydanticCustomError("at_least", f"must be an integer >= {minimum}")
        return value

    return AfterValidator(check)


def _is_objective(value: Any) -> Any:
    if isinstance(value, str) or callable(value):
        return value
    raise PydanticCustomError("objective", "must be 'module:function' or a function")


def _is_name(value: str) -> str:
    if not value or not value.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise PydanticCustomError(
            "study_name", "must be letters, digits, '-', '_' or '.', and not empty"
        )
    return value


class BudgetConfig(BaseModel):
    """``budget:``: how many trials, for how long, and when to give up."""

    model_config = ConfigDict(extra="forbid")

    trials: Annotated[int, _at_least(1)]
    timeout: Any = None  # a duration: parsed by archtune.config.parse_duration
    max_consecutive_failures: Annotated[int, _at_least(1)] = 5


class ExperimentConfig(BaseModel):
    """A whole experiment, as in ``examples/quickstart.yaml``.

    ``space`` and ``objectives`` stay raw here and are checked by
    :class:`archtune.space.Space` and :class:`archtune.search.Objectives`, whose messages name
    the exact field.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: Annotated[str, AfterValidator(_is_name)]
    objective: Annotated[Any, AfterValidator(_is_objective)]
    space: dict[str, Any]
    objectives: Any  # checked by archtune.search.Objectives.parse
    budget: BudgetConfig
    workers: Annotated[int, _at_least(1)] = 1
    sampler: SamplerName = "auto"
    storage: str | None = DEFAULT_STORAGE  # None: in memory (the Python API's default)
    seed: int | None = None
    max_retries: Annotated[int, _at_least(0)] = Field(default=1)
