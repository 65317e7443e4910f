"""The Keras-like summary: rows as data and a plain-text table."""

from __future__ import annotations

from archtune.arch import (
    GRU,
    Conv2D,
    Dense,
    Head,
    MaxPool2D,
    Network,
    Residual,
    builtin_network,
    describe_layer,
    summarize,
)


def test_summary_rows_of_the_reference_cnn() -> None:
    summary = summarize(builtin_network("cnn-32-64-64"))
    assert [row.index for row in summary.rows] == [str(i) for i in range(8)]
    assert [row.kind for row in summary.rows] == [
        "conv2d",
        "max_pool2d",
        "conv2d",
        "max_pool2d",
        "conv2d",
        "flatten",
        "dense",
        "head",
    ]
    assert summary.rows[0].description == "Conv2D(32, 3x3, valid, relu)"
    assert summary.rows[0].output_shape == (26, 26, 32)
    assert summary.rows[-1].description == "Head(10, softmax)"
    assert summary.params == 93_322
    assert summary.params == sum(row.params for row in summary.rows)
    assert summary.output_shape == (10,)
    assert summary.activation_bytes == 4 * summary.activation_elements


def test_summary_text_shows_rows_and_totals() -> None:
    text = summarize(builtin_network("cnn-32-64-64")).to_text()
    lines = text.splitlines()
    assert lines[0] == (
        "Network 'cnn-32-64-64': input (28, 28, 1) -> output (10,) (head activation: softmax)"
    )
    assert any(line.startswith("2  Conv2D(64, 3x3, valid, relu)") for line in lines)
    row = next(line for line in lines if line.startswith("6  Dense(64, relu)"))
    assert row.split()[-2:] == ["36,928", "73,792"]
    assert "Total params: 93,322" in lines
    assert any(line.startswith("Total FLOPs: 5,646,528") for line in lines)


def test_nested_rows_are_indented_and_not_double_counted() -> None:
    block = Residual((Conv2D(4, 3, padding="same"), MaxPool2D(2)), activation="relu")
    network = Network((8, 8, 2), layers=(block,), head=Head(3))
    summary = summarize(network)
    assert [(row.index, row.depth) for row in summary.rows] == [
        ("0", 0),
        ("0.0", 1),
        ("0.1", 1),
        ("1", 0),
    ]
    assert summary.params == summary.rows[0].params + summary.rows[-1].params
    assert "  0.0" in summary.to_text()
    assert str(summary) == summary.to_text()


def test_describe_layer() -> None:
    assert describe_layer(Dense(8)) == "Dense(8)"
    assert describe_layer(Dense(8, use_bias=False)) == "Dense(8, no bias)"
    conv = Conv2D(16, (1, 3), stride=2, padding="same", separable=True, activation="swish")
    assert describe_layer(conv) == "SeparableConv2D(16, 1x3, stride 2, same, swish)"
    assert describe_layer(MaxPool2D(3, stride=2)) == "MaxPool2D(3, stride 2)"
    assert describe_layer(GRU(4, bidirectional=True)) == "GRU(4, bidirectional, last state)"
    assert describe_layer(Head(1, activation="none")) == "Head(1, none)"
