"""The shrink trial: shrink the baseline as the configuration says, initialise, train, measure."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archtune._reporter import NullReporter, Reporter
from archtune.arch import Network, estimate_cost
from archtune.recipe import Recipe
from archtune.shrinking._space import apply_shrink, shrink_plan
from archtune.training._objective import load_cached

if TYPE_CHECKING:
    import torch

    from archtune.backends.torch import NetworkModule

__all__ = ["INITS", "INIT_KEY", "ShrinkObjective"]

INIT_KEY = "shrink.init"
"""The parameter that says where a candidate's weights start: ``pretrained`` or ``scratch``."""

INITS = ("pretrained", "scratch")


@functools.lru_cache(maxsize=2)
def _load_state(path: str) -> dict[str, torch.Tensor]:
    """The baseline's state dict, read once per process."""
    from archtune.backends.torch import read_state_dict

    return dict(read_state_dict(path))


@dataclass(frozen=True)
class ShrinkObjective:
    """``train(config, reporter)`` for one shrunk candidate; picklable plain data.

    Attributes:
        network: The baseline's ``Network.to_dict()``.
        data: Keyword arguments of :func:`archtune.data.load_dataset` (``dataset`` = spec).
        recipe: The recipe fields no parameter sets (the baseline's recipe).
        baseline_state: A file with the baseline's trained state dict (``None``: every
            candidate starts from scratch).
    """

    network: Mapping[str, Any]
    data: tuple[tuple[str, Any], ...]
    recipe: Mapping[str, Any] = field(default_factory=dict)
    baseline_state: str | None = None

    def __str__(self) -> str:
        return (
            f"shrink of {self.network.get('name') or 'a network'} on {dict(self.data)['dataset']}"
        )

    @property
    def baseline(self) -> Network:
        """The baseline network."""
        return Network.from_dict(dict(self.network))

    def build(self, config: Mapping[str, Any]) -> Network:
        """The candidate's network.

        Raises:
            InfeasibleNetworkError: its layers do not fit together.
        """
        return apply_shrink(self.baseline, config)

    def precheck(
        self, config: Mapping[str, Any], *, with_latency: bool = False
    ) -> dict[str, float]:
        """The candidate's cost before training (latency: one measurement, when asked).

        Raises:
            InfeasibleNetworkError: its network cannot be built.
        """
        network = self.build(config)
        cost = estimate_cost(network)
        result = {"params": float(cost.params), "flops": float(cost.flops)}
        if with_latency:
            from archtune.backends.torch import build_module, measure_latency

            latency = measure_latency(build_module(network), network.input_shape, batch_sizes=(1,))
            result["latency_ms"] = float(latency[1])
        return result

    def recipe_of(self, config: Mapping[str, Any], *, epochs: int | None = None) -> Recipe:
        """The candidate's recipe: the baseline's fields, then the sampled ones."""
        recipe = Recipe.from_config(config, base=Recipe.from_dict(dict(self.recipe)))
        return recipe if epochs is None else dataclasses.replace(recipe, epochs=epochs)

    def train(
        self,
        config: Mapping[str, Any],
        *,
        reporter: Reporter | None = None,
        seed: int = 0,
        epochs: int | None = None,
    ) -> tuple[NetworkModule, dict[str, float]]:
        """Build, initialise (pruned baseline weights or scratch) and train one candidate.

        Returns:
            The trained module and its metrics: the trainer's (``val_*``, ``test_*``), the
            cost (``params``, ``flops``), ``epochs`` and ``train_time_s``.
        """
        import torch

        from archtune.backends.torch import apply_initialisation, build_module, fit
        from archtune.shrinking._prune import prune_state

        torch.set_num_threads(1)
        baseline = self.baseline
        network = apply_shrink(baseline, config)
        module = build_module(network)
        recipe = self.recipe_of(config, epochs=epochs)
        apply_initialisation(module, recipe, seed=seed)  # fresh layers: seeded
        state = None
        if config.get(INIT_KEY, "scratch") == "pretrained" and self.baseline_state is not None:
            plan = shrink_plan(baseline, config)
            state = prune_state(baseline, _load_state(self.baseline_state), network, plan)
            recipe = dataclasses.replace(recipe, weight_init="pretrained")
        dataset = load_cached(self.data)
        started = time.perf_counter()
        if state is not None and not state:  # nothing survived: keep the fresh weights
            recipe = dataclasses.replace(recipe, weight_init="keep")
        result = fit(module, dataset, recipe, reporter=reporter, seed=seed, pretrained_state=state)
        elapsed = time.perf_counter() - started
        cost = estimate_cost(network)
        metrics = {
            **result.metrics,
            "params": float(cost.params),
            "flops": float(cost.flops),
            "epochs": float(result.epochs_run),
            "train_time_s": elapsed,
        }
        return module, metrics

    def __call__(
        self, config: Mapping[str, Any], reporter: Reporter | None = None
    ) -> dict[str, float]:
        """Train one candidate; return its final metrics, cost and latency."""
        from archtune.backends.torch import measure_latency

        reporter = reporter if reporter is not None else NullReporter()
        seed = reporter.seed if reporter.seed is not None else 0
        module, metrics = self.train(config, reporter=reporter, seed=seed)
        latency = measure_latency(module, tuple(self.network["input_shape"]), batch_sizes=(1,))
        return {**metrics, "latency_ms": float(latency[1])}
