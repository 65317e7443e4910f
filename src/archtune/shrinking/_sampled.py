"""The sampler strategy: TPE over the shrink space, each candidate pruned from the baseline.

Optuna's multi-objective TPE proposes points of :func:`shrink_space` (width multipliers,
removable layers, kernel sizes, separable convolutions), where candidates start (the
baseline's pruned weights or scratch) and the learning rate; each is trained for its share of
the search budget. The Pareto front of (validation accuracy, cost) is the ladder. It is the
peer the progressive strategy was measured against (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

from archtune._errors import InfeasibleError
from archtune.shrinking._runner import ShrinkTask
from archtune.shrinking._space import apply_shrink, describe_structure, shrink_space
from archtune.shrinking._strategy import (
    BaseShrinkStrategy,
    LadderPoint,
    SearchContext,
    model_path,
    task_config,
)

__all__ = ["SamplerStrategy"]


class SamplerStrategy(BaseShrinkStrategy):
    """TPE proposals over the shrink space, trained at a short fidelity, in batches.

    Args:
        n_trials: Proposals to train (the search budget is shared among them).
    """

    name = "sampler"

    def __init__(self, *, n_trials: int = 32) -> None:
        self.n_trials = n_trials

    def search(self, context: SearchContext) -> list[LadderPoint]:
        """Propose, train and record ``n_trials`` candidates; return their Pareto front."""
        import optuna

        from archtune.space import Space

        entries: dict[str, Any] = dict(shrink_space(context.baseline))
        entries["shrink.init"] = {"type": "choice", "options": ["pretrained", "scratch"]}
        lr = float(context.recipe.get("lr", 1e-3))
        entries["lr"] = {"type": "float", "low": lr / 10, "high": min(1.0, lr * 3), "log": True}
        space = Space.from_dict(entries)
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:  # the proposals' own study, in memory: the shrink study records the trainings
            proposer = optuna.create_study(
                directions=["maximize", "minimize"],
                sampler=optuna.samplers.TPESampler(seed=context.seed),
            )
        finally:
            optuna.logging.set_verbosity(verbosity)
        fraction = min(1.0, context.epochs / max(1, self.n_trials))
        if fraction <= 0:
            return []
        found: list[tuple[LadderPoint, float]] = []
        asked = 0
        batch = max(1, context.runner.executor.n_free)
        while asked < self.n_trials:
            trials, tasks = [], []
            for _ in range(min(batch, self.n_trials - asked)):
                trial = proposer.ask()
                config = space.sample(trial)
                asked += 1
                delta = {k: v for k, v in config.items() if k.startswith("shrink.")}
                try:
                    network = apply_shrink(context.baseline, delta)
                except InfeasibleError:
                    proposer.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    continue
                key = f"sampled/{asked}"
                trials.append((trial, network, config))
                tasks.append(
                    ShrinkTask(
                        key=key,
                        config=task_config(
                            context.baseline,
                            context.baseline_model,
                            delta,
                            save=model_path(context.work, key, context.runner.suffix),
                            epochs=1,
                            init=str(config["shrink.init"]),
                            recipe={"lr": config["lr"]},
                            train_fraction=fraction,
                            distill=context.distill,
                        ),
                        info={
                            "archtune.shrink.stage": "search",
                            "archtune.shrink.structure": describe_structure(network),
                        },
                        params=dict(config),
                    )
                )
            for (trial, network, config), outcome in zip(
                trials, context.runner.run(tasks), strict=True
            ):
                if outcome.metrics is None:
                    proposer.tell(trial, state=optuna.trial.TrialState.FAIL)
                    continue
                accuracy = float(outcome.metrics["val_accuracy"])
                cost = context.cost_of(network)
                proposer.tell(trial, [accuracy, cost])
                point = LadderPoint(
                    trial=outcome.number,
                    network=network,
                    model=str(outcome.task.config["save"]),
                    val_accuracy=accuracy,
                    cost=cost,
                    epochs=fraction,
                    moves=(describe_structure(network),),
                    recipe={"lr": config["lr"]},
                )
                found.append((point, accuracy))
        context.log(f"sampler: {len(found)} candidates trained at {fraction:.2f} epochs each")
        return _front(found)


def _front(found: list[tuple[LadderPoint, float]]) -> list[LadderPoint]:
    """The non-dominated points, from the most costly to the cheapest."""
    ordered = sorted(found, key=lambda item: (item[0].cost, -item[1]))
    front: list[LadderPoint] = []
    best = -1.0
    for point, accuracy in ordered:
        if accuracy > best:
            front.append(point)
            best = accuracy
    return list(reversed(front))
