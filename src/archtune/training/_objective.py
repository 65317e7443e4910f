"""The built-in objective: build the trial's network, train it with its recipe, measure it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archtune._reporter import NullReporter, Reporter
from archtune.arch import estimate_cost
from archtune.data import load_cached
from archtune.recipe import Recipe
from archtune.training._model import ModelSpec
from archtune.training._staged import fit_in_stages

if TYPE_CHECKING:
    pass

__all__ = ["COST_METRICS", "TrainObjective", "load_cached", "metric_names"]

COST_METRICS = ("params", "flops", "latency_ms")
"""Metrics every built-in trial reports besides its training metrics."""


def metric_names(task: str) -> list[str]:
    """Every metric a built-in trial of ``task`` returns (any can be an objective)."""
    quality = ["accuracy"] if task == "classification" else ["mse", "mae"]
    names = ["train_loss", "val_loss", *(f"val_{q}" for q in quality)]
    names += ["test_loss", *(f"test_{q}" for q in quality)]
    return [*names, *COST_METRICS, "epochs"]


@dataclass(frozen=True)
class TrainObjective:
    """``train(config, reporter)`` for configs with ``model:``/``data:``/``recipe:`` blocks.

    Picklable plain data: each worker process rebuilds everything from it and the trial's
    configuration (parameters are data).

    Attributes:
        model: Which network to build.
        data: Keyword arguments of :func:`archtune.data.load_dataset` (``dataset`` = spec).
        recipe: Recipe fields that no parameter of the space sets (``piecewise``'s points,
            which are not a parameter: a list would be a choice).
        backend: ``"torch"``.
        stages: ``scheduler: {fidelity: data}``: ``(fraction of the training split,
            epoch-equivalent steps)`` per stage, trained in turn (:func:`fit_in_stages`);
            empty: one training on the whole split. Not part of :meth:`to_record`: a trial
            rebuilt from the study (an export) trains its recipe once, on all the data, as
            its last stage did.
    """

    model: ModelSpec
    data: tuple[tuple[str, Any], ...]
    recipe: Mapping[str, Any] = field(default_factory=dict)
    backend: str = "torch"
    stages: tuple[tuple[float, int], ...] = ()

    def to_record(self) -> dict[str, Any]:
        """The JSON-able form kept in the study (``archtune.builtin``), to rebuild trials."""
        return {
            "model": {
                "network": dict(self.model.network) if self.model.network is not None else None,
                "family": self.model.family,
                "input_shape": list(self.model.input_shape),
                "n_outputs": self.model.n_outputs,
                "head_activation": self.model.head_activation,
            },
            "data": dict(self.data),
            "recipe": dict(self.recipe),
            "backend": self.backend,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> TrainObjective:
        """Rebuild the objective from :meth:`to_record`'s form."""
        model = record["model"]
        spec = ModelSpec(
            model["network"],
            model["family"],
            tuple(model["input_shape"]),
            int(model["n_outputs"]),
            str(model["head_activation"]),
        )
        return cls(
            model=spec,
            data=tuple(sorted(record["data"].items())),
            recipe=dict(record.get("recipe", {})),
            backend=str(record.get("backend", "torch")),
        )

    def __str__(self) -> str:
        dataset = dict(self.data)["dataset"]
        return f"built-in {self.backend} training of {self.model.describe()} on {dataset}"

    def precheck(
        self, config: Mapping[str, Any], *, with_latency: bool = False
    ) -> dict[str, float]:
        """The configuration's cost, known before training: params and FLOPs from the cost
        model and, with ``with_latency``, one quick latency measurement of the built model.

        Raises:
            InfeasibleNetworkError: its network cannot be built.
        """
        network = self.model.build(config)
        cost = estimate_cost(network)
        result = {"params": float(cost.params), "flops": float(cost.flops)}
        if with_latency:  # measured on the framework that will train it
            from archtune.backends import get_backend

            backend = get_backend(self.backend)
            model = backend.build(network)
            latency = backend.measure_latency(model, network.input_shape, batch_sizes=(1,))
            result["latency_ms"] = float(latency[1])
        return result

    def recipe_of(self, config: Mapping[str, Any]) -> Recipe:
        """The trial's recipe: the fixed fields, then the sampled ones."""
        fixed = dict(self.recipe)
        if "piecewise" in fixed:  # its points are checked against the trial's epochs
            config = {**config, "schedule": "piecewise", "piecewise": fixed.pop("piecewise")}
            fixed.pop("schedule", None)
        return Recipe.from_config(config, base=Recipe.from_dict(fixed))

    def __call__(
        self, config: Mapping[str, Any], reporter: Reporter | None = None
    ) -> dict[str, float]:
        """Train one configuration with the backend; return its final metrics and cost.

        With a reporter that keeps checkpoints (a study with an artifact store), the torch
        backend saves the training state after every epoch and a rerun of the trial (its
        worker died, its driver was stopped) continues from the last one; ``epochs`` counts
        every epoch trained, the restored ones included. With :attr:`stages` it trains them in
        turn (no checkpoints) and ``epochs`` counts epoch-equivalents over every stage.
        """
        from archtune.backends import get_backend

        reporter = reporter if reporter is not None else NullReporter()
        backend = get_backend(self.backend)
        network = self.model.build(config)
        cost = estimate_cost(network)
        dataset = load_cached(self.data)
        seed = reporter.seed if reporter.seed is not None else 0
        recipe = self.recipe_of(config)
        if self.stages:
            model, result, epochs = fit_in_stages(
                backend, network, dataset, recipe, self.stages, reporter=reporter, seed=seed
            )
        else:
            model = backend.build(network, seed=seed)
            # Checkpoints every epoch where the reporter keeps them; a rerun resumes (torch).
            result = backend.fit(
                model, dataset, recipe, reporter=reporter, seed=seed, resumable=True
            )
            epochs = result.epochs_run
        latency = backend.measure_latency(model, network.input_shape, batch_sizes=(1,))
        return {
            **result.metrics,
            "params": float(cost.params),
            "flops": float(cost.flops),
            "latency_ms": float(latency[1]),
            "epochs": float(epochs),
        }
