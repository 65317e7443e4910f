"""``archtune model`` (a network's summary) and ``archtune lr-find`` (the LR range test)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from archtune._errors import ConfigError
from archtune.cli._console import err

if TYPE_CHECKING:
    from archtune.arch import Network

__all__ = ["lr_find_report", "resolve_network", "summary_table", "write_curve"]


def resolve_network(
    model: str, *, input_shape: str | None, n_outputs: int, check_shape: bool = False
) -> Network:
    """The network ``model`` names.

    ``model`` is a built-in network, a family (its default configuration on ``input_shape``),
    a ``.keras`` file, or ``module:function`` returning a Keras model or a PyTorch module (a
    PyTorch module needs ``input_shape`` in its own layout, e.g. ``1,28,28``). See
    :func:`archtune.training.resolve_model`. ``check_shape``: ``input_shape`` is the data's,
    which the network must take.

    Raises:
        ConfigError: an unknown name, a family without ``--input-shape``, a model that cannot
            be loaded or imported.
    """
    from archtune.training import resolve_model

    shape = None if input_shape is None else parse_shape(input_shape)
    resolved = resolve_model(
        model, input_shape=shape, n_outputs=n_outputs, head=None, check_shape=check_shape
    )
    return resolved.network


def parse_shape(text: str) -> tuple[int, ...]:
    """``"28,28,1"`` -> ``(28, 28, 1)``."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise ConfigError(f"--input-shape must be positive integers like 28,28,1, got {text!r}")
    return shape


def summary_table(network: Network) -> tuple[Table, str]:
    """The layer table and a line comparing the analytic count with PyTorch's."""
    from archtune.arch import summarize

    summary = summarize(network)
    table = Table(
        title=f"{summary.name or 'network'}: input {summary.input_shape}", title_justify="left"
    )
    for header, justify in (
        ("#", "right"),
        ("layer", "left"),
        ("output shape", "left"),
        ("params", "right"),
        ("FLOPs", "right"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for row in summary.rows:
        indent = "  " * row.depth
        table.add_row(
            indent + row.index,
            indent + row.description,
            str(row.output_shape),
            f"{row.params:,}",
            f"{row.flops:,}",
        )
    table.add_section()
    table.add_row(
        "", "total", str(summary.output_shape), f"{summary.params:,}", f"{summary.flops:,}"
    )
    table.caption = (
        f"activation memory {summary.activation_bytes:,} bytes per example (float32); "
        "FLOPs = 2 x multiply-accumulates, per example"
    )
    return table, _torch_line(network, summary.params)


def _torch_line(network: Network, analytic: int) -> str:
    try:
        from archtune.backends.torch import build_module

        module = build_module(network)
    except ImportError:
        return f"analytic parameters: {analytic:,} (PyTorch is not installed to compare)"
    counted = sum(p.numel() for p in module.parameters())
    verdict = "they agree" if counted == analytic else "THEY DIFFER"
    return f"parameters: analytic {analytic:,}, PyTorch {counted:,}: {verdict}"


def lr_find_report(
    *,
    data: str,
    model: str,
    optimizer: str,
    batch_size: int,
    n_steps: int,
    seed: int,
    max_samples: int | None,
    console: Console,
    label: str | None = None,
) -> Any:
    """Run the LR range test of ``model`` on ``data`` and print the suggestion and the curve."""
    import torch

    from archtune.backends.torch import build_module, find_lr
    from archtune.data import load_dataset
    from archtune.recipe import Recipe

    torch.set_num_threads(1)
    dataset = load_dataset(data, seed=seed, max_samples=max_samples, target=label)
    network = resolve_network(
        model,
        input_shape=",".join(map(str, dataset.input_shape)),
        n_outputs=dataset.n_outputs,
        check_shape=True,
    )
    recipe = Recipe(optimizer=optimizer, batch_size=batch_size)
    status = err.status(f"LR range test: {n_steps} steps of {model} on {data}")
    with status:
        result = find_lr(build_module(network), dataset, recipe, n_steps=n_steps, seed=seed)
    console.print(
        f"LR range test: {model} on {data}, {optimizer}, batch {batch_size}, "
        f"{len(result.lrs)} steps",
        highlight=False,
    )
    table = Table()
    table.add_column("lr", justify="right")
    table.add_column("smoothed loss", justify="right")
    n = len(result.lrs)
    for i in sorted({round(k * (n - 1) / 11) for k in range(12)}):
        table.add_row(f"{result.lrs[i]:.3g}", f"{result.smoothed_losses[i]:.4f}")
    console.print(table)
    return result


def write_curve(result: Any, path: Path) -> None:
    """Write the curve as HTML (a self-contained Plotly figure), CSV or JSON, by the suffix."""
    rows = list(zip(result.lrs, result.losses, result.smoothed_losses, strict=True))
    if path.suffix == ".html":
        _write_curve_html(result, path)
        return
    if path.suffix == ".json":
        path.write_text(
            json.dumps(
                {
                    "suggested_lr": result.suggested_lr,
                    "rule": result.rule,
                    "lr": [r[0] for r in rows],
                    "loss": [r[1] for r in rows],
                    "smoothed_loss": [r[2] for r in rows],
                },
                indent=1,
            )
        )
        return
    if path.suffix != ".csv":
        raise ConfigError(f"-o must end in .html, .csv or .json, got {str(path)!r}")
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["lr", "loss", "smoothed_loss"])
        writer.writerows(rows)


def _write_curve_html(result: Any, path: Path) -> None:
    from archtune._imports import require

    go = require("plotly.graph_objects", extra="report", feature="lr-find -o curve.html")
    figure = go.Figure()
    figure.add_scatter(
        x=list(result.lrs), y=list(result.losses), mode="lines", name="loss", opacity=0.35
    )
    figure.add_scatter(
        x=list(result.lrs), y=list(result.smoothed_losses), mode="lines", name="smoothed loss"
    )
    figure.add_vline(
        x=result.suggested_lr,
        line_dash="dash",
        annotation_text=f"suggested {result.suggested_lr:.3g} ({result.rule})",
    )
    figure.update_layout(
        title="LR range test",
        xaxis_title="learning rate",
        yaxis_title="training loss",
        template="plotly_white",
    )
    figure.update_xaxes(type="log")
    path.write_text(figure.to_html(include_plotlyjs=True, full_html=True))
