"""Turn a config's ``data:``, ``model:`` and ``recipe:`` blocks into an objective and a space."""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archtune._errors import ConfigError, InfeasibleError, InvalidSpaceError
from archtune.data import Task, absolute_spec
from archtune.recipe import InvalidRecipeError, Recipe, default_recipe_space
from archtune.search._attrs import STUDY_BUILTIN
from archtune.space import Choice, Fixed, Float, Int, Param, Scalar, Space, param_from_dict
from archtune.training._model import ModelSpec
from archtune.training._objective import TrainObjective
from archtune.training._resolve import resolve_model

__all__ = [
    "DEFAULT_EPOCHS",
    "ShrinkMoves",
    "TrainingSetup",
    "setup_training",
    "smaller_starts",
    "starts_within",
]

logger = logging.getLogger("archtune")

DEFAULT_EPOCHS = 10
"""Epochs of a built-in trial when the recipe does not fix them."""

_SHAPES = {1: "(features,)", 2: "(length, channels)", 3: "(height, width, channels)"}

_DATA_KEYS = ("val_fraction", "test_fraction", "max_samples", "target", "standardize", "seed")


@dataclass(frozen=True)
class TrainingSetup:
    """What :func:`setup_training` resolved.

    Attributes:
        objective: The built-in objective.
        space: The search space: ``model.*`` parameters and recipe fields.
        task: ``classification`` or ``regression``.
        default_objectives: The objectives when the config names none.
        study_attrs: Records for the study (the family choice, the LR range test).
        starting_points: Configurations to try first: the family's default network with the
            default recipe and with :data:`ONE_CYCLE_START`, where the space allows them (the
            search never ends worse than the defaults; a parameter whose default is outside the
            space is sampled).
    """

    objective: TrainObjective
    space: Space
    task: str
    default_objectives: dict[str, str]
    study_attrs: dict[str, Any] = field(default_factory=dict)
    starting_points: tuple[dict[str, Any], ...] = ()


def setup_training(
    data: Mapping[str, Any],
    model: Mapping[str, Any],
    recipe: Mapping[str, Any],
    *,
    backend: str = "torch",
) -> TrainingSetup:
    """Resolve the blocks (already shape-checked by the config schema).

    Args:
        data: ``{dataset: spec, val_fraction, test_fraction, max_samples, target, standardize,
            seed}``.
        model: ``{network: name}`` or ``{family: name | auto, space: default | none,
            max_params, max_flops, <knob>: value or parameter}``.
        recipe: ``{space: default | none, <Recipe field>: value, parameter, or lr: auto}``.
        backend: ``torch`` or ``keras``: which framework builds and trains each trial.

    Raises:
        ConfigError: with the field path (``model.depth``, ``recipe.lr``, ...).
    """
    from archtune.data import load_dataset

    options = {k: data[k] for k in _DATA_KEYS if k in data}
    try:
        dataset = load_dataset(data["dataset"], **options)
    except ConfigError as exc:
        raise ConfigError(f"data: {exc}") from None
    # The study records the spec: a relative file path would only work from this directory.
    data_kwargs = {"dataset": absolute_spec(data["dataset"])} | options
    task = dataset.task
    n_outputs = dataset.n_outputs
    head = "softmax" if task == "classification" else "none"
    study_attrs: dict[str, Any] = {}

    model_space, spec = _model_part(
        model, dataset.input_shape, int(n_outputs or 1), head, task, study_attrs
    )
    recipe_space, recipe_fixed = _recipe_part(recipe, task)
    space = _compose({**model_space, **recipe_space})
    _check_recipe_values(space, recipe_fixed, backend)
    _check_fixed_network(space, spec, dataset.name)
    objective = TrainObjective(
        model=spec, data=tuple(sorted(data_kwargs.items())), recipe=recipe_fixed, backend=backend
    )
    if recipe.get("lr") == "auto":
        space, study_attrs["archtune.lr_find"] = _auto_lr(space, objective)
    study_attrs[STUDY_BUILTIN] = objective.to_record()
    default = {"val_accuracy": "max"} if task == "classification" else {"val_mse": "min"}
    return TrainingSetup(objective, space, task, default, study_attrs, _starts(space, spec))


