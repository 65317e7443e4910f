"""The ``cnn1d`` family: a plain, residual or separable 1-D convolutional network for sequences."""

from __future__ import annotations

from archtune.arch.families._base import Family
from archtune.arch.families._convnet import convnet_knobs, convnet_layers

__all__ = ["CNN1D"]

CNN1D = Family(
    name="cnn1d",
    summary=(
        "blocks of 'same' 1-D convolution, norm and activation, each followed by pooling of "
        "size 2 and dropout; then flatten or global average pooling, and the head"
    ),
    data="sequences",
    input_ranks=(2,),
    natural_input=(40, 1),
    natural_dataset="mnist1d",
    knobs=convnet_knobs(
        defaults={
            "depth": 3,
            "width": 32,
            "taper": 1.0,
            "kernel_size": 5,
            "pooling": "max",
            "connection": "plain",
            "norm": "batch",
            "dropout": 0.1,
            "activation": "relu",
            "readout": "flatten",
        },
        width_range=(8, 128),
        kernel_sizes=(3, 5, 7),
    ),
    layers=convnet_layers(1),
    shrink_order=("model.readout", "model.taper", "model.width", "model.depth"),
)
