"""Load and validate an experiment from a YAML/JSON file or from keyword arguments."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ValidationError

from archtune._errors import ConfigError, InvalidSpaceError
from archtune.config._checks import check_folder_writable
from archtune.config._duration import parse_duration
from archtune.config._model import ExperimentConfig
from archtune.execution import ObjectiveRef
from archtune.search import Constraint, Experiment, Objectives, SchedulerSpec, parse_constraints
from archtune.search._constraints import keeps_constraints
from archtune.search._schedulers import check_fidelity
from archtune.space import Fixed, Float, Space
from archtune.training._objective import COST_METRICS
from archtune.training._setup import ShrinkMoves, smaller_starts, starts_within

if TYPE_CHECKING:
    from archtune.training import TrainingSetup

__all__ = ["build_experiment", "load_config", "read_config_file"]


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML (or JSON) config file into a dict.

    Raises:
        ConfigError: the file is missing, unreadable, not UTF-8, not YAML, or not a mapping.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{file}: is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{file}: {where}invalid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file}: must be a mapping with name, objective, space, objectives and budget, "
            f"got {type(data).__name__}"
        )
    return data


def load_config(
    path: str | os.PathLike[str], *, overrides: Mapping[str, Any] | None = None
) -> Experiment:
    """Read, validate and resolve a config file; ``overrides`` replace top-level keys.

    The objective's module is looked up from the current directory, then the installed
    packages, then the file's directory (appended to ``sys.path``, so a module in the config's
    folder never shadows an installed one).
    """
    data = read_config_file(path)
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    return build_experiment(
        data,
        source=str(path),
        search_path=(os.getcwd(),),
        fallback_path=(str(Path(path).resolve().parent),),
    )


def build_experiment(
    data: Mapping[str, Any],
    *,
    source: str,
    search_path: tuple[str, ...] = (),
    fallback_path: tuple[str, ...] = (),
    aliases: Mapping[str, str] | None = None,
) -> Experiment:
    """Validate ``data`` (the config's shape) and resolve it into an :class:`Experiment`.

    Args:
        data: The configuration as a dict.
        source: Where it came from, the first word of every error message.
        search_path: Directories to import the objective's module from, before the
            installed packages.
        fallback_path: Directories searched after the installed packages (a config's folder).
        aliases: Field paths to rename in messages (``tune()`` says ``n_trials``, not
            ``budget.trials``).

    Raises:
        ConfigError: one line: ``<source>: <field> <what is wrong>, got <value>``.
    """
    names = dict(aliases or {})
    try:
        config = ExperimentConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc, names)}") from None
    precheck = None
    study_attrs: dict[str, Any] = {}
    starting_points: tuple[dict[str, Any], ...] = ()
    shrink_moves = None
    builtin = None
    try:
        if config.objective is None:
            setup = _builtin(config)
            builtin = setup.objective
            objective = ObjectiveRef(builtin)
            space = setup.space
            objectives = Objectives.parse(config.objectives or setup.default_objectives)
            _check_builtin_metrics(objectives, setup.task)
            precheck, study_attrs = setup.objective.precheck, setup.study_attrs
            starting_points = setup.starting_points
            cost = _searched_cost(objectives)
            if cost is not None:  # known good networks at the front's smaller sizes
                starting_points += smaller_starts(setup, cost)
                shrink_moves = ShrinkMoves(setup, cost)
        else:
            objective = ObjectiveRef(
                config.objective, search_path=search_path, fallback_path=fallback_path
            )
            space = Space.from_dict(config.space, path="space")
            objectives = Objectives.parse(config.objectives)
        constraints = parse_constraints(config.constraints)
        if constraints:
            precheck = _constrained_precheck(config, constraints, precheck)
            if builtin is not None:
                keeps = keeps_constraints(constraints, precheck)
                bounded = "params" if all(c.metric == "params" for c in constraints) else "flops"
                starting_points = starts_within(setup, starting_points, keeps, bounded)
        timeout_s = _timeout(config.budget.timeout, names)
        trial_timeout_s = _timeout(config.budget.trial_timeout, names, "budget.trial_timeout")
        if config.sampler == "grid":
            _check_grid(space, config.budget.trials, names)
        if config.sampler == "bruteforce":
            _check_finite(space)
        artifacts = None
        if config.artifacts is not None:
            option = names.get("artifacts", "artifacts")
            artifacts = str(check_folder_writable(config.artifacts, option=option))
    except InvalidSpaceError as exc:
        path = exc.path if exc.path.startswith("space.") else f"space.{exc.path}"
        raise ConfigError(f"{source}: {path} {exc.reason}") from None
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    scheduler = _scheduler(config, space)
    if config.budget.steps is not None and scheduler.max_steps is None:
        field = names.get("budget.steps", "budget.steps")
        raise ConfigError(
            f"{source}: {field} needs the length of a trial: set scheduler.max_steps (or a fixed "
            "recipe.epochs for built-in training)"
        )
    try:
        check_fidelity(scheduler, objectives)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    stages = scheduler.stages()
    if stages and builtin is not None:  # each trial trains its stages (search/_fidelity.py)
        pairs = tuple((stage.fraction, stage.steps) for stage in stages)
        objective = ObjectiveRef(dataclasses.replace(builtin, stages=pairs))
    return Experiment(
        name=config.name,
        objective=objective,
        space=space,
        objectives=objectives,
        n_trials=config.budget.trials,
        timeout_s=timeout_s,
        trial_timeout_s=trial_timeout_s,
        max_consecutive_failures=config.budget.max_consecutive_failures,
        max_retries=config.max_retries,
        n_workers=config.workers,
        sampler=config.sampler,
        storage=config.storage,
        artifacts=artifacts,
        seed=config.seed,
        source=source,
        scheduler=scheduler,
        max_total_steps=config.budget.steps,
        constraints=constraints,
        executor=config.executor,
        address=config.address,
        resources=config.resources.model_dump(),
        precheck=precheck,
        study_attrs=study_attrs,
        starting_points=starting_points,
        shrink_moves=shrink_moves,
    )


def _searched_cost(objectives: Objectives) -> str | None:
    """The cost known before training (``params``, else ``flops``) that several objectives
    minimise, along which the search starts down its family's shrink ladder
    (``smaller_starts``) and moves its front's members (``ShrinkMoves``); ``None``: none."""
    from archtune.search._samplers import PRECHECKED_COSTS

    minimised = [name for name, direction in objectives.directions if direction == "min"]
    cost = next((name for name in PRECHECKED_COSTS if name in minimised), None)
    return cost if objectives.is_multi else None


def _constrained_precheck(
    config: ExperimentConfig,
    constraints: tuple[Constraint, ...],
    precheck: Callable[..., dict[str, float]] | None,
) -> Callable[..., dict[str, float]]:
    """The precheck that measures what the constraints bound (latency only when asked)."""
    if precheck is None:
        raise ConfigError(
            "constraints are checked before training, on costs that built-in training knows "
            "(params, flops, latency_ms): use `data:` and `model:` blocks, or drop "
            "`constraints:` and make the cost an objective"
        )
    for constraint in constraints:
        if constraint.metric not in COST_METRICS:
            raise ConfigError(
                f"constraints.{constraint.metric} is not a cost known before training; "
                f"allowed: {', '.join(COST_METRICS)}"
            )
    if any(c.metric == "latency_ms" for c in constraints):
        return functools.partial(precheck, with_latency=True)
    return precheck


def _scheduler(config: ExperimentConfig, space: Space) -> SchedulerSpec:
    """The scheduler settings; built-in training knows its last step (the fixed epochs)."""
    settings = config.scheduler.model_dump()
    epochs = space.get("epochs")
    if settings["max_steps"] is None and config.objective is None and isinstance(epochs, Fixed):
        settings["max_steps"] = int(epochs.value)  # type: ignore[arg-type]
    if settings["fidelity"] == "data" and config.objective is not None:
        raise ConfigError(
            "scheduler.fidelity data trains built-in trials on fractions of the training data; "
            "an objective of your own chooses its own data: drop scheduler.fidelity, or use "
            "`data:` and `model:` blocks"
        )
    pbt_only = ("population", "interval", "perturb")
    if settings["name"] != "pbt":
        for key in pbt_only:
            if settings[key] is not None:
                raise ConfigError(
                    f"scheduler.{key} applies to scheduler pbt only, got scheduler "
                    f"{settings['name']!r}; drop it or set scheduler.name: pbt"
                )
    else:
        settings["perturb"] = _perturbed(
            settings["perturb"], space, builtin=config.objective is None
        )
    return SchedulerSpec(**settings)


def _perturbed(names: list[str] | None, space: Space, *, builtin: bool) -> tuple[str, ...]:
    """The parameters population-based training perturbs: those named, checked, or by default
    built-in training's per-epoch recipe values (every searched parameter of a user's space)."""
    from archtune.recipe import PIECEWISE_VALUES

    searched = [n for n, p in space.items() if not isinstance(p, Fixed)]
    allowed = [n for n in searched if n in PIECEWISE_VALUES] if builtin else searched
    if names is None:
        if not allowed:
            what = ", ".join(PIECEWISE_VALUES) if builtin else "any parameter"
            raise ConfigError(
                f"scheduler pbt perturbs parameters that can change while a network trains "
                f"({what}), and the space searches none; search one of them"
            )
        return tuple(allowed)
    for name in names:
        if name not in allowed:
            why = (
                "built-in training can change only these while a network trains"
                if builtin
                else "it must be a searched parameter of the space"
            )
            raise ConfigError(
                f"scheduler.perturb names {name!r}: {why}; allowed: {', '.join(allowed)}"
            )
    return tuple(names)


def _builtin(config: ExperimentConfig) -> TrainingSetup:
    """Resolve ``data:``/``model:``/``recipe:`` into the built-in objective and its space."""
    from archtune.training import setup_training

    if config.space is not None:
        raise ConfigError(
            "space cannot be used with built-in training; put parameters in the `model:` "
            "block (the family's) or the `recipe:` block (training's)"
        )
    data, model = config.data, config.model
    if data is None or model is None:  # the schema already requires both
        raise ConfigError("built-in training needs `data:` and `model:` blocks")
    recipe = config.recipe.model_dump() if config.recipe is not None else {}
    return setup_training(
        data.model_dump(exclude_none=True),
        model.model_dump(exclude_none=True),
        recipe,
        backend=config.backend,
    )


def _check_builtin_metrics(objectives: Objectives, task: str) -> None:
    from archtune.training import metric_names

    allowed = metric_names(task)
    for name in objectives.names:
        if name not in allowed:
            raise ConfigError(
                f"objectives.{name} is not a metric of built-in {task} training; allowed: "
                f"{', '.join(allowed)}"
            )


def _timeout(value: Any, names: Mapping[str, str], field: str = "budget.timeout") -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ConfigError(f"{names.get(field, field)} {exc}") from None


def _check_finite(space: Space) -> None:
    for name, param in space.items():
        if isinstance(param, Float) and param.step is None:
            raise ConfigError(
                f"space.{name}.step must be set for sampler bruteforce (it tries "
                "every configuration of a finite space), got a continuous float; set a step "
                "or use sampler auto"
            )


def _check_grid(space: Space, n_trials: int, names: Mapping[str, str]) -> None:
    size = 1
    for values in space.grid().values():
        size *= len(values)
    if n_trials > size:
        field = names.get("budget.trials", "budget.trials")
        raise ConfigError(
            f"{field} must be <= {size} (the number of grid points) with sampler grid, "
            f"got {n_trials}"
        )


# Custom errors of whole blocks, whose input is the block itself (too long to repeat).
_CUSTOM_WITHOUT_INPUT = ("objective_or_blocks", "model_kind")


def _describe(exc: ValidationError, names: Mapping[str, str]) -> str:
    """One line for the first error of a pydantic ``ValidationError``.

    An unknown key comes first: a misspelt key (``objectivs:``) also makes the field it was
    meant to be missing, and the misspelling is the error to fix.
    """
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    error = errors[0]
    loc = ".".join(str(part) for part in error["loc"])
    field = names.get(loc, loc)
    kind = error["type"]
    got = f", got {_short(error['input'])}"
    if kind == "missing":
        line = f"{field} is required"
    elif kind == "extra_forbidden":
        fields = _fields_at(ExperimentConfig, error["loc"][:-1])
        close = difflib.get_close_matches(str(error["loc"][-1]), fields, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        line = f"{field} is not a known field{hint}; allowed: {', '.join(fields)}"
    elif kind == "literal_error":
        line = f"{field} must be one of {error['ctx']['expected']}{got}"
    elif kind in ("int_parsing", "int_type", "int_from_float"):
        line = f"{field} must be an integer{got}"
    elif kind in ("string_type", "str_type"):
        line = f"{field} must be a string{got}"
    elif kind == "dict_type":
        line = f"{field} must be a mapping{got}"
    elif kind in _CUSTOM_WITHOUT_INPUT:
        line = f"{field} {error['msg']}".strip()
    else:
        message = error["msg"]
        line = f"{field} {message[0].lower()}{message[1:]}{got}".strip()
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more)"
    return line


#: The union types of ``X | None`` and ``Optional[X]``.
_UNIONS = (typing.Union, types.UnionType)
#: The longest input an error message quotes whole (an array's repr would fill the screen).
_MAX_QUOTED = 80


def _short(value: Any) -> str:
    """``repr(value)``, or for a long one its type and start."""
    text = repr(value)
    if len(text) <= _MAX_QUOTED:
        return text
    return f"a {type(value).__name__} ({' '.join(text[:_MAX_QUOTED].split())} ...)"


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The fields of the block at ``loc`` (``data: DataConfig | None`` is the block's class)."""
    for part in loc:
        field = model.model_fields.get(str(part))
        blocks = [] if field is None else _blocks_of(field.annotation)
        if len(blocks) != 1:
            return []
        model = blocks[0]
    return list(model.model_fields)


def _blocks_of(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation names: itself, or the members of its union."""
    members = typing.get_args(annotation) if typing.get_origin(annotation) in _UNIONS else ()
    return [
        a for a in (members or (annotation,)) if isinstance(a, type) and issubclass(a, BaseModel)
    ]
