"""Torch-Pruning as a peer of ``archtune.shrink``: structured L1 pruning, then fine-tuning.

Torch-Pruning (``pip install torch-pruning``; Fang et al., "DepGraph: Towards Any Structural
Pruning", CVPR 2023) removes whole channels and units: its dependency graph (DepGraph) finds the
layers whose channels are coupled (a convolution's outputs, the next convolution's inputs, the
rows of a dense layer after a flatten, the two inputs of a residual sum) and removes each
coupled group together, so the result is a smaller dense network. It is run as its README's
standard setup, with the library's defaults elsewhere:

- ``tp.pruner.BasePruner`` (1.6.1's name; ``MetaPruner`` is its deprecated alias) on the graph
  traced from one example input;
- ``tp.importance.MagnitudeImportance(p=1)``: a group's importance is the L1 norm of its
  weights (reduced over the group by the mean, mean-normalised: the library's defaults);
- the same pruning ratio in every layer (``global_pruning=False``), one step
  (``iterative_steps=1``), no ``round_to``;
- the head (the linear layer producing the logits) in ``ignored_layers``: it keeps one output
  per class; its inputs follow the layer before it.

The one choice made here is the ratio: the one whose pruned network's parameter count
(``sum(p.numel() for p in module.parameters())``) is closest to ``baseline / reduction``, found
by bisection, each try pruning a fresh copy of the baseline. The pruned network is then
fine-tuned with Adam by archtune's own trainer (:func:`archtune.backends.torch.fit` with
``weight_init="keep"``, which keeps the pruned weights): the same data order, batches, loss and
evaluation as archtune's retraining, so only the networks differ.

archtune's modules keep activations channels-last, ``(N, ..., C)``. DepGraph treats the
``movedim`` around each convolution as element-wise, which is right (the channel index is kept),
but some of its index mappings assume the channels-first layout or misread a reshape:

- a flatten of ``(N, C, H, W)`` puts channel ``c`` at features ``c*H*W ... (c+1)*H*W - 1``; a
  flatten of ``(N, H, W, C)`` puts it at ``c, c + C, c + 2C, ...``, so the dense layer after
  a channels-last flatten would lose the wrong columns (the pruned network is then not the
  baseline less some channels), and a flatten of a 3-D tensor gets no mapping at all;
- a slice of axis 1 of a 4-D tensor is taken for a slice of channels: the strided shortcut of a
  residual block slices spatial axis 1 (the pruned network does not run);
- the reshape back to ``(N, C, H, W)`` inside a batch norm of an image is taken for a flatten
  when a flatten and a dense layer follow later (pruning fails with an index error).

While the graph is traced and pruned, each ``Flatten`` of a 2-D or 3-D sample therefore
flattens channels-first (the columns of the next dense layer, and the per-feature parameters of
a batch or layer norm between them, permuted to match), each ``_Residual`` subsamples its
shortcut with ``index_select``, and each ``_BatchNorm`` normalises axis 1 without reshaping. All
three compute the same function; the module is put back afterwards. The pruned module then
computes exactly what the baseline computes with the removed channels set to zero (the tests
check it on the built-in CNN and MLP and on the default ``resnet``, ``cnn2d`` and ``cnn1d``).
Its ``network`` attribute still describes the unpruned network. Layers outside those (recurrent,
attention, embeddings) are left to Torch-Pruning as they are and are not checked here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch_pruning as tp
from torch import nn

from archtune.arch import (
    Activation,
    BatchNorm,
    Dense,
    Dropout,
    Flatten,
    LayerNorm,
    Network,
    infer_shapes,
)
from archtune.backends.torch import build_module, evaluate, fit
from archtune.backends.torch._build import NetworkModule, _BatchNorm, _Residual
from archtune.recipe import Recipe
from archtune.training._objective import load_cached

__all__ = ["prune_network", "torch_pruning_run"]

_SEARCH_STEPS = 16
"""Bisection steps of the pruning ratio (a resolution of 2**-16, finer than one channel)."""


class _TracingFlatten(nn.Flatten):
    """A flatten of a channels-last tensor in channels-first order (for DepGraph's mapping)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        channels_first = input.movedim(-1, 1)
        if channels_first.dim() == 3:  # DepGraph maps the flatten of 4-D tensors only
            channels_first = channels_first.unsqueeze(-1)
        return channels_first.flatten(1)


class _TracingResidual(_Residual):
    """A residual block whose strided shortcut uses ``index_select`` instead of a slice."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        shortcut = inputs
        for axis, stride in enumerate(self.strides, start=1):
            if stride > 1:
                index = torch.arange(0, shortcut.shape[axis], stride, device=shortcut.device)
                shortcut = shortcut.index_select(axis, index)
        output: torch.Tensor = self.activation(self.body(inputs) + self.projection(shortcut))
        return output


class _AnyRankBatchNorm(nn.BatchNorm1d):
    """``BatchNorm1d`` that takes ``(N, C, ...)`` of any rank, as ``F.batch_norm`` does."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {input.dim()}-D")


