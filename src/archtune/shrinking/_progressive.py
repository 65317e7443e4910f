"""Progressive shrinking along the front (NetAdapt-style): one layer at a time, from the weights.

Each step starts from the current model (first the trained baseline) and proposes one move per
layer that brings the whole network's cost down to ``step`` of the current cost: the layer's
width cut just enough (its units or filters with the smallest L1 norms go), or the layer
removed where that alone reaches the target. Every proposal starts from the current model's
pruned weights and is fine-tuned briefly (``step_epochs`` epochs on ``train_fraction`` of the
training split, all proposals of a step in parallel); the one most accurate on validation
becomes the next current model. The chain of winners is the ladder: it goes down until the
budget of epochs is spent, the validation accuracy has lost more than ``floor`` of the
baseline's margin over a trivial classifier, or no move is left.

Why this and not a sampler over width multipliers: the search space is a product of per-layer
widths whose good region (non-uniform, narrow where the layer matters least) a sampler samples
rarely at small budgets, while each greedy step needs only one short fine-tune per layer and
always starts from weights that already work (Yang et al., NetAdapt, ECCV 2018).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from archtune._errors import InfeasibleError
from archtune.arch import Conv1D, Conv2D, Dense, Network, Residual
from archtune.shrinking._runner import ShrinkTask
from archtune.shrinking._space import (
    apply_shrink,
    describe_structure,
    removable,
    width_keys,
)
from archtune.shrinking._strategy import (
    BaseShrinkStrategy,
    LadderPoint,
    SearchContext,
    model_path,
    task_config,
)

__all__ = ["ProgressiveStrategy"]


class ProgressiveStrategy(BaseShrinkStrategy):
    """Greedy layer-wise shrinking from the baseline's weights.

    Args:
        step: Each step's target cost, as a share of the current model's.
        step_epochs: Epochs of each proposal's fine-tune.
        train_fraction: The share of the training split a proposal trains on.
        min_steps: The fewest optimizer steps of a proposal's fine-tune (small data sets
            get whole epochs).
        max_cut: The largest share of one layer's width a single move may cut (so no move
            leaps to a one-unit bottleneck; the uniform move shares the cut among layers).
        floor: Stop once the best proposal has lost this share of the baseline's validation
            margin over the trivial classifier (always the most frequent class): 0.5 stops
            halfway between the baseline and chance. A short fine-tune recovers far less than
            the finalists' full one (a resnet at 13x: 75 % after the search step, 96 % after
            the fine-tune), so the ladder goes further down than what is offered.
        target: Stop once the cost is at most the baseline's / ``target`` (``None``: go on
            while the budget lasts).
    """

    name = "progressive"

    def __init__(
        self,
        *,
        step: float = 0.7,
        step_epochs: int = 1,
        train_fraction: float = 0.5,
        min_steps: int = 25,
        max_cut: float = 0.75,
        floor: float = 0.5,
        target: float | None = None,
    ) -> None:
        if not 0 < step < 1:
            raise ValueError(f"step must be in (0, 1), got {step}")
        self.step = step
        self.step_epochs = step_epochs
        self.train_fraction = train_fraction
        self.min_steps = min_steps
        self.max_cut = max_cut
        self.floor = floor
        self.target = target
        self._last_moves: tuple[tuple[Any, ...], list[tuple[str, dict[str, Any]]]] | None = None

    def moves(
        self, network: Network, cost_of: Any, target: float
    ) -> list[tuple[str, dict[str, Any]]]:
        """The proposals of one step: ``(label, delta)`` pairs that reach ``target``.

        One per layer whose width alone can reach it while keeping at least ``1 - max_cut``
        of that width, one per layer whose removal alone reaches it, and the uniform move
        (every width scaled by one factor): the step a person takes by hand is always among
        the proposals, so the greedy choice can only prefer what validates better.
        """
        proposals: list[tuple[str, dict[str, Any]]] = []
        keys = width_keys(network)
        for key, width in keys:
            floor = max(1, math.ceil(width * (1 - self.max_cut)))
            best = self._cut(network, {key: width}, cost_of, target, floor)
            if best is not None:
                label = f"{key.removeprefix('shrink.')}: {width} -> {round(width * best)}"
                proposals.append((label, {key: best}))
        uniform = self._cut(network, dict(keys), cost_of, target, 1)
        if uniform is not None and len(keys) > 1:
            proposals.append((f"uniform x{uniform:.2f}", {key: uniform for key, _ in keys}))
        for j, layer in enumerate(network.layers):
            if isinstance(layer, Dense | Conv1D | Conv2D | Residual) and removable(network, j):
                delta = {f"shrink.keep{j}": False}
                try:
                    if cost_of(apply_shrink(network, delta)) <= target:
                        proposals.append((f"remove {j} ({layer.kind})", delta))
                except InfeasibleError:
                    continue
        return proposals

    @staticmethod
    def _cut(
        network: Network,
        widths: dict[str, int],
        cost_of: Any,
        target: float,
        floor: int,
    ) -> float | None:
        """The largest multiplier of ``widths`` (one factor for all) that brings the cost to
        ``target``, found on the widest layer's integer widths; ``None`` when even the
        smallest allowed width (``floor`` for that layer) does not."""
        widest = max(widths.values())

        def delta(w: int) -> dict[str, float]:
            return {key: w / widest for key in widths}

        def cost(w: int) -> float:
            try:
                return float(cost_of(apply_shrink(network, delta(w))))
            except InfeasibleError:
                return float("inf")

        if widest <= floor or cost(floor) > target:
            return None
        low, high = floor, widest - 1  # cost(low) <= target
        while low < high:
            mid = (low + high + 1) // 2
            if cost(mid) <= target:
                low = mid
            else:
                high = mid - 1
        return low / widest

    def first_step_epochs(
        self,
        network: Network,
        cost_of: Callable[[Network], float],
        n_train: int,
        recipe: Mapping[str, Any],
    ) -> float:
        """The first step's proposals times each one's fine-tune (see :meth:`_fidelity`)."""
        epochs, fraction = self._fidelity(n_train, recipe)
        cost = cost_of(network)
        target = max(cost * self.step, cost / self.target if self.target else 0.0)
        return len(self._moves_once(network, cost_of, target)) * epochs * fraction

    def _moves_once(
        self, network: Network, cost_of: Callable[[Network], float], target: float
    ) -> list[tuple[str, dict[str, Any]]]:
        """:meth:`moves`, kept for the last arguments: the budget check and the search's
        first step ask for the same ones, and with latency as the cost each of their widths
        is measured."""
        key = (network, cost_of, target)
        if self._last_moves is None or self._last_moves[0] != key:
            self._last_moves = (key, self.moves(network, cost_of, target))
        return self._last_moves[1]

    def _fidelity(self, n_train: int, recipe: Mapping[str, Any]) -> tuple[int, float]:
        """A proposal's ``(epochs, train_fraction)``: the configured ones, lengthened to
        ``min_steps`` optimizer steps where the training split is small."""
        passes = self.step_epochs * self.train_fraction
        batch = int(recipe.get("batch_size", 64))
        if n_train > 0:
            passes = max(passes, self.min_steps * batch / n_train)
        if passes <= 1:
            return 1, passes
        epochs = math.ceil(passes)
        return epochs, passes / epochs

    def search(self, context: SearchContext) -> list[LadderPoint]:
        """Walk down from the baseline; return the chain of each step's winner."""
        suffix = context.runner.suffix
        epochs, fraction = self._fidelity(context.n_train, context.recipe)
        current = LadderPoint(
            trial=-1,
            network=context.baseline,
            model=context.baseline_model,
            val_accuracy=context.baseline_val,
            cost=context.cost_of(context.baseline),
            epochs=0.0,
        )
        base_cost = current.cost
        goal = base_cost / self.target if self.target else 0.0
        ladder: list[LadderPoint] = []
        spent = 0.0
        step = 0
        while True:
            target = current.cost * self.step
            if target < goal:
                target = goal
            proposals = self._moves_once(current.network, context.cost_of, target)
            need = len(proposals) * epochs * fraction
            if proposals and spent + need > context.epochs + 1e-9 and step == 0:
                context.log(
                    f"search: one step needs {need:.1f} epochs ({len(proposals)} proposals of "
                    f"{epochs * fraction:.2f}), the budget leaves {context.epochs:.1f}: no "
                    "smaller model was tried"
                )
            if not proposals or spent + need > context.epochs + 1e-9:
                break
            step += 1
            tasks = []
            for label, delta in proposals:
                key = f"search/{step}/{label}"
                tasks.append(
                    ShrinkTask(
                        key=key,
                        config=task_config(
                            current.network,
                            current.model,
                            delta,
                            save=model_path(context.work, key, suffix),
                            epochs=epochs,
                            train_fraction=fraction,
                            distill=context.distill,
                        ),
                        info={
                            "archtune.shrink.stage": "search",
                            "archtune.shrink.step": step,
                            "archtune.shrink.move": label,
                            "archtune.shrink.structure": describe_structure(
                                apply_shrink(current.network, delta)
                            ),
                        },
                    )
                )
            outcomes = context.runner.run(tasks)
            spent += need
            done = [o for o in outcomes if o.ok and o.metrics is not None]
            if not done:
                context.log(f"step {step}: every proposal failed; stopping")
                break
            best = max(done, key=lambda o: (o.metrics["val_accuracy"], -o.number))  # type: ignore[index]
            network = apply_shrink(current.network, best.task.config["delta"])
            label = str(best.task.info["archtune.shrink.move"])
            current = LadderPoint(
                trial=best.number,
                network=network,
                model=str(best.task.config["save"]),
                val_accuracy=float(best.metrics["val_accuracy"]),  # type: ignore[index]
                cost=context.cost_of(network),
                epochs=current.epochs + epochs * fraction,
                moves=(*current.moves, label),
            )
            ladder.append(current)
            context.log(
                f"step {step}: {label}: {base_cost / current.cost:.1f}x, validation accuracy "
                f"{current.val_accuracy:.4f} ({len(done)} proposals, {spent:.1f} epochs)"
            )
            margin = context.baseline_val - context.trivial_val
            if current.val_accuracy < context.baseline_val - self.floor * margin:
                break
            if goal and current.cost <= goal:
                break
        return ladder