#: The second starting recipe: the one-cycle policy (Smith and Topin, 2019, "super-convergence")
#: peaking at ten times the default learning rate. It trains most networks well within a short
#: budget, where the default constant rate is often too low (docs/samplers.md: 97.9 % against
#: 98.8 % test accuracy for the cnn1d default on mnist1d in 40 epochs).
ONE_CYCLE_START: dict[str, Any] = {"schedule": "one_cycle", "lr": 10 * Recipe().lr}


def _starts(space: Space, spec: ModelSpec) -> tuple[dict[str, Any], ...]:
    """The family's default network with the default recipe, then with the one-cycle recipe
    (where the space can take it): two known good points that differ in the recipe only, so
    the first model already sees how much the recipe matters."""
    defaults = _defaults(spec)
    first = starting_point(space, defaults)
    points = [first] if first else []
    second = starting_point(space, defaults | ONE_CYCLE_START)
    if second.get("schedule") == "one_cycle" and second not in points:  # the space searches it
        points.append(second)
    return tuple(points)


#: How far below the starting network the cost ladder of :func:`smaller_starts` goes: a decade
#: of cost, the range of a network's usual width multipliers (MobileNet's 1.0 to 0.25 is a
#: sixteenth of the parameters), and one decade of the log-cost axis the front is drawn on.
LADDER_FLOOR = 0.1


def smaller_starts(setup: TrainingSetup, cost: str) -> tuple[dict[str, Any], ...]:
    """The one-cycle start made cheaper one step at a time along its family's shrink ladder
    (``Family.smaller``: e.g. for ``cnn1d`` global average pooling, then half the width),
    while the step's ``cost`` (``params`` or ``flops``) stays at least :data:`LADDER_FLOOR`
    of the start's.

    With a cost among the objectives, these are known good networks at the front's smaller
    sizes, tried before the search moves far from them (docs/samplers.md). Empty without a
    family, without the one-cycle start, or where the space fixes the knobs the ladder moves.
    """
    one_cycle = [p for p in setup.starting_points if p.get("schedule") == "one_cycle"]
    top = _costs_of(setup, one_cycle[0]) if one_cycle else None
    if top is None:
        return ()
    seen = list(setup.starting_points)
    points: list[dict[str, Any]] = []
    for point, _ in _ladder(setup, one_cycle[0]):
        if point in seen:
            break
        here = _costs_of(setup, point)
        if here is None or here[cost] < LADDER_FLOOR * top[cost]:
            break
        seen.append(point)
        points.extend(v for v in _as_small_networks(setup, point, top, cost) if v not in points)
    return tuple(points)


#: Steps down the shrink ladder that :class:`ShrinkMoves` takes from a configuration.
SHRINK_MOVE_STEPS = 2