class _TracingBatchNorm(_BatchNorm):
    """Batch norm of a channels-last tensor without the reshapes DepGraph would misread."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() == 2:
            output: torch.Tensor = self.norm(inputs)
            return output
        normed: torch.Tensor = self.norm(inputs.movedim(-1, 1))
        return normed.movedim(1, -1)


_TRACING_CLASSES: tuple[tuple[type[nn.Module], type[nn.Module]], ...] = (
    (_Residual, _TracingResidual),
    (_BatchNorm, _TracingBatchNorm),
)


def _flatten_order(spatial: int, channels: int, *, channels_first: bool) -> torch.Tensor:
    """Indices that reorder a flat channels-last feature vector channels-first, or back."""
    order = torch.arange(spatial * channels).reshape(spatial, channels).t().reshape(-1)
    return order if channels_first else torch.argsort(order)


def _set_tracing_form(
    module: NetworkModule, network: Network, *, tracing: bool
) -> dict[nn.Module, torch.Tensor]:
    """Put ``module`` in the form DepGraph maps correctly (``tracing``), or back, in place.

    Returns:
        For each module with per-feature parameters after a flatten (batch or layer norm), the
        channels-last index of each of its features in the form it is put in.
    """
    for sub in module.modules():
        for plain, traced in _TRACING_CLASSES:
            if type(sub) is (plain if tracing else traced):
                sub.__class__ = traced if tracing else plain
        if isinstance(sub, _TracingBatchNorm if tracing else _BatchNorm):
            sub.norm.__class__ = _AnyRankBatchNorm if tracing else nn.BatchNorm1d
    shapes = [network.input_shape, *infer_shapes(network)]
    feature_index: dict[nn.Module, torch.Tensor] = {}
    for i, layer in enumerate(network.layers):
        if not isinstance(layer, Flatten) or len(shapes[i]) < 2:
            continue
        if len(shapes[i]) > 3:
            raise NotImplementedError(f"flatten of a rank-{len(shapes[i])} tensor (layer {i})")
        module.layers[i].__class__ = _TracingFlatten if tracing else nn.Flatten
        per_feature: list[nn.Module] = []
        linear: nn.Linear | None = None
        for j in range(i + 1, len(network.layers)):
            follower = network.layers[j]
            if isinstance(follower, (BatchNorm, LayerNorm)):
                per_feature.append(module.layers[j])
            elif isinstance(follower, Dense):
                linear = next(m for m in module.layers[j].modules() if isinstance(m, nn.Linear))
                break
            elif not isinstance(follower, (Dropout, Activation)):
                raise NotImplementedError(f"a {follower.kind} layer after a flatten (layer {i})")
        linear = module.head if linear is None else linear
        features = linear.in_features
        spatial = math.prod(shapes[i][:-1])
        order = _flatten_order(spatial, features // spatial, channels_first=tracing)
        with torch.no_grad():
            linear.weight.data = linear.weight.data[:, order].contiguous()
            for norm in per_feature:
                for tensor in [*norm.parameters(), *norm.buffers()]:
                    if tensor.dim() == 1 and tensor.numel() == features:
                        tensor.data = tensor.data[order].contiguous()
                feature_index.update(dict.fromkeys(norm.modules(), order))
    return feature_index


def _example_inputs(network: Network) -> torch.Tensor:
    return torch.zeros(1, *network.input_shape)


def prune_network(
    network: Network, baseline_state: Mapping[str, torch.Tensor], ratio: float
) -> tuple[NetworkModule, dict[str, list[int]]]:
    """Prune a fresh copy of the baseline with Torch-Pruning at ``ratio`` in every layer.

    Args:
        network: The baseline's description.
        baseline_state: The state dict of ``build_module(network)`` to prune (not modified).
        ratio: The share of channels (units) removed from each prunable group, in ``[0, 1)``.

    Returns:
        The pruned module (on the CPU, in eval mode) and, for each layer that lost output
        channels (its name in the module), the indices of those channels in the baseline.
    """
    module = build_module(network)
    module.load_state_dict(baseline_state)
    module.eval()
    feature_index = _set_tracing_form(module, network, tracing=True)
    pruner = tp.pruner.BasePruner(
        module,
        _example_inputs(network),
        importance=tp.importance.MagnitudeImportance(p=1),
        global_pruning=False,
        pruning_ratio=ratio,
        iterative_steps=1,
        ignored_layers=[module.head],
    )
    names = {sub: name for name, sub in module.named_modules()}
    removed: dict[str, list[int]] = {}
    for group in pruner.step(interactive=True):
        for dep, idxs in group:
            target = dep.target.module
            if target in names and pruner.DG.is_out_channel_pruning_fn(dep.handler):
                index = feature_index.get(target)
                channels = [int(i if index is None else index[i]) for i in idxs]
                removed.setdefault(names[target], []).extend(channels)
        group.prune()
    _set_tracing_form(module, network, tracing=False)
    return module, {name: sorted(idxs) for name, idxs in removed.items()}


def _count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _search(
    network: Network, baseline_state: Mapping[str, torch.Tensor], target: float
) -> tuple[NetworkModule, float]:
    """Bisect the ratio for the pruned parameter count closest to ``target``.

    Each group keeps ``int(channels * (1 - ratio))`` channels, and Torch-Pruning leaves a group
    whole rather than remove all its channels, so the count only falls with the ratio while
    every group keeps one: the ratio stays below ``1 - 1 / (the narrowest layer's width)``.
    """
    module, _ = prune_network(network, baseline_state, 0.0)
    best = (abs(_count(module) - target), 0.0, module)
    widths = [
        sub.out_features if isinstance(sub, nn.Linear) else sub.out_channels
        for sub in module.modules()
        if isinstance(sub, (nn.Linear, nn.Conv1d, nn.Conv2d)) and sub is not module.head
    ]
    lo, hi = 0.0, 1.0 - 1.0 / min(widths, default=1)  # lo leaves >= target; hi is not tried
    for _ in range(_SEARCH_STEPS):
        ratio = (lo + hi) / 2
        module, _ = prune_network(network, baseline_state, ratio)
        params = _count(module)
        if abs(params - target) < best[0]:
            best = (abs(params - target), ratio, module)
        if params >= target:
            lo = ratio
        else:
            hi = ratio
        if params == target:
            break
    return best[2], best[1]


def torch_pruning_run(
    network: Network,
    baseline_state: Mapping[str, torch.Tensor],
    data: Mapping[str, Any],
    *,
    reduction: float,
    epochs: int,
    seed: int,
    lr: float = 1e-3,
    batch_size: int = 64,
    schedule: str = "constant",
) -> dict[str, float]:
    """Prune the trained baseline ``reduction``-fold with Torch-Pruning and fine-tune it.

    Args:
        network: The baseline's description (a built-in network, a family's network, ...).
        baseline_state: The trained state dict of ``build_module(network)`` (not modified).
        data: Keyword arguments of :func:`archtune.data.load_dataset` (``dataset`` = spec).
        reduction: The target parameter reduction: the ratio is chosen so that the pruned
            network has as close to ``baseline_params / reduction`` parameters as it can.
        epochs: Fine-tuning epochs (0: the pruned network is only evaluated).
        seed: Seeds the fine-tuning (data order, dropout).
        lr: Adam's learning rate.
        batch_size: The fine-tuning batch size.
        schedule: The learning-rate schedule (``constant`` as the library's examples, or
            ``cosine`` as archtune's fine-tunes, for a comparison at the same recipe).

    Returns:
        ``params`` and ``flops`` (2 x the MACs counted by ``tp.utils.count_ops_and_params``)
        of the pruned network, its ``val_accuracy`` and ``test_accuracy`` after the last
        fine-tuning epoch, ``epochs`` and the pruning ``ratio`` chosen (the one tried: every
        ratio that keeps the same number of channels in each layer gives the same network).
    """
    if reduction < 1:
        raise ValueError(f"reduction must be at least 1, got {reduction}")
    if epochs < 0:
        raise ValueError(f"epochs must be at least 0, got {epochs}")
    dataset = load_cached(tuple(sorted(data.items())))
    target = _count(build_module(network)) / reduction
    module, ratio = _search(network, baseline_state, target)
    params = _count(module)
    macs, _ = tp.utils.count_ops_and_params(module, _example_inputs(network))
    if epochs > 0:
        recipe = Recipe.from_dict(
            {
                "optimizer": "adam",
                "lr": lr,
                "batch_size": batch_size,
                "epochs": epochs,
                "schedule": schedule,
                "weight_init": "keep",
            }
        )
        metrics = fit(module, dataset, recipe, seed=seed).metrics
    else:
        metrics = {
            **evaluate(module, dataset, split="val"),
            **evaluate(module, dataset, split="test"),
        }
    return {
        "params": params,
        "flops": 2 * int(macs),
        "val_accuracy": float(metrics["val_accuracy"]),
        "test_accuracy": float(metrics["test_accuracy"]),
        "epochs": epochs,
        "ratio": ratio,
    }
