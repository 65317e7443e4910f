"""The ``cnn2d`` family: a plain, residual or separable 2-D convolutional network for images."""

from __future__ import annotations

from archtune.arch.families._base import Family
from archtune.arch.families._convnet import convnet_knobs, convnet_layers

__all__ = ["CNN2D"]

CNN2D = Family(
    name="cnn2d",
    summary=(
        "blocks of 'same' 2-D convolution, norm and activation, each followed by 2x2 pooling "
        "and dropout; then flatten or global average pooling, and the head"
    ),
    data="images",
    input_ranks=(3,),
    natural_input=(28, 28, 1),
    natural_dataset="mnist-sample",
    knobs=convnet_knobs(
        defaults={
            "depth": 2,
            "width": 32,
            "taper": 2.0,
            "kernel_size": 3,
            "pooling": "max",
            "connection": "plain",
            "norm": "batch",
            "dropout": 0.1,
            "activation": "relu",
            "readout": "flatten",
        },
        width_range=(8, 64),
        kernel_sizes=(3, 5),
    ),
    layers=convnet_layers(2),
    shrink_order=("model.readout", "model.taper", "model.width", "model.depth"),
)
