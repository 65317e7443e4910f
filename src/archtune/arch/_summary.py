"""A table of a network's layers and their cost, like Keras's ``model.summary()``."""

from __future__ import annotations

from dataclasses import dataclass

from archtune.arch._cost import BYTES_PER_ELEMENT, LayerCost, estimate_cost
from archtune.arch._layers import (
    GRU,
    LSTM,
    Activation,
    Conv1D,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Layer,
    Pool,
    Residual,
    TransformerBlock,
)
from archtune.arch._network import Head, Network
from archtune.arch._shapes import Shape

__all__ = ["NetworkSummary", "SummaryRow", "describe_layer", "summarize"]


def _size(value: int | tuple[int, ...]) -> str:
    return "x".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _options(*items: str | None) -> str:
    return ", ".join(item for item in items if item)


def describe_layer(layer: Layer | Head) -> str:
    """Return a short one-line description, e.g. ``Conv2D(32, 3x3, valid, relu)``.

    Fields at their default and activations of ``"none"`` are left out.
    """
    if isinstance(layer, Head):
        return f"Head({layer.units}, {layer.activation})"
    act = None
    if isinstance(layer, (Dense, Conv1D, Conv2D, Activation, Residual)):
        act = None if layer.activation == "none" else layer.activation
    if isinstance(layer, Dense):
        return f"Dense({_options(str(layer.units), act, None if layer.use_bias else 'no bias')})"
    if isinstance(layer, (Conv1D, Conv2D)):
        name = type(layer).__name__
        rank = 1 if isinstance(layer, Conv1D) else 2
        kernel = layer.kernel_size
        stride = layer.stride
        text = _options(
            str(layer.filters),
            _size(kernel) if rank == 1 or isinstance(kernel, tuple) else f"{kernel}x{kernel}",
            None if stride == 1 else f"stride {_size(stride)}",
            layer.padding,
            act,
            None if layer.use_bias else "no bias",
        )
        return f"{'Separable' if layer.separable else ''}{name}({text})"
    if isinstance(layer, Pool):
        step = None if layer.stride is None else f"stride {_size(layer.stride)}"
        padding = None if layer.padding == "valid" else layer.padding
        return f"{type(layer).__name__}({_options(_size(layer.pool_size), step, padding)})"
    if isinstance(layer, Dropout):
        return f"Dropout({layer.rate})"
    if isinstance(layer, Activation):
        return f"Activation({layer.activation})"
    if isinstance(layer, Residual):
        return f"Residual({_options(f'{len(layer.layers)} layers', act)})"
    if isinstance(layer, (GRU, LSTM)):
        text = _options(
            str(layer.units),
            "bidirectional" if layer.bidirectional else None,
            "sequences" if layer.return_sequences else "last state",
        )
        return f"{type(layer).__name__}({text})"
    if isinstance(layer, TransformerBlock):
        return (
            f"TransformerBlock({layer.d_model}, heads {layer.n_heads}, ff {layer.d_ff}"
            f"{', ' + layer.activation if layer.activation != 'relu' else ''}"
            f"{', norm first' if layer.norm_first else ''})"
        )
    if isinstance(layer, Embedding):
        return f"Embedding({layer.vocab_size}, dim {layer.dim})"
    return f"{type(layer).__name__}()"


@dataclass(frozen=True)
class SummaryRow:
    """One row of a summary: a layer, a layer inside a block, or the head.

    Attributes:
        path: The layer's place; ``(3, 1)`` is the second layer inside the block ``layers[3]``,
            the head is ``(len(layers),)``.
        kind: The layer's kind (``"head"`` for the head).
        description: A short description, e.g. ``"Conv2D(32, 3x3, valid, relu)"``.
        output_shape: The layer's output shape, without the batch axis.
        params: Its trainable parameters (a block's include its body's).
        flops: Its forward FLOPs per example (a block's include its body's).
        activation_elements: Elements of the tensors it writes per example.
    """

    path: tuple[int, ...]
    kind: str
    description: str
    output_shape: Shape
    params: int
    flops: int
    activation_elements: int

    @property
    def index(self) -> str:
        """The path as text: ``"3"``, or ``"3.1"`` inside a block."""
        return ".".join(map(str, self.path))

    @property
    def depth(self) -> int:
        """0 for a top-level layer or the head, 1 inside a block, and so on."""
        return len(self.path) - 1


