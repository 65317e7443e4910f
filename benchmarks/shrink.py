"""The shrink suite: archtune.shrink against Torch-Pruning and uniform pruning (the halving a
person does by hand), on the reference CNN, the reference MLP and the resnet default network.

For each model and seed:

1. ``archtune.shrink`` runs as a user runs it (progressive strategy, ``--budget 10`` baseline
   trainings of ``--epochs`` epochs, 2 workers). Its chosen model gives the headline row: the
   reduction, the change in test accuracy against the baseline, the compute spent.
2. At each target reduction (4x, 10x, 15x, 20x, 30x) three methods start from the SAME trained
   baseline weights and reach the SAME parameter count (that of archtune's model nearest the
   target on its search ladder), then are fine-tuned with the SAME recipe (Adam, the baseline's
   learning rate, cosine to zero) for the SAME epochs (the epochs archtune's model trained since
   the baseline: its search steps plus the fine-tune):
   - ``archtune``: the ladder's model (non-uniform widths found by the progressive search);
   - ``torch-pruning``: Torch-Pruning 1.6.1 (DepGraph, L1 magnitude importance, the same ratio
     in every layer, one step), ``benchmarks/_torch_pruning.py``;
   - ``uniform``: every width scaled by one multiplier, archtune's L1 structured pruning.

Data: ``mnist-sample`` (3,000 train, 1,000 validation, 1,000 test real MNIST images) for the
CNN and the resnet; digits as 10 PCA features (``benchmarks/_shrink_data.py``; 1,078 / 359 /
360) for the MLP. The test split's standard error at 97 % is about 0.5 points on 1,000 rows.

    python -m benchmarks.shrink [--models cnn,mlp,resnet] [--seeds 3] [--epochs 10]
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks._table import table_head

MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "cnn": ("cnn-32-64-64", {"dataset": "mnist-sample"}),
    "mlp": ("mlp-64-64", {"dataset": "benchmarks._shrink_data:digits_pca10"}),
    "resnet": ("resnet", {"dataset": "mnist-sample"}),
}
TARGETS = (4.0, 10.0, 15.0, 20.0, 30.0)
METHODS = ("archtune", "torch-pruning", "uniform")
RESULTS = Path(__file__).parent / "results" / "shrink.csv"
FIELDS = [
    "model",
    "seed",
    "method",
    "target",
    "params",
    "flops",
    "reduction",
    "val_accuracy",
    "test_accuracy",
    "baseline_test",
    "epochs",
    "compute",
    "wall_s",
]


def _finetune(module: Any, data: Mapping[str, Any], epochs: int, seed: int, lr: float) -> Any:
    from archtune.backends.torch import fit
    from archtune.recipe import Recipe
    from archtune.training._objective import load_cached

    recipe = Recipe.from_dict(
        {
            "optimizer": "adam",
            "lr": lr,
            "batch_size": 64,
            "epochs": epochs,
            "schedule": "cosine",
            "weight_init": "keep",
        }
    )
    return fit(module, load_cached(tuple(sorted(data.items()))), recipe, seed=seed).metrics


def _uniform(network: Any, state: Mapping[str, Any], params: int) -> tuple[Any, dict[str, Any]]:
    """The uniform multiplier whose network is nearest ``params``, pruned from ``state``."""
    from archtune.arch import estimate_cost
    from archtune.backends.torch import build_module
    from archtune.shrinking import apply_shrink, prune_state, shrink_plan, width_keys

    keys = [key for key, _ in width_keys(network)]

    def config(m: float) -> dict[str, float]:
        return dict.fromkeys(keys, m)

    low, high = 1e-3, 1.0
    for _ in range(30):
        mid = (low + high) / 2
        if estimate_cost(apply_shrink(network, config(mid))).params > params:
            high = mid
        else:
            low = mid
    best = min(
        (low, high),
        key=lambda m: abs(estimate_cost(apply_shrink(network, config(m))).params - params),
    )
    shrunk = apply_shrink(network, config(best))
    module = build_module(shrunk)
    entries = prune_state(network, state, shrunk, shrink_plan(network, config(best)))
    module.load_state_dict(entries, strict=False)
    return module, {"multiplier": best}


def run_model(
    key: str,
    seed: int,
    *,
    epochs: int,
    budget: float,
    work: Path,
    targets: Sequence[float] = TARGETS,
) -> list[dict[str, Any]]:
    """Every method at every target for one model and seed; rows of :data:`FIELDS`."""
    import torch

    import archtune
    from archtune.arch import estimate_cost
    from archtune.backends.torch import TorchBackend
    from benchmarks._torch_pruning import torch_pruning_run

    torch.set_num_threads(1)
    model, data = MODELS[key]
    data = {**data, "seed": seed, "standardize": True}
    started = time.perf_counter()
    result = archtune.shrink(
        model,
        data,
        epochs=epochs,
        budget=budget,
        seed=seed,
        n_workers=2,
        storage=f"sqlite:///{work / 'shrink.db'}",
        models_dir=work / "models",
        name=f"{key}-{seed}",
        output=work / f"{key}-{seed}.onnx",
        log=lambda line: print(f"  {key} seed {seed}: {line}", file=sys.stderr),
    )
    base = result.baseline
    rows: list[dict[str, Any]] = [
        {
            "model": key,
            "seed": seed,
            "method": "archtune (chosen)",
            "target": "",
            "params": result.chosen.params,
            "flops": result.chosen.flops,
            "reduction": base.params / result.chosen.params,
            "val_accuracy": result.chosen.val_accuracy,
            "test_accuracy": result.chosen.test_accuracy,
            "baseline_test": base.test_accuracy,
            "epochs": result.epochs_spent,
            "compute": result.epochs_spent / epochs,
            "wall_s": time.perf_counter() - started,
        }
    ]
    backend = TorchBackend()
    baseline_file = next((work / "models" / f"{key}-{seed}").glob("baseline*"))
    baseline_module = backend.load(baseline_file)
    network = baseline_module.network
    state = {k: v.detach().clone() for k, v in baseline_module.state_dict().items()}
    finetune_epochs = 2 * epochs
    lr = 1e-3
    for target in targets:
        reached = [p for p in result.ladder if base.params / p["params"] >= 0.95 * target]
        if not reached:
            continue
        point = min(reached, key=lambda p: abs(math.log(base.params / p["params"] / target)))
        n_epochs = math.ceil(float(point["epochs"])) + finetune_epochs
        common = {
            "model": key,
            "seed": seed,
            "target": target,
            "baseline_test": base.test_accuracy,
        }
        clock = time.perf_counter()
        module = backend.load(point["model"])
        metrics = _finetune(module, data, finetune_epochs, seed, lr)
        rows.append(
            {
                **common,
                "method": "archtune",
                "params": point["params"],
                "flops": point["flops"],
                "reduction": base.params / point["params"],
                "val_accuracy": metrics["val_accuracy"],
                "test_accuracy": metrics["test_accuracy"],
                "epochs": n_epochs,
                "compute": "",
                "wall_s": time.perf_counter() - clock,
            }
        )
        clock = time.perf_counter()
        peer = torch_pruning_run(
            network,
            state,
            data,
            reduction=base.params / point["params"],
            epochs=n_epochs,
            seed=seed,
            lr=lr,
            schedule="cosine",
        )
        rows.append(
            {
                **common,
                "method": "torch-pruning",
                "params": peer["params"],
                "flops": peer["flops"],
                "reduction": base.params / peer["params"],
                "val_accuracy": peer["val_accuracy"],
                "test_accuracy": peer["test_accuracy"],
                "epochs": n_epochs,
                "compute": "",
                "wall_s": time.perf_counter() - clock,
            }
        )
        clock = time.perf_counter()
        module, _ = _uniform(network, state, int(point["params"]))
        metrics = _finetune(module, data, n_epochs, seed, lr)
        cost = estimate_cost(module.network)
        rows.append(
            {
                **common,
                "method": "uniform",
                "params": int(cost.params),
                "flops": int(cost.flops),
                "reduction": base.params / cost.params,
                "val_accuracy": metrics["val_accuracy"],
                "test_accuracy": metrics["test_accuracy"],
                "epochs": n_epochs,
                "compute": "",
                "wall_s": time.perf_counter() - clock,
            }
        )
    return rows


def read(path: Path = RESULTS) -> list[dict[str, str]]:
    """The suite's rows so far."""
    if not path.exists():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def append(rows: Sequence[Mapping[str, Any]], path: Path = RESULTS) -> None:
    """Add ``rows`` to the CSV (written as each model and seed ends: a rerun resumes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerows(rows)


def _mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{100 * values[0]:.2f}"
    return f"{100 * statistics.mean(values):.2f} ± {100 * statistics.stdev(values):.2f}"


def table(rows: list[dict[str, str]]) -> str:
    """The suite's tables: archtune's choice per model, then each target by method."""
    if not rows:
        return "shrink: no runs yet"
    lines = [
        "## shrink: archtune's chosen model (max drop 0.5 pt on validation)",
        "",
        *table_head(
            [
                "model",
                "seeds",
                "baseline test %",
                "chosen params",
                "reduction",
                "test %",
                "change pt",
                "compute (baseline trainings)",
                "wall s",
            ]
        ),
    ]
    for model in MODELS:
        mine = [r for r in rows if r["model"] == model and r["method"] == "archtune (chosen)"]
        if not mine:
            continue
        base = [float(r["baseline_test"]) for r in mine]
        test = [float(r["test_accuracy"]) for r in mine]
        lines.append(
            f"| {model} | {len(mine)} | {_mean_std(base)} | "
            f"{statistics.mean(int(r['params']) for r in mine):,.0f} | "
            f"{statistics.mean(float(r['reduction']) for r in mine):.1f}x | {_mean_std(test)} | "
            f"{100 * statistics.mean(t - b for t, b in zip(test, base, strict=True)):+.2f} | "
            f"{statistics.mean(float(r['compute']) for r in mine):.1f} | "
            f"{statistics.mean(float(r['wall_s']) for r in mine):.0f} |"
        )
    lines += [
        "",
        "## shrink: at each target, the same parameters, baseline weights, recipe and epochs",
        "",
        *table_head(
            [
                "model",
                "target",
                "params",
                "FLOPs (archtune / TP / uniform)",
                "epochs",
                "archtune test %",
                "Torch-Pruning test %",
                "uniform test %",
                "archtune - TP pt",
                "archtune - uniform pt",
            ]
        ),
    ]
    for model in MODELS:
        for target in TARGETS:
            at = [
                r
                for r in rows
                if r["model"] == model and r["target"] and float(r["target"]) == target
            ]
            if not at:
                continue
            by = {m: [r for r in at if r["method"] == m] for m in METHODS}
            acc = {m: [float(r["test_accuracy"]) for r in by[m]] for m in METHODS}
            flops = "/".join(
                f"{statistics.mean(int(r['flops']) for r in by[m]) / 1e3:,.0f}k" if by[m] else "-"
                for m in METHODS
            )

            def gap(other: str, acc: dict[str, list[float]] = acc) -> str:
                pairs = list(zip(acc["archtune"], acc[other], strict=False))
                if not pairs:
                    return "-"
                return f"{100 * statistics.mean(a - b for a, b in pairs):+.2f}"

            lines.append(
                f"| {model} | {target:.0f}x | "
                f"{statistics.mean(int(r['params']) for r in by['archtune']):,.0f} | {flops} | "
                f"{statistics.mean(float(r['epochs']) for r in by['archtune']):.0f} | "
                f"{_mean_std(acc['archtune'])} | {_mean_std(acc['torch-pruning'])} | "
                f"{_mean_std(acc['uniform'])} | {gap('torch-pruning')} | {gap('uniform')} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10, help="one baseline training")
    parser.add_argument("--budget", type=float, default=10.0, help="in baseline trainings")
    parser.add_argument("--targets", default=",".join(f"{t:g}" for t in TARGETS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.table_only:
        done = {(r["model"], int(r["seed"])) for r in read(args.out)}
        for key in args.models.split(","):
            if key not in MODELS:
                parser.error(f"--models: {key!r} is not one of {', '.join(MODELS)}")
            for seed in range(args.seeds):
                if (key, seed) in done:
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    rows = run_model(
                        key,
                        seed,
                        epochs=args.epochs,
                        budget=args.budget,
                        work=Path(tmp),
                        targets=[float(t) for t in args.targets.split(",")],
                    )
                append(rows, args.out)
    print(table(read(args.out)))


if __name__ == "__main__":
    main()
