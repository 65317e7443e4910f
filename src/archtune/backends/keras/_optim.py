"""The Keras optimizer of a :class:`Recipe`, with PyTorch's weight decay and clipping.

Keras's optimizers take the recipe's hyperparameters. Two parts follow the PyTorch backend
instead of Keras's conventions:

- ``weight_decay`` is L2 for ``gd``/``sgd``/``momentum``/``nesterov``, ``adam`` and
  ``rmsprop`` (``weight_decay * w`` added to the gradient, as ``torch.optim`` does; Keras's
  ``weight_decay`` argument is decoupled for every optimizer) and decoupled for ``adamw``.
  Only weights decay (rank >= 2, no ``bias`` in the name), not biases or norm parameters.
- ``grad_clip_norm`` clips the gradients' global L2 norm before the L2 term is added, as
  ``torch.nn.utils.clip_grad_norm_`` before ``optimizer.step()``.

The L2 variants are registered subclasses (``archtune>L2SGD``, ...) so that a compiled model
saved as ``.keras`` loads again.
"""

from __future__ import annotations

from typing import Any

from archtune.backends.keras._init import is_bias
from archtune.backends.keras._keras import import_keras
from archtune.recipe import Recipe

keras = import_keras()
ops = keras.ops
register = keras.saving.register_keras_serializable(package="archtune")
SGD: Any = keras.optimizers.SGD
Adam: Any = keras.optimizers.Adam
RMSprop: Any = keras.optimizers.RMSprop

__all__ = ["L2SGD", "L2Adam", "L2RMSprop", "decays", "make_optimizer"]

_CLIP_EPSILON = 1e-6  # torch.nn.utils.clip_grad_norm_'s


def decays(variable: Any) -> bool:
    """Whether weight decay applies to ``variable`` (a weight of rank >= 2, not a bias)."""
    return len(variable.shape) >= 2 and not is_bias(variable)


def _clip_by_global_norm(grads: list[Any], max_norm: float) -> list[Any]:
    present = [g for g in grads if g is not None]
    if not present:
        return grads
    norm = ops.sqrt(sum(ops.sum(ops.square(g)) for g in present))
    factor = ops.minimum(1.0, max_norm / (norm + _CLIP_EPSILON))
    return [None if g is None else g * ops.cast(factor, g.dtype) for g in grads]


class _CoupledDecay:
    """Adds ``l2 * w`` to each decayed weight's gradient, after optional global clipping."""

    def __init__(
        self, *args: Any, l2: float = 0.0, clip_norm: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.l2 = float(l2)
        self.clip_norm = clip_norm

    def apply(self, grads: Any, trainable_variables: Any = None) -> Any:
        variables = (
            self._trainable_variables  # type: ignore[attr-defined]
            if trainable_variables is None
            else list(trainable_variables)
        )
        grads = list(grads)
        if self.clip_norm is not None:
            grads = _clip_by_global_norm(grads, self.clip_norm)
        grads = [
            g if g is None or not decays(v) else g + ops.cast(self.l2, g.dtype) * v.value
            for g, v in zip(grads, variables, strict=True)
        ]
        return super().apply(grads, trainable_variables)  # type: ignore[misc]

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()  # type: ignore[misc]
        config.update(l2=self.l2, clip_norm=self.clip_norm)
        return config


@register
class L2SGD(_CoupledDecay, SGD):  # type: ignore[misc]
    """Keras's SGD with PyTorch's L2 weight decay and gradient clipping."""


@register
class L2Adam(_CoupledDecay, Adam):  # type: ignore[misc]
    """Keras's Adam with PyTorch's L2 weight decay and gradient clipping."""


@register
class L2RMSprop(_CoupledDecay, RMSprop):  # type: ignore[misc]
    """Keras's RMSprop with PyTorch's L2 weight decay and gradient clipping."""


def make_optimizer(model: Any, recipe: Recipe) -> Any:
    """Create the recipe's Keras optimizer for ``model``'s trainable variables.

    ``gd``, ``sgd``, ``momentum`` and ``nesterov`` are ``keras.optimizers.SGD`` (momentum as
    :attr:`Recipe.effective_momentum`), ``adam``, ``adamw`` and ``rmsprop`` their Keras
    classes (RMSprop's ``rho`` and ``momentum``). The learning rate is ``recipe.lr``; the
    trainer sets every step's rate from the schedule.

    Raises:
        ValueError: The model has no trainable variables.
    """
    if not model.trainable_variables:
        raise ValueError("the model has no trainable variables")
    name, wd, clip = recipe.optimizer, recipe.weight_decay, recipe.grad_clip_norm
    l2 = wd if wd > 0 and name != "adamw" else 0.0
    kwargs: dict[str, Any] = {"learning_rate": recipe.lr}
    if l2:
        kwargs.update(l2=l2, clip_norm=clip)
    elif clip is not None:
        kwargs["global_clipnorm"] = clip
    momentum = recipe.effective_momentum
    if name in ("gd", "sgd", "momentum", "nesterov"):
        cls = L2SGD if l2 else SGD
        return cls(momentum=momentum, nesterov=name == "nesterov", **kwargs)
    if name == "rmsprop":
        cls = L2RMSprop if l2 else RMSprop
        return cls(rho=recipe.rho, momentum=momentum, epsilon=recipe.eps, **kwargs)
    betas = {"beta_1": recipe.beta1, "beta_2": recipe.beta2, "epsilon": recipe.eps}
    if name == "adam":
        cls = L2Adam if l2 else Adam
        return cls(**betas, **kwargs)
    if name == "adamw":
        optimizer = keras.optimizers.AdamW(weight_decay=wd, **betas, **kwargs)
        optimizer.exclude_from_weight_decay(
            var_list=[v for v in model.trainable_variables if not decays(v)]
        )
        return optimizer
    raise ValueError(f"unknown optimizer {name!r}")  # pragma: no cover - Recipe validates
