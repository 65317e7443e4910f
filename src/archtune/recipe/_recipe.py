"""The training :class:`Recipe`: initialisation, optimizer, learning-rate schedule, batches."""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from archtune.recipe._errors import InvalidRecipeError

__all__ = [
    "BIAS_INITS",
    "OPTIMIZERS",
    "PIECEWISE_VALUES",
    "SCHEDULES",
    "WEIGHT_INITS",
    "Recipe",
    "SchedulePoint",
]

WEIGHT_INITS = (
    "default",
    "keep",
    "normal",
    "uniform",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "orthogonal",
    "constant",
    "pretrained",
)
"""Weight initialisers. ``default``: the framework's own, redrawn with the seed; ``keep``: the
module's weights as they are."""
BIAS_INITS = ("default", "zeros", "constant", "mean")
"""Bias initialisers. ``mean``: the output layer's bias starts at the target mean
(regression) or the log class frequencies (classification), the other biases at zero."""
OPTIMIZERS = ("gd", "sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
"""Optimizers. ``gd``: full-batch gradient descent (one step per epoch)."""
SCHEDULES = ("constant", "step", "exponential", "cosine", "one_cycle", "plateau", "piecewise")
"""Learning-rate schedules; any of them but ``piecewise`` may follow a linear warm-up.
``piecewise``: the values of :attr:`Recipe.piecewise`'s points, epoch by epoch."""
PIECEWISE_VALUES = ("lr", "momentum", "weight_decay", "label_smoothing")
"""The values a point of a ``piecewise`` schedule may set (recipe fields of the same name)."""

_ALIASES = {
    "weight_init": {
        "random_normal": "normal",
        "random_uniform": "uniform",
        "xavier_normal": "glorot_normal",
        "xavier_uniform": "glorot_uniform",
        "kaiming_normal": "he_normal",
        "kaiming_uniform": "he_uniform",
    },
    "bias_init": {"zero": "zeros"},
    "optimizer": {"full_batch": "gd"},
    "schedule": {
        "fixed": "constant",
        "none": "constant",
        "step_decay": "step",
        "exponential_decay": "exponential",
        "cosine_decay": "cosine",
        "onecycle": "one_cycle",
        "reduce_on_plateau": "plateau",
        "piecewise_constant": "piecewise",
    },
}
_CHOICES = {
    "weight_init": WEIGHT_INITS,
    "bias_init": BIAS_INITS,
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
}
_DEFAULT_MOMENTUM = {"momentum": 0.9, "nesterov": 0.9}
_SGD_FAMILY = ("gd", "sgd", "momentum", "nesterov")
_MOMENTUM_OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop")  # gd has none; Adam: beta1

# Which fields matter for which choice (for Recipe.active_params).
_INIT_FIELDS = {
    "normal": ("init_std",),
    "uniform": ("init_limit",),
    "orthogonal": ("init_gain",),
    "constant": ("init_value",),
    "pretrained": ("pretrained_path",),
}
_OPTIMIZER_FIELDS = {
    "gd": (),
    "sgd": ("momentum",),
    "momentum": ("momentum",),
    "nesterov": ("momentum",),
    "adam": ("beta1", "beta2", "eps"),
    "adamw": ("beta1", "beta2", "eps"),
    "rmsprop": ("rho", "momentum", "eps"),
}
_SCHEDULE_FIELDS = {
    "constant": (),
    "step": ("step_size", "step_gamma"),
    "exponential": ("exp_gamma",),
    "cosine": ("min_lr",),
    "one_cycle": ("pct_start", "div_factor", "final_div_factor"),
    "plateau": ("plateau_factor", "plateau_patience", "plateau_threshold", "min_lr"),
    "piecewise": ("piecewise",),
}


def _fail(field: str, what: str, value: object) -> InvalidRecipeError:
    hint = ""
    if isinstance(value, str):
        try:
            float(value)
            hint = " (a string: write numbers without quotes; in YAML write 1.0e-3, not 1e-3)"
        except ValueError:
            pass
    return InvalidRecipeError(field, f"recipe.{field} must be {what}, got {value!r}{hint}")


def _real(
    field: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    lo = "" if low is None else f"{low:g} {'<' if low_open else '<='} "
    hi = "" if high is None else f" {'<' if high_open else '<='} {high:g}"
    what = f"a number with {lo}x{hi}" if lo or hi else "a finite number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(field, what, value)
    x = float(value)
    if not math.isfinite(x):
        raise _fail(field, what, value)
    if low is not None and (x < low or (low_open and x == low)):
        raise _fail(field, what, value)
    if high is not None and (x > high or (high_open and x == high)):
        raise _fail(field, what, value)
    return x


def _int(field: str, value: object, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise _fail(field, f"an integer >= {low}", value)
    return int(value)


def _choice(field: str, value: object) -> str:
    options = _CHOICES[field]
    if isinstance(value, str):
        key = value.strip().lower().replace("-", "_")
        key = _ALIASES[field].get(key, key)
        if key in options:
            return key
    raise _fail(field, f"one of {list(options)}", value)


@dataclass(frozen=True)
class SchedulePoint:
    """One point of a ``piecewise`` schedule: the values that hold from ``epoch`` on.

    A value left ``None`` keeps the one before (the previous points', else the recipe's own
    field). :class:`Recipe` builds these from mappings such as ``{"epoch": 5, "lr": 0.03}``
    and checks them; :meth:`to_dict` gives that mapping back.

    Attributes:
        epoch: The epochs trained before the values apply (0: from the start; 5: from the
            sixth epoch, the one reported as epoch 6).
        lr: The learning rate of every step of these epochs.
        momentum: The optimizer's momentum (``sgd``, ``momentum``, ``nesterov``, ``rmsprop``).
        weight_decay: The weight decay of the weights (as :attr:`Recipe.weight_decay`).
        label_smoothing: The label smoothing of the classification loss.
    """

    epoch: int
    lr: float | None = None
    momentum: float | None = None
    weight_decay: float | None = None
    label_smoothing: float | None = None

    def values(self) -> dict[str, float]:
        """The values this point sets (those not ``None``), by name."""
        out: dict[str, float] = {}
        for name in PIECEWISE_VALUES:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def to_dict(self) -> dict[str, Any]:
        """``{"epoch": ..., <value>: ...}`` with only the values this point sets."""
        return {"epoch": self.epoch, **self.values()}


@dataclass(frozen=True)
class Recipe:
    """How to train a network: initialisation, optimizer, learning rate and schedule, batches.

    Every field is a JSON value; :meth:`to_dict` and :meth:`from_dict` round-trip. Fields that
    the chosen initialiser, optimizer or schedule does not use are kept but ignored
    (:meth:`active_params` lists the ones that matter). Names accept aliases
    (``xavier_uniform``, ``kaiming_normal``, ``onecycle``, ...) and are stored canonically.

    Attributes:
        weight_init: One of :data:`WEIGHT_INITS`. ``glorot_*``, ``he_*`` (for ReLU) and
            ``lecun_*`` scale by the layer's fan-in/fan-out; ``constant`` warns, as identical
            weights do not break symmetry.
        init_std: Standard deviation of ``normal``.
        init_limit: Half-width of ``uniform`` (weights in ``[-limit, limit]``).
        init_gain: Gain of ``orthogonal``.
        init_value: Value of ``constant`` weights.
        pretrained_path: Checkpoint or state-dict file for ``pretrained`` (without it, the
            trainer must be given the baseline's state); parameters whose name and shape match
            are copied, the others are left as they are.
        bias_init: One of :data:`BIAS_INITS`.
        bias_value: Value of ``constant`` biases.
        optimizer: One of :data:`OPTIMIZERS`.
        lr: The learning rate (the peak for ``one_cycle``, the target of the warm-up).
        momentum: Momentum of ``sgd``, ``momentum``, ``nesterov`` and ``rmsprop``; ``None``
            means 0.9 for ``momentum``/``nesterov`` and 0 otherwise. Not allowed with
            ``gd``, ``adam`` and ``adamw`` (use ``beta1``).
        beta1: Adam's first-moment decay.
        beta2: Adam's second-moment decay.
        rho: RMSprop's squared-gradient decay.
        eps: The denominator's epsilon of Adam, AdamW and RMSprop.
        weight_decay: Weight decay of weights (not biases or normalisation parameters); L2
            for the SGD family, Adam and RMSprop, decoupled for AdamW.
        schedule: One of :data:`SCHEDULES`.
        piecewise: ``piecewise``'s points: a list of mappings (or :class:`SchedulePoint`),
            each an ``epoch`` and the values of :data:`PIECEWISE_VALUES` that hold from that
            epoch until a later point changes them: ``[{"epoch": 0, "lr": 0.1, "momentum":
            0.9}, {"epoch": 5, "lr": 0.03}]``. Epochs count the epochs trained before (the
            first is 0, then strictly increasing, each below ``epochs``); the first point
            sets ``lr``; a value no point sets is the recipe's own field. The rate is
            constant within an epoch; ``lr`` itself is not used. Stored as a tuple of
            :class:`SchedulePoint`; ``None`` for the other schedules.
        warmup_epochs: Linear warm-up length in epochs (fractions allowed), before the
            schedule, whose clock starts when the warm-up ends (not with ``piecewise``).
        step_size: ``step``: epochs between decays.
        step_gamma: ``step``: the factor at each decay.
        exp_gamma: ``exponential``: the factor per epoch (applied smoothly per step).
        min_lr: The floor of ``cosine`` and ``plateau``.
        pct_start: ``one_cycle``: the share of steps spent rising to ``lr``.
        div_factor: ``one_cycle``: starts at ``lr / div_factor``.
        final_div_factor: ``one_cycle``: ends at ``lr / div_factor / final_div_factor``.
        plateau_factor: ``plateau``: the factor at each reduction.
        plateau_patience: ``plateau``: epochs without improvement of the validation loss
            before a reduction.
        plateau_threshold: ``plateau``: the relative improvement that counts.
        batch_size: Samples per step (``gd`` uses the whole training split).
        epochs: Training epochs.
        label_smoothing: Label smoothing of the classification loss (training only).
        grad_clip_norm: Clip the gradients' global L2 norm to this, or ``None``.

    Example:
        >>> r = Recipe(optimizer="momentum", lr=0.05, schedule="cosine", warmup_epochs=1)
        >>> Recipe.from_dict(r.to_dict()) == r
        True
    """

    weight_init: str = "default"
    init_std: float = 0.05
    init_limit: float = 0.05
    init_gain: float = 1.0
    init_value: float = 0.0
    pretrained_path: str | None = None
    bias_init: str = "default"
    bias_value: float = 0.0
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float | None = None
    beta1: float = 0.9
    beta2: float = 0.999
    rho: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    schedule: str = "constant"
    piecewise: tuple[SchedulePoint, ...] | None = None
    warmup_epochs: float = 0.0
    step_size: int = 10
    step_gamma: float = 0.5
    exp_gamma: float = 0.95
    min_lr: float = 0.0
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    plateau_factor: float = 0.1
    plateau_patience: int = 5
    plateau_threshold: float = 1e-4
    batch_size: int = 32
    epochs: int = 10
    label_smoothing: float = 0.0
    grad_clip_norm: float | None = None

    FIELDS: ClassVar[tuple[str, ...]]

    def __post_init__(self) -> None:
        values = _validate(self)
        for name, value in values.items():
            object.__setattr__(self, name, value)

    # --- conversions ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return every field as a JSON-able dict (``piecewise``: a list of mappings)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        if self.piecewise is not None:
            out["piecewise"] = [point.to_dict() for point in self.piecewise]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        """Build a recipe from a dict of fields; missing fields take their defaults.

        Raises:
            InvalidRecipeError: An unknown key (with the closest valid one) or a bad value.
        """
        if not isinstance(data, Mapping):
            raise InvalidRecipeError("", f"recipe must be a mapping of fields, got {data!r}")
        for key in data:
            if key not in cls.FIELDS:
                close = difflib.get_close_matches(str(key), cls.FIELDS, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise InvalidRecipeError(
                    str(key),
                    f"recipe.{key} is not a recipe field; valid fields are "
                    f"{list(cls.FIELDS)}.{hint}",
                )
        return cls(**dict(data))

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, base: Recipe | None = None, prefix: str = ""
    ) -> Recipe:
        """Build a recipe from a flat sampled configuration (see ``default_recipe_space``).

        The configuration of a trial holds other parameters too (the architecture's), so
        keys that are not recipe fields, after stripping ``prefix``, are not used.

        Args:
            config: The sampled values, e.g. ``{"optimizer": "adam", "lr": 0.003, ...}``.
            base: Supplies the fields the configuration does not set (default: defaults).
            prefix: Only keys starting with it are read, with it removed (e.g. ``"recipe."``).
        """
        values = {
            key[len(prefix) :]: value
            for key, value in config.items()
            if key.startswith(prefix) and key[len(prefix) :] in cls.FIELDS
        }
        start = (base or cls()).to_dict()
        if "optimizer" in values and "momentum" not in values:
            start["momentum"] = None  # the base's momentum may not suit the new optimizer
        if "weight_init" in values and values["weight_init"] != "pretrained":
            start["pretrained_path"] = None
        if (
            "schedule" in values
            and "piecewise" not in values
            and _choice("schedule", values["schedule"]) != "piecewise"
        ):
            start["piecewise"] = None  # the base's points belong to its piecewise schedule
        return cls(**{**start, **values})

    def replace(self, **changes: Any) -> Recipe:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # --- derived values ------------------------------------------------------------------

    @property
    def effective_momentum(self) -> float:
        """The momentum the optimizer uses (``momentum`` or its default)."""
        if self.momentum is not None:
            return self.momentum
        return _DEFAULT_MOMENTUM.get(self.optimizer, 0.0)

    def piecewise_changes(self) -> list[tuple[int, str]]:
        """Where ``piecewise`` changes a value after the start: ``(point index, value name)``.

        A later point changes a value when it sets it to something other than what the points
        before it set (a value that no earlier point set counts as changed). Empty for the
        other schedules.

        Example:
            >>> r = Recipe(optimizer="sgd", schedule="piecewise", piecewise=[
            ...     {"epoch": 0, "lr": 0.1, "momentum": 0.9},
            ...     {"epoch": 2, "lr": 0.01, "momentum": 0.9, "weight_decay": 1e-4}])
            >>> r.piecewise_changes()
            [(1, 'lr'), (1, 'weight_decay')]
        """
        changes: list[tuple[int, str]] = []
        held: dict[str, float] = {}
        for i, point in enumerate(self.piecewise or ()):
            for name, value in point.values().items():
                if i > 0 and held.get(name) != value:
                    changes.append((i, name))
                held[name] = value
        return changes

    @property
    def full_batch(self) -> bool:
        """Whether each step sees the whole training split (``optimizer="gd"``)."""
        return self.optimizer == "gd"

    def active_params(self) -> dict[str, Any]:
        """Return the fields that matter for this recipe's choices, for reports."""
        names: list[str] = ["weight_init", *_INIT_FIELDS.get(self.weight_init, ())]
        names += ["bias_init"] + (["bias_value"] if self.bias_init == "constant" else [])
        names += ["optimizer"] + ([] if self.piecewise is not None else ["lr"])
        names += _OPTIMIZER_FIELDS[self.optimizer]
        if self.weight_decay:
            names.append("weight_decay")
        names += ["schedule", *_SCHEDULE_FIELDS[self.schedule]]
        if self.warmup_epochs:
            names.append("warmup_epochs")
        if not self.full_batch:
            names.append("batch_size")
        names.append("epochs")
        if self.label_smoothing:
            names.append("label_smoothing")
        if self.grad_clip_norm is not None:
            names.append("grad_clip_norm")
        out = {name: getattr(self, name) for name in names}
        if self.piecewise is not None:
            out["piecewise"] = [point.to_dict() for point in self.piecewise]
        if "momentum" in out:
            out["momentum"] = self.effective_momentum
        return out


Recipe.FIELDS = tuple(f.name for f in dataclasses.fields(Recipe))


def _validate(r: Recipe) -> dict[str, Any]:
    """Check every field; return the canonical values (choices un-aliased, numbers cast)."""
    v: dict[str, Any] = {name: _choice(name, getattr(r, name)) for name in _CHOICES}
    v["init_std"] = _real("init_std", r.init_std, low=0, low_open=True)
    v["init_limit"] = _real("init_limit", r.init_limit, low=0, low_open=True)
    v["init_gain"] = _real("init_gain", r.init_gain, low=0, low_open=True)
    v["init_value"] = _real("init_value", r.init_value)
    v["bias_value"] = _real("bias_value", r.bias_value)
    if r.pretrained_path is not None:
        if not isinstance(r.pretrained_path, str) or not r.pretrained_path:
            raise _fail("pretrained_path", "a non-empty path string or None", r.pretrained_path)
        if v["weight_init"] != "pretrained":
            raise InvalidRecipeError(
                "pretrained_path",
                f"recipe.pretrained_path is set but recipe.weight_init is "
                f"{v['weight_init']!r}; set weight_init='pretrained' or remove pretrained_path",
            )
    v["lr"] = _real("lr", r.lr, low=0, low_open=True)
    optimizer = v["optimizer"]
    if r.momentum is not None:
        if optimizer in ("gd", "adam", "adamw"):
            raise InvalidRecipeError(
                "momentum",
                f"recipe.momentum does not apply to optimizer={optimizer!r}, got "
                f"{r.momentum!r}; remove it"
                + (" (Adam's momentum is beta1)" if optimizer != "gd" else " or use 'momentum'"),
            )
        low_open = optimizer == "nesterov"
        v["momentum"] = _real(
            "momentum", r.momentum, low=0, high=1, low_open=low_open, high_open=True
        )
    v["beta1"] = _real("beta1", r.beta1, low=0, high=1, high_open=True)
    v["beta2"] = _real("beta2", r.beta2, low=0, high=1, high_open=True)
    v["rho"] = _real("rho", r.rho, low=0, high=1, high_open=True)
    v["eps"] = _real("eps", r.eps, low=0, low_open=True)
    v["weight_decay"] = _real("weight_decay", r.weight_decay, low=0)
    v["warmup_epochs"] = _real("warmup_epochs", r.warmup_epochs, low=0)
    v["step_size"] = _int("step_size", r.step_size, low=1)
    v["step_gamma"] = _real("step_gamma", r.step_gamma, low=0, high=1, low_open=True)
    v["exp_gamma"] = _real("exp_gamma", r.exp_gamma, low=0, high=1, low_open=True)
    v["min_lr"] = _real("min_lr", r.min_lr, low=0)
    if v["min_lr"] > v["lr"]:
        raise InvalidRecipeError(
            "min_lr", f"recipe.min_lr must be <= recipe.lr ({v['lr']:g}), got {r.min_lr!r}"
        )
    v["pct_start"] = _real("pct_start", r.pct_start, low=0, high=1, low_open=True, high_open=True)
    v["div_factor"] = _real("div_factor", r.div_factor, low=1)
    v["final_div_factor"] = _real("final_div_factor", r.final_div_factor, low=1)
    v["plateau_factor"] = _real(
        "plateau_factor", r.plateau_factor, low=0, high=1, low_open=True, high_open=True
    )
    v["plateau_patience"] = _int("plateau_patience", r.plateau_patience, low=1)
    v["plateau_threshold"] = _real(
        "plateau_threshold", r.plateau_threshold, low=0, high=1, high_open=True
    )
    v["batch_size"] = _int("batch_size", r.batch_size, low=1)
    v["epochs"] = _int("epochs", r.epochs, low=1)
    if v["warmup_epochs"] > v["epochs"]:
        raise InvalidRecipeError(
            "warmup_epochs",
            f"recipe.warmup_epochs must be <= recipe.epochs ({v['epochs']}), "
            f"got {r.warmup_epochs!r}",
        )
    v["piecewise"] = _piecewise(r.piecewise, v)
    if v["schedule"] == "piecewise" and v["warmup_epochs"] > 0:
        raise InvalidRecipeError(
            "warmup_epochs",
            "recipe.warmup_epochs must be 0 with schedule='piecewise' (its points set every "
            f"epoch's rate: write a warm-up as points), got {r.warmup_epochs!r}",
        )
    v["label_smoothing"] = _real(
        "label_smoothing", r.label_smoothing, low=0, high=1, high_open=True
    )
    if r.grad_clip_norm is not None:
        v["grad_clip_norm"] = _real("grad_clip_norm", r.grad_clip_norm, low=0, low_open=True)
    return v


_EXAMPLE = "[{epoch: 0, lr: 0.1}, {epoch: 5, lr: 0.01}]"


def _piecewise(points: object, v: Mapping[str, Any]) -> tuple[SchedulePoint, ...] | None:
    """Check ``recipe.piecewise`` against the canonical ``schedule``, ``optimizer`` and
    ``epochs`` in ``v``; return its points as :class:`SchedulePoint`."""
    schedule = v["schedule"]
    if points is None:
        if schedule == "piecewise":
            raise InvalidRecipeError(
                "piecewise",
                "recipe.piecewise must be a non-empty list of points with "
                f"schedule='piecewise', e.g. {_EXAMPLE}, got None",
            )
        return None
    if schedule != "piecewise":
        raise InvalidRecipeError(
            "piecewise",
            f"recipe.piecewise is set but recipe.schedule is {schedule!r}; set "
            "schedule='piecewise' or remove piecewise",
        )
    if isinstance(points, str | bytes | Mapping) or not isinstance(points, Sequence) or not points:
        raise InvalidRecipeError(
            "piecewise",
            f"recipe.piecewise must be a non-empty list of points, e.g. {_EXAMPLE}, "
            f"got {points!r}",
        )
    out: list[SchedulePoint] = []
    for i, point in enumerate(points):
        out.append(_point(i, point, out[-1].epoch if out else None, v))
    return tuple(out)


def _point(i: int, point: object, previous: int | None, v: Mapping[str, Any]) -> SchedulePoint:
    path = f"piecewise[{i}]"
    data = point.to_dict() if isinstance(point, SchedulePoint) else point
    if not isinstance(data, Mapping):
        raise InvalidRecipeError(
            "piecewise",
            f"recipe.{path} must be a mapping of an epoch and values, e.g. "
            f"{{epoch: 5, lr: 0.01}}, got {point!r}",
        )
    allowed = ("epoch", *PIECEWISE_VALUES)
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise InvalidRecipeError(
                "piecewise",
                f"recipe.{path}.{key} is not a value of a piecewise point; allowed: "
                f"{', '.join(allowed)}.{hint}",
            )
    epoch = data.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Integral) or epoch < 0:
        raise InvalidRecipeError(
            "piecewise", f"recipe.{path}.epoch must be an integer >= 0, got {epoch!r}"
        )
    epoch = int(epoch)
    if previous is None and epoch != 0:
        raise InvalidRecipeError(
            "piecewise",
            f"recipe.{path}.epoch must be 0 (the first point sets the values from the start), "
            f"got {epoch}",
        )
    if previous is not None and epoch <= previous:
        raise InvalidRecipeError(
            "piecewise",
            f"recipe.{path}.epoch must be greater than the previous point's ({previous}), "
            f"got {epoch}",
        )
    if epoch >= v["epochs"]:
        raise InvalidRecipeError(
            "piecewise",
            f"recipe.{path}.epoch must be < recipe.epochs ({v['epochs']}), got {epoch}; "
            "remove the point or train longer",
        )
    if previous is None and data.get("lr") is None:
        raise InvalidRecipeError(
            "piecewise",
            f"recipe.{path} must set lr (the rate from epoch 0), got {dict(data)!r}",
        )
    values: dict[str, float] = {}
    optimizer = v["optimizer"]
    for name in PIECEWISE_VALUES:
        value = data.get(name)
        if value is None:
            continue
        field = f"{path}.{name}"
        try:
            if name == "lr":
                values[name] = _real(field, value, low=0, low_open=True)
            elif name == "momentum":
                if optimizer not in _MOMENTUM_OPTIMIZERS:
                    why = "Adam's momentum is beta1" if optimizer != "gd" else "gd has none"
                    raise InvalidRecipeError(
                        field,
                        f"recipe.{field} does not apply to optimizer={optimizer!r}, got "
                        f"{value!r}; remove it ({why}) or use one of "
                        f"{list(_MOMENTUM_OPTIMIZERS)}",
                    )
                values[name] = _real(
                    field, value, low=0, high=1, low_open=optimizer == "nesterov", high_open=True
                )
            elif name == "weight_decay":
                values[name] = _real(field, value, low=0)
            else:
                values[name] = _real(field, value, low=0, high=1, high_open=True)
        except InvalidRecipeError as exc:
            raise InvalidRecipeError("piecewise", str(exc)) from None
    return SchedulePoint(epoch, **values)