@dataclass(frozen=True)
class ShrinkMoves:
    """A configuration's next :data:`SHRINK_MOVE_STEPS` steps down its family's shrink ladder,
    each set up as the smaller network it is (:func:`_as_small_networks`): the search's local
    moves from the best networks found so far toward smaller ones.

    This is how a person shrinks a good network by hand (global average pooling, then the
    uniform half of every width), and what the cost ladder of starting points does for the
    default network only. A move changes one knob of the family that sets the size of every
    layer at once, which the search's own moves (one to three coordinates at a time, each by
    a small step) rarely make. The front-gain proposal scores the moves with the rest of its
    candidates; it tries one only where the model expects the front to gain. Results are kept
    per configuration: the front's members come back proposal after proposal.
    """

    setup: TrainingSetup
    cost: str
    _known: dict[tuple[tuple[str, Any], ...], list[dict[str, Any]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __call__(self, config: Mapping[str, Any]) -> list[dict[str, Any]]:
        key = tuple(sorted(config.items()))
        if key not in self._known:
            self._known[key] = self._moves(dict(config))
        return [dict(move) for move in self._known[key]]

    def _moves(self, config: dict[str, Any]) -> list[dict[str, Any]]:
        top = _costs_of(self.setup, config)
        if top is None:
            return []
        moves: list[dict[str, Any]] = []
        for step, (point, _) in enumerate(_ladder(self.setup, config)):
            if step == SHRINK_MOVE_STEPS:
                break
            small = _as_small_networks(self.setup, point, top, self.cost)
            moves.extend(p for p in small if p not in moves and p != config)
        return moves


#: The knob every built-in family regularises with (the share of units dropped).
DROPOUT_KNOB = "model.dropout"


def _as_small_networks(
    setup: TrainingSetup, point: dict[str, Any], top: Mapping[str, float], cost: str
) -> list[dict[str, Any]]:
    """``point``, a start made cheaper (a ladder step, or a start fitted to a bound), set up
    to train as the smaller network it is, then, where it differs, its twin that spends the
    compute costing no parameter; ``top`` is the costs of the start it came from.

    - Its dropout is the start's scaled by its share of the start's ``cost``, on the space's
      grid: a network with a quarter of the parameters needs less regularisation
      (EfficientNet scales dropout with the network's size; MobileNet trains its small models
      with less of it), and at a 0.05 grid that share of 0.1 rounds to none.
    - The twin exists only with ``params`` as the cost (see :func:`_spending_compute`).
      Whether it pays depends on the data, so it is a second start beside the first, not in
      its place: a pair that differs in those choices only, from which the first model
      learns what they are worth.
    """
    here = _costs_of(setup, point)
    if here is None:
        return [point]
    dropout = setup.space.get(DROPOUT_KNOB)
    if isinstance(dropout, Float) and isinstance(point.get(DROPOUT_KNOB), float):
        scaled = _on_grid(dropout, point[DROPOUT_KNOB] * here[cost] / top[cost])
        point = starting_point(setup.space, point | {DROPOUT_KNOB: scaled}) or point
    if cost != "params" or "flops" not in here:
        return [point]
    twin = _spending_compute(setup, point, here, top["flops"])
    return [point] if twin == point else [point, twin]


def _spending_compute(
    setup: TrainingSetup, point: dict[str, Any], here: Mapping[str, float], most_flops: float
) -> dict[str, Any]:
    """``point`` with each choice set, among its options that leave the parameter count
    unchanged, to the one with the most FLOPs up to ``most_flops``. For a convolutional
    family that is no pooling between blocks: the feature maps keep their resolution at no
    parameter, a width traded for resolution at the start's compute, as in EfficientNet's
    compound scaling."""
    space, flops = setup.space, here["flops"]
    for name in space:
        param = space[name]
        if not isinstance(param, Choice) or name not in point:
            continue
        best = point
        for option in param.options:
            candidate = starting_point(space, point | {name: option})
            measured = _costs_of(setup, candidate)
            if candidate.get(name) != option or measured is None:
                continue
            if measured["params"] == here["params"] and flops < measured["flops"] <= most_flops:
                best, flops = candidate, measured["flops"]
        point = best
    return point


def _on_grid(param: Float, value: float) -> float:
    """``value`` rounded to the nearest value ``param`` can take."""
    value = min(max(value, param.low), param.high)
    if param.step is None:
        return value
    return param.low + round((value - param.low) / param.step) * param.step


def starts_within(
    setup: TrainingSetup,
    starts: Sequence[Mapping[str, Any]],
    keeps: Callable[[Mapping[str, Any]], bool],
    cost: str = "params",
) -> tuple[dict[str, Any], ...]:
    """``starts`` with each one that breaks the study's constraints (``keeps`` is false for
    it) replaced by the largest network of its shrink ladder that keeps them: the first
    ladder step that does, with the integer knob that step changed (the width) raised again
    as far as the constraints allow, then set up as the smaller network it is (see
    ``_as_small_networks``; ``cost`` is what the constraints bound: ``params``, or ``flops``
    where they bound compute too). A start whose ladder never fits is dropped.

    A constraint such as ``params <= 10000`` rules out the family's default network, and so
    the known good start; its recipe and shape, scaled to the bound, are the next best thing
    (the width multiplier of MobileNet, fitted to a budget).
    """
    fixed = _fixed_values(setup.space)

    def fits(point: Mapping[str, Any]) -> bool:
        return keeps({**fixed, **point})

    fitted: list[dict[str, Any]] = []
    for start in starts:
        points = [dict(start)]
        if not fits(start):
            points = []
            for step, changed in _ladder(setup, start):
                if fits(step):
                    point = _raise_within(setup.space, step, changed, start, fits)
                    top = _costs_of(setup, start)
                    small = [point] if top is None else _as_small_networks(setup, point, top, cost)
                    if start.get("schedule") != "one_cycle":
                        small = small[:1]  # a twin for the one-cycle start, as on the ladder
                    points = [v for v in small if fits(v)] or [point]
                    break
        fitted.extend(point for point in points if point not in fitted)
    return tuple(fitted)


def _raise_within(
    space: Space,
    point: dict[str, Any],
    changed: Mapping[str, Any],
    before: Mapping[str, Any],
    fits: Callable[[Mapping[str, Any]], bool],
) -> dict[str, Any]:
    """``point`` with the one integer knob of ``changed`` set to the largest value between
    its new and its old one that still ``fits`` (bisection: the cost grows with it)."""
    if len(changed) != 1:
        return point
    ((name, low),) = changed.items()
    high = before.get(name)
    if not isinstance(space.get(name), Int) or not isinstance(low, int):
        return point
    if not isinstance(high, int) or high <= low + 1:
        return point
    while high - low > 1:  # point[name] = low fits, high does not
        middle = (low + high) // 2
        if space[name].contains(middle) and fits({**point, name: middle}):
            low = middle
        else:
            high = middle
    return {**point, name: low}


def _ladder(
    setup: TrainingSetup, base: Mapping[str, Any]
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``base`` made cheaper one step at a time along its family's shrink ladder: each step's
    point of the space and the knobs (with their new values) that the step changed. Steps on
    knobs the space fixes are skipped; the ladder ends where the space cannot take a step."""
    family_name = setup.objective.model.family
    if family_name is None:
        return
    from archtune.arch.families import get_family

    family = get_family(family_name)
    fixed = _fixed_values(setup.space)
    model = family.default_config() | {
        k: v for k, v in (fixed | dict(base)).items() if k in family.parameter_names
    }
    while (cheaper := family.smaller(model)) is not None:
        changed = {k: v for k, v in cheaper.items() if model.get(k) != v}
        model = cheaper
        if all(isinstance(setup.space[k], Fixed) for k in changed if k in setup.space):
            continue  # the space fixes what this step changes
        point = starting_point(setup.space, dict(base) | model)
        if any(point.get(k) != v for k, v in changed.items() if k in setup.space):
            return  # the space cannot take this step, so later ones are off the ladder too
        yield point, {k: v for k, v in changed.items() if k in setup.space}


def _fixed_values(space: Space) -> dict[str, Any]:
    return {k: p.value for k in space if isinstance(p := space[k], Fixed)}


def _costs_of(setup: TrainingSetup, point: Mapping[str, Any]) -> dict[str, float] | None:
    """The costs known before training (``params``, ``flops``) of a point of the space, with
    its fixed values; ``None`` where the network cannot be built."""
    from archtune.arch import InfeasibleNetworkError

    try:
        return setup.objective.precheck({**_fixed_values(setup.space), **point})
    except InfeasibleNetworkError:
        return None


def _defaults(spec: ModelSpec) -> dict[str, Any]:
    """The default value of every parameter: the family's default network, ``Recipe()``."""
    recipe = Recipe()
    defaults: dict[str, Any] = {name: getattr(recipe, name) for name in Recipe.FIELDS}
    if spec.family is not None:
        from archtune.arch.families import get_family

        defaults |= get_family(spec.family).default_config()
    return defaults


def starting_point(space: Space, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The searched parameters of ``space`` set to their defaults, where the space allows it.

    Inactive parameters (``when``) are left out, and so are those whose default the space
    cannot take (the sampler chooses them).
    """
    point: dict[str, Any] = {}
    config: dict[str, Any] = {}
    for name in space:
        param = space[name]
        if isinstance(param, Fixed):
            config[name] = param.value
            continue
        if not space.is_active(name, config):
            continue
        value = defaults.get(name)
        if value is not None and param.contains(value):
            point[name] = config[name] = value
    return point


def _model_part(
    model: Mapping[str, Any],
    input_shape: tuple[int, ...],
    n_outputs: int,
    head: str,
    task: Task,
    study_attrs: dict[str, Any],
) -> tuple[dict[str, Any], ModelSpec]:
    if model.get("network") is not None:
        network = resolve_model(
            {"network": model["network"]},
            input_shape=tuple(input_shape),
            n_outputs=n_outputs,
            head=head,
            what="model",
        ).network
        spec = ModelSpec(network.to_dict(), None, tuple(input_shape), n_outputs, head)
        return {}, spec
    from archtune.arch.families import FAMILIES, choose_family, get_family

    name = str(model.get("family", "auto"))
    choice = None
    if name == "auto":
        try:
            choice = choose_family(
                tuple(input_shape),
                task=task,
                n_outputs=n_outputs,
                max_params=model.get("max_params"),
                max_flops=model.get("max_flops"),
            )
        except ConfigError as exc:
            raise ConfigError(f"model.family auto: {exc}") from None
        name = choice.family.name
        logger.info("family auto chose %s: %s", name, choice.reason)
        study_attrs["archtune.family"] = {"family": name, "reason": choice.reason}
    elif name not in FAMILIES:
        known = ", ".join(FAMILIES)
        raise ConfigError(f"model.family must be auto or one of {known}, got {name!r}")
    family = get_family(name)
    if len(input_shape) not in family.input_ranks:
        rank = len(input_shape)
        fits = [f.name for f in FAMILIES.values() if rank in f.input_ranks]
        raise ConfigError(
            f"model.family {name} takes {family.data} shaped "
            f"{' or '.join(_SHAPES[r] for r in family.input_ranks)}, but the data's inputs "
            f"have shape {tuple(input_shape)}; use family auto or one of {', '.join(fits)}"
        )
    defaults = family.default_space()
    space: dict[str, Any] = dict(defaults) if model.get("space", "default") == "default" else {}
    if choice is not None and not space:  # no search of the structure: the budget's fit
        space = {key: {"type": "fixed", "value": value} for key, value in choice.config.items()}
    for key, value in model.items():
        if key in ("family", "space", "max_params", "max_flops", "network"):
            continue
        param = key if key.startswith("model.") else f"model.{key}"
        if param not in defaults:
            allowed = ", ".join(k.removeprefix("model.") for k in defaults)
            hint = difflib.get_close_matches(param, defaults, n=1)
            fix = f" (did you mean {hint[0].removeprefix('model.')!r}?)" if hint else ""
            raise ConfigError(
                f"model.{key.removeprefix('model.')} is not a parameter of family {name}"
                f"{fix}; allowed: {allowed}"
            )
        space[param] = value
    return space, ModelSpec(None, name, tuple(input_shape), n_outputs, head)


def _recipe_part(recipe: Mapping[str, Any], task: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The recipe's space entries, and its fields that are not parameters (``piecewise``)."""
    epochs = recipe.get("epochs", DEFAULT_EPOCHS)
    base_epochs = epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else 10
    space: dict[str, Any] = {}
    fixed: dict[str, Any] = {}
    if recipe.get("space", "default") == "default":
        space = default_recipe_space(task=task, epochs=max(1, base_epochs))
    else:
        space["epochs"] = {"type": "fixed", "value": DEFAULT_EPOCHS}
    if recipe.get("piecewise") is not None:
        if recipe.get("lr") == "auto":
            raise ConfigError(
                "recipe.lr auto does not apply to schedule piecewise (its points set every "
                "rate), got lr: auto; remove lr"
            )
        fixed["piecewise"] = recipe["piecewise"]
        if "lr" not in recipe:
            space.pop("lr", None)  # unused: the points set every rate
    for key, value in recipe.items():
        if key == "space" or key == "piecewise" or (key == "lr" and value == "auto"):
            continue
        if key not in Recipe.FIELDS:
            hint = difflib.get_close_matches(key, Recipe.FIELDS, n=1)
            fix = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ConfigError(
                f"recipe.{key} is not a recipe field{fix}; allowed: {', '.join(Recipe.FIELDS)}"
            )
        space[key] = value
    return space, fixed


def _compose(entries: dict[str, Any]) -> Space:
    """Parse the merged entries; drop condition values a fixed or narrowed parent cannot take.

    The default spaces condition on values (``momentum`` when ``optimizer`` is ``nesterov``)
    that a user's override may rule out; such a parameter then never exists.
    """
    params: dict[str, Param] = {}
    for name, spec in entries.items():
        path = name if name.startswith("model.") else f"recipe.{name}"
        try:
            params[name] = param_from_dict(spec, path=path)
        except InvalidSpaceError as exc:
            raise ConfigError(f"{exc.path} {exc.reason}") from None
    changed = True
    while changed:
        changed = False
        for name, param in list(params.items()):
            when: dict[str, tuple[Scalar, ...]] | None = {}
            for parent, allowed in param.when.items():
                possible = tuple(
                    v for v in allowed if parent in params and params[parent].contains(v)
                )
                if not possible:
                    when = None
                    break
                when[parent] = possible  # type: ignore[index]
            if when is None:
                del params[name]
                changed = True
            elif when != dict(param.when):
                params[name] = dataclasses.replace(param, when=when)
                changed = True
    try:
        return Space(params)
    except InvalidSpaceError as exc:
        raise ConfigError(f"{_field(exc.path)} {exc.reason}") from None


# The fields a recipe checks against another (``min_lr <= lr``, ...).
_PARTNERS = {
    "lr": ("min_lr",),
    "min_lr": ("lr",),
    "optimizer": ("momentum",),
    "momentum": ("optimizer",),
    "epochs": ("warmup_epochs",),
    "warmup_epochs": ("epochs",),
    "weight_init": ("pretrained_path",),
    "pretrained_path": ("weight_init",),
    "piecewise": ("schedule", "optimizer", "epochs"),
}


def _check_recipe_values(
    space: Space, extra: Mapping[str, Any] | None = None, backend: str = "torch"
) -> None:
    """Recipe values that no trial could train with are errors now, not failed trials.

    Every fixed value, every option of a choice and both ends of an integer range are checked
    alone; fixed values, and the defaults of the fields the space lacks, are also checked
    together (``optimizer: adam`` with ``momentum: 0.9``). ``extra`` holds the fields that
    are not parameters (``piecewise``'s points): they need ``schedule: piecewise``, and every
    value above is checked with them.
    """
    # Partners that take any value of the field checked alone.
    base = Recipe(lr=1e9, epochs=10**9, optimizer="sgd", weight_init="pretrained")
    extra = dict(extra or {})
    if "piecewise" in extra:
        schedule = space.get("schedule")
        if not (isinstance(schedule, Fixed) and schedule.value == "piecewise"):
            if isinstance(schedule, Fixed):
                got = repr(schedule.value)
            elif isinstance(schedule, Choice):
                got = f"a choice of {list(schedule.options)}"
            else:
                got = f"{Recipe().schedule!r} (the default)"
            raise ConfigError(
                "recipe.piecewise needs recipe.schedule: piecewise (the points are that "
                f"schedule's), got {got}; set schedule: piecewise or remove piecewise"
            )
        try:
            base = base.replace(schedule="piecewise", piecewise=extra["piecewise"])
        except InvalidRecipeError as exc:
            raise ConfigError(str(exc)) from None
        changes = [(i, name) for i, name in base.piecewise_changes() if name != "lr"]
        if backend == "keras" and changes:  # as the Keras backend's fit refuses them
            i, name = changes[0]
            raise ConfigError(
                f"recipe.piecewise[{i}].{name} changes {name} during training, which backend "
                "keras cannot (only lr may change after epoch 0); set it at epoch 0 only, or "
                "use backend torch"
            )
    fixed: dict[str, Any] = {}
    for name, param in space.items():
        if name.startswith("model.") or name not in Recipe.FIELDS:
            continue
        if isinstance(param, Fixed):
            values: tuple[Any, ...] = (param.value,)
            fixed[name] = param.value
        elif isinstance(param, Choice):
            values = tuple(param.options)
        elif isinstance(param, Int):
            values = (param.low, param.high)
        else:
            continue
        for value in values:
            try:
                Recipe.from_config({name: value}, base=base)
            except InvalidRecipeError as exc:
                raise ConfigError(str(exc)) from None
    try:
        Recipe.from_config({**fixed, **extra})
    except InvalidRecipeError as exc:
        involved = (exc.field, *_PARTNERS.get(exc.field, ()))
        # A field the space lacks is fixed too: every trial has its default (or ``extra``'s).
        if all(field in fixed or field not in space for field in involved):
            raise ConfigError(str(exc)) from None


def _check_fixed_network(space: Space, spec: ModelSpec, data_name: str) -> None:
    """A family block without searched parameters names one network: it must build."""
    model = [name for name in space if name.startswith("model.")]
    if spec.family is None or not all(isinstance(space[name], Fixed) for name in model):
        return
    config: dict[str, Any] = {}
    for name in model:
        if space.is_active(name, config):
            config[name] = space[name].value  # type: ignore[union-attr]
    try:
        spec.build(config)
    except InfeasibleError as exc:
        raise ConfigError(
            f"model: the {spec.family} network these fixed values describe cannot be built on "
            f"{data_name}'s inputs {tuple(spec.input_shape)} ({exc}); change the values or "
            "search them"
        ) from None


def _field(name: str) -> str:
    return name if name.startswith("model.") else f"recipe.{name}"


def _auto_lr(space: Space, objective: TrainObjective) -> tuple[Space, dict[str, Any]]:
    """Centre ``lr``'s range on the LR range test of the default configuration.

    The test trains the family's default configuration (or the fixed network) with the
    recipe's fixed fields and the recipe defaults for the rest.
    """
    import torch

    from archtune.backends.torch import build_module, find_lr
    from archtune.data import load_cached

    torch.set_num_threads(1)
    fixed = {name: p.value for name, p in space.items() if isinstance(p, Fixed)}
    config = dict(fixed)
    if objective.model.family is not None:
        from archtune.arch.families import get_family

        config |= get_family(objective.model.family).default_config()
    network = objective.model.build(config)
    recipe = objective.recipe_of({k: v for k, v in fixed.items() if k != "lr"})
    result = find_lr(build_module(network), load_cached(objective.data), recipe, seed=0)
    suggestion = float(result.suggested_lr)
    low, high = suggestion / 10, min(1.0, suggestion * 10)
    logger.info(
        "lr auto: the LR range test suggests %.3g; searching lr in [%.3g, %.3g]",
        suggestion,
        low,
        high,
    )
    params = dict(space.items())
    params["lr"] = Float(low, high, log=True)
    record = {
        "suggestion": suggestion,
        "low": low,
        "high": high,
        "lrs": [float(x) for x in result.lrs],
        "losses": [float(x) for x in result.smoothed_losses],
    }
    return Space(params), record
