"""The shrink trial: a child of a parent model, initialised, fine-tuned, measured and saved.

A task's configuration is plain data (it travels to worker processes like any trial's):

- ``parent``: ``{"network": Network.to_dict(), "model": path | None}``: the model it starts
  from (``model`` is a file the backend saved; ``None``: nothing to start from);
- ``delta``: ``shrink.*`` keys relative to the parent's layers (:func:`apply_shrink`);
- ``init``: ``pretrained`` (the parent's pruned weights) or ``scratch``;
- ``recipe``: recipe fields over the objective's base recipe (``lr``, ``schedule``...);
- ``epochs``: epochs of training; ``train_fraction``: the share of the training split used
  (a seeded stratum-free subset; search steps use half of it);
- ``distill``: whether to learn from the baseline's logits as well;
- ``save``: where the trained model goes (``None``: not saved).

Everything framework-specific goes through the backend (:func:`archtune.backends.get_backend`);
pruning itself computes on the weights with PyTorch (:func:`prune_state`).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from archtune._errors import ConfigError
from archtune._reporter import NullReporter, Reporter
from archtune.arch import Network, estimate_cost
from archtune.data import load_cached
from archtune.recipe import Recipe
from archtune.shrinking._space import apply_shrink, shrink_plan

if TYPE_CHECKING:
    from archtune.backends import BaseBackend
    from archtune.data import Dataset

__all__ = ["INITS", "INIT_KEY", "ShrinkObjective", "child_network", "pruned_weights"]

INIT_KEY = "shrink.init"
"""The parameter that says where a candidate's weights start: ``pretrained`` or ``scratch``."""

INITS = ("pretrained", "scratch")


def child_network(task: Mapping[str, Any]) -> Network:
    """The network a task trains: its parent shrunk by its ``delta``.

    Raises:
        InfeasibleNetworkError: the shrunk layers do not fit together.
    """
    parent = Network.from_dict(dict(task["parent"]["network"]))
    return apply_shrink(parent, task.get("delta") or {})


def pruned_weights(
    backend: BaseBackend, task: Mapping[str, Any], child: Network
) -> dict[str, np.ndarray]:
    """The child's entries that come from the parent's saved model (structured L1 pruning)."""
    import torch

    from archtune.shrinking._prune import prune_state

    parent_spec = task["parent"]
    parent = Network.from_dict(dict(parent_spec["network"]))
    state = _parent_state(backend.name, str(parent_spec["model"]))
    tensors = {k: torch.as_tensor(v) for k, v in state.items()}
    delta = task.get("delta") or {}
    entries = prune_state(parent, tensors, child, shrink_plan(parent, delta))
    return {k: v.detach().cpu().numpy() for k, v in entries.items()}


@functools.lru_cache(maxsize=4)
def _parent_state(backend_name: str, path: str) -> dict[str, np.ndarray]:
    """A saved model's weights and buffers, read once per process (siblings share a parent)."""
    from archtune.backends import get_backend

    backend = get_backend(backend_name)
    return dict(backend.get_state(backend.load(path)))


@functools.lru_cache(maxsize=2)
def _teacher_logits(path: str) -> np.ndarray:
    loaded: np.ndarray = np.load(path)
    return loaded


def train_subset(dataset: Dataset, fraction: float, seed: int) -> np.ndarray | None:
    """The rows of the training split a ``fraction < 1`` task trains on (seeded)."""
    if fraction >= 1:
        return None
    n = dataset.n_train
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(n)[: max(1, round(n * fraction))])


@dataclass(frozen=True)
class ShrinkObjective:
    """``objective(task, reporter)`` for one shrink task; picklable plain data.

    Attributes:
        data: Keyword arguments of :func:`archtune.data.load_dataset` (``dataset`` = spec).
        recipe: The base recipe's fields (the baseline's recipe).
        backend: ``torch`` or ``keras``: the framework that builds and trains.
        teacher: A ``.npy`` file of the baseline's logits on the training split (for tasks
            with ``distill``).
        temperature: Distillation's temperature.
        alpha: Distillation's weight of the soft targets.
    """

    data: tuple[tuple[str, Any], ...]
    recipe: Mapping[str, Any] = field(default_factory=dict)
    backend: str = "torch"
    teacher: str | None = None
    temperature: float = 4.0
    alpha: float = 0.7

    def __str__(self) -> str:
        return f"shrink on {dict(self.data)['dataset']}"

    def recipe_of(self, task: Mapping[str, Any]) -> Recipe:
        """The task's recipe: the base recipe's fields, then the task's."""
        fields = {**dict(self.recipe), **dict(task.get("recipe") or {})}
        fields["epochs"] = int(task.get("epochs", fields.get("epochs", 1)))
        return Recipe.from_dict(fields)

    def run(
        self, task: Mapping[str, Any], *, reporter: Reporter | None = None, seed: int = 0
    ) -> tuple[Any, dict[str, float]]:
        """Build, initialise, train and evaluate the task's model.

        Returns:
            The trained model (the backend's object) and its metrics: ``val_*``, ``params``,
            ``flops``, ``epochs`` (counted in full passes over the training split) and
            ``train_time_s``.
        """
        from archtune.backends import Distillation, get_backend

        backend = get_backend(self.backend)
        network = child_network(task)
        model = backend.build(network, seed=seed)
        keep = False
        if task.get("init", "pretrained") == "pretrained" and task["parent"].get("model"):
            entries = pruned_weights(backend, task, network)
            if entries:
                backend.set_state(model, entries)
                keep = True
        dataset = load_cached(self.data)
        fraction = float(task.get("train_fraction", 1.0))
        rows = train_subset(dataset, fraction, seed)
        distill = None
        if task.get("distill") and self.teacher is not None:
            logits = _teacher_logits(self.teacher)
            distill = Distillation(
                teacher_logits=logits if rows is None else logits[rows],
                temperature=self.temperature,
                alpha=self.alpha,
            )
        if rows is not None:
            dataset = dataclasses.replace(
                dataset, x_train=dataset.x_train[rows], y_train=dataset.y_train[rows]
            )
        recipe = self.recipe_of(task)
        started = time.perf_counter()
        result = backend.fit(
            model,
            dataset,
            recipe,
            reporter=reporter,
            seed=seed,
            keep_weights=keep,
            distill=distill,
        )
        elapsed = time.perf_counter() - started
        cost = estimate_cost(network)
        metrics = {
            k: float(v) for k, v in result.metrics.items() if k.startswith(("val_", "train_"))
        }
        metrics.update(
            params=float(cost.params),
            flops=float(cost.flops),
            epochs=float(result.epochs_run) * min(1.0, fraction),
            train_time_s=elapsed,
        )
        return model, metrics

    def __call__(
        self, task: Mapping[str, Any], reporter: Reporter | None = None
    ) -> dict[str, float]:
        """Run one task in a worker; save its model when the task says where."""
        from archtune.backends import get_backend

        reporter = reporter if reporter is not None else NullReporter()
        seed = reporter.seed if reporter.seed is not None else 0
        if "parent" not in task:
            raise ConfigError(f"{self}: a task needs a parent, got keys {sorted(task)}")
        model, metrics = self.run(task, reporter=reporter, seed=seed)
        if task.get("save"):
            get_backend(self.backend).save(model, str(task["save"]))
        return metrics
