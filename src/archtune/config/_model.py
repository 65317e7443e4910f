"""The pydantic models of an experiment's configuration (the YAML file's schema)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from archtune.arch.families import FAMILIES
from archtune.backends import BackendName
from archtune.execution import ExecutorName
from archtune.search._samplers import SamplerName
from archtune.search._schedulers import SchedulerName

__all__ = [
    "DEFAULT_STORAGE",
    "BudgetConfig",
    "DataConfig",
    "ExperimentConfig",
    "ModelBlock",
    "RecipeBlock",
    "SchedulerConfig",
]

DEFAULT_STORAGE = "sqlite:///archtune.db"

# `model: cnn2d` names a family; any other word names a built-in network.
_FAMILY_WORDS = ("auto", *FAMILIES)


def _no_bool_or_text(value: Any) -> Any:
    """A count is a number: YAML's ``yes`` (true) or a quoted ``"2"`` is a mistake, not 1 or 2."""
    if isinstance(value, bool | str):
        raise PydanticCustomError("whole_number", "must be an integer >= 1")
    return value


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

    trials: Annotated[int, BeforeValidator(_no_bool_or_text), _at_least(1)]
    timeout: Any = None  # a duration: parsed by archtune.config.parse_duration
    trial_timeout: Any = None  # a duration, per trial: the same format
    steps: Annotated[int, _at_least(1)] | None = None  # total epochs over all trials
    max_consecutive_failures: Annotated[int, _at_least(1)] = 5


def _non_negative(value: float) -> float:
    if value < 0:
        raise PydanticCustomError("non_negative", "must be a number >= 0")
    return value


def _fraction(value: float) -> float:
    if not 0 < value < 1:
        raise PydanticCustomError("fraction", "must be a number in (0, 1)")
    return value


class DataConfig(BaseModel):
    """``data:``: a built-in dataset name, a ``.npz``/``.csv`` file or ``module:function``."""

    model_config = ConfigDict(extra="forbid")

    dataset: str
    val_fraction: Annotated[float, AfterValidator(_fraction)] = 0.2
    test_fraction: Annotated[float, AfterValidator(_fraction)] = 0.2
    max_samples: Annotated[int, _at_least(10)] | None = None
    target: str | None = None
    standardize: bool = True
    seed: int = 0

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"dataset": value} if isinstance(value, str) else value


class ModelBlock(BaseModel):
    """``model:``: a built-in network name, or a family and overrides of its space.

    Keys other than the ones below are the family's parameters (``depth: {type: int, ...}``).
    """

    model_config = ConfigDict(extra="allow")

    network: str | None = None
    family: str | None = None
    space: Literal["default", "none"] = "default"
    max_params: Annotated[int, _at_least(1)] | None = None
    max_flops: Annotated[int, _at_least(1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"family": value} if value in _FAMILY_WORDS else {"network": value}
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> ModelBlock:
        if self.network is not None and (self.family is not None or self.model_extra):
            raise PydanticCustomError(
                "model_kind", "must give either `network` or a `family` with its parameters"
            )
        return self


class RecipeBlock(BaseModel):
    """``recipe:``: ``space: default | none`` and recipe fields (values or parameters)."""

    model_config = ConfigDict(extra="allow")

    space: Literal["default", "none"] = "default"


class SchedulerConfig(BaseModel):
    """``scheduler:``: a name, or a mapping with the name and settings."""

    model_config = ConfigDict(extra="forbid")

    name: SchedulerName = "auto"
    eta: Annotated[int, _at_least(2)] = 3
    min_steps: Annotated[int, _at_least(1)] = 1
    max_steps: Annotated[int, _at_least(1)] | None = None
    guard: bool = True
    population: Annotated[int, _at_least(2)] | None = None
    interval: Annotated[int, _at_least(1)] | None = None
    quantile: Annotated[float, Field(gt=0.0, le=0.5)] = 0.25
    explore: Literal["perturb", "resample"] = "perturb"
    perturb: list[str] | None = None
    fidelity: Literal["epochs", "data"] = "epochs"

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class ResourcesConfig(BaseModel):
    """``resources:``: what each trial reserves on a Ray cluster."""

    model_config = ConfigDict(extra="forbid")

    cpus: Annotated[float, AfterValidator(_non_negative)] = 1.0
    gpus: Annotated[float, AfterValidator(_non_negative)] = 0.0


class ExperimentConfig(BaseModel):
    """A whole experiment, as in ``examples/quickstart.yaml``.

    ``space`` and ``objectives`` stay raw here and are checked by
    :class:`archtune.space.Space` and :class:`archtune.search.Objectives`, whose messages name
    the exact field.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: Annotated[str, AfterValidator(_is_name)]
    objective: Annotated[Any, AfterValidator(_is_objective)] = None
    space: dict[str, Any] | None = None
    objectives: Any = None  # checked by archtune.search.Objectives.parse
    data: DataConfig | None = None
    model: ModelBlock | None = None
    recipe: RecipeBlock | None = None
    backend: BackendName = "torch"
    budget: BudgetConfig
    workers: Annotated[int, _at_least(1)] = 1
    sampler: SamplerName = "auto"
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    constraints: dict[str, Any] | None = None  # checked by archtune.search.parse_constraints
    executor: ExecutorName = "local"
    address: str | None = None
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig)
    storage: str | None = DEFAULT_STORAGE  # None: in memory (the Python API's default)
    artifacts: str | None = None  # checkpoints' folder; None: beside an SQLite file, else off
    seed: int | None = None
    max_retries: Annotated[int, _at_least(0)] = Field(default=1)

    @model_validator(mode="after")
    def _objective_or_blocks(self) -> ExperimentConfig:
        builtin = self.data is not None or self.model is not None
        if self.objective is not None and builtin:
            raise PydanticCustomError(
                "objective_or_blocks",
                "give either `objective` (your function) or `data` and `model` (built-in "
                "training), not both",
            )
        if self.objective is None and not builtin:
            raise PydanticCustomError(
                "objective_or_blocks",
                "needs `objective: module:function` or `data:` and `model:` blocks",
            )
        if builtin and (self.data is None or self.model is None):
            missing = "data" if self.data is None else "model"
            raise PydanticCustomError(
                "objective_or_blocks", f"built-in training needs a `{missing}:` block too"
            )
        if self.objective is not None and self.space is None:
            raise PydanticCustomError("objective_or_blocks", "space is required with `objective`")
        if self.address is not None and self.executor != "ray":
            raise PydanticCustomError(
                "objective_or_blocks", "address is for `executor: ray`; set it or drop address"
            )
        if self.objective is not None and self.objectives is None:
            raise PydanticCustomError(
                "objective_or_blocks", "objectives is required with `objective`"
            )
        return self