@dataclass(frozen=True)
class NetworkSummary:
    """A network's layers with their output shapes and costs, and the totals.

    The totals add the top-level rows only (a block's row already includes its body's rows).
    """

    name: str
    input_shape: Shape
    output_shape: Shape
    head_activation: str
    rows: tuple[SummaryRow, ...]
    params: int
    flops: int
    activation_elements: int

    @property
    def activation_bytes(self) -> int:
        """Activation memory per example, in bytes at float32."""
        return self.activation_elements * BYTES_PER_ELEMENT

    def to_text(self) -> str:
        """Render the summary as a plain-text table, like Keras's ``model.summary()``."""
        header = ("#", "Layer", "Output shape", "Params", "FLOPs")
        cells = [
            (
                "  " * row.depth + row.index,
                "  " * row.depth + row.description,
                str(row.output_shape),
                f"{row.params:,}",
                f"{row.flops:,}",
            )
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]

        def line(values: tuple[str, ...]) -> str:
            left = [value.ljust(width) for value, width in zip(values[:3], widths, strict=False)]
            right = [
                value.rjust(width) for value, width in zip(values[3:], widths[3:], strict=True)
            ]
            return "  ".join(left + right).rstrip()

        rule = "=" * len(line(tuple("x" * width for width in widths)))
        title = f"Network {self.name!r}" if self.name else "Network"
        kib = self.activation_bytes / 1024
        return "\n".join(
            [
                f"{title}: input {self.input_shape} -> output {self.output_shape}"
                f" (head activation: {self.head_activation})",
                rule,
                line(header),
                rule,
                *(line(values) for values in cells),
                rule,
                f"Total params: {self.params:,}",
                f"Total FLOPs: {self.flops:,} per example (2 FLOPs per multiply-accumulate)",
                f"Activation memory: {self.activation_elements:,} elements per example"
                f" ({kib:,.1f} KiB at float32)",
            ]
        )

    def __str__(self) -> str:
        return self.to_text()


def _rows(cost: LayerCost, layer: Layer | Head) -> list[SummaryRow]:
    rows = [
        SummaryRow(
            cost.path,
            cost.kind,
            describe_layer(layer),
            cost.output_shape,
            cost.params,
            cost.flops,
            cost.activation_elements,
        )
    ]
    if isinstance(layer, Residual):
        for child_cost, child in zip(cost.children, layer.layers, strict=True):
            rows.extend(_rows(child_cost, child))
    return rows


def summarize(network: Network) -> NetworkSummary:
    """Return the summary of ``network``: one row per layer (and per layer inside a block).

    Example:
        >>> from archtune.arch import builtin_network
        >>> summary = summarize(builtin_network("mlp-32-32"))
        >>> [row.params for row in summary.rows], summary.params
        ([352, 1056, 330], 1738)

    Raises:
        InfeasibleNetworkError: The layers do not fit together (see :func:`infer_shapes`).
    """
    cost = estimate_cost(network)
    rows: list[SummaryRow] = []
    parts: list[Layer | Head] = [*network.layers, network.head]
    for layer_cost, layer in zip(cost.layers, parts, strict=True):
        rows.extend(_rows(layer_cost, layer))
    return NetworkSummary(
        name=network.name,
        input_shape=network.input_shape,
        output_shape=cost.layers[-1].output_shape,
        head_activation=network.head.activation,
        rows=tuple(rows),
        params=cost.params,
        flops=cost.flops,
        activation_elements=cost.activation_elements,
    )
