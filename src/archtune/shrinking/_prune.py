"""Structured L1 pruning: the baseline's weights for a shrunk network.

Each kept dense layer or convolution keeps the units or filters whose weights have the largest
L1 norms (in their original order) and the input channels its predecessor kept; batch norms,
layer norms and the head follow the kept channels, and a ``Flatten`` maps them to the kept
features at every position. A layer whose kernel size or kind of convolution changed, and every
weight after a removed layer or such a layer, start fresh (their inputs no longer mean what the
baseline's weights expect).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from archtune.arch import Flatten, Network, PositionEmbedding, infer_shapes
from archtune.shrinking._space import ShrunkLayer

if TYPE_CHECKING:
    import torch

__all__ = ["keep_largest_l1", "prune_state"]


def keep_largest_l1(weight: torch.Tensor, n: int) -> np.ndarray:
    """The indices (ascending) of the ``n`` output rows of ``weight`` with the largest L1 norms.

    Ties go to the lower index.
    """
    norms = weight.detach().abs().reshape(weight.shape[0], -1).sum(dim=1).cpu().numpy()
    order = np.argsort(-norms, kind="stable")
    return np.sort(order[:n])


def _weight_modules(module: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    from torch import nn

    kinds = (nn.Linear, nn.Conv1d, nn.Conv2d)
    return [(name, sub) for name, sub in module.named_modules() if isinstance(sub, kinds)]


def _verbatim(
    base: torch.nn.Module, new: torch.nn.Module, kept: np.ndarray
) -> tuple[dict[str, torch.Tensor], np.ndarray] | None:
    """The baseline layer's state unchanged, when its input and its shapes are unchanged."""
    if not np.array_equal(kept, np.arange(len(kept))):
        return None
    base_state, new_state = base.state_dict(), new.state_dict()
    if list(base_state) != list(new_state) or any(
        base_state[k].shape != new_state[k].shape for k in base_state
    ):
        return None
    out = _output_channels(new)
    return {k: v.detach().clone() for k, v in base_state.items()}, np.arange(out)


def _output_channels(module: torch.nn.Module) -> int:
    """The output channels of a recurrent or residual layer (the last weight's rows)."""
    params = [p for name, p in module.named_parameters() if name.endswith("weight")]
    return int(params[-1].shape[0]) if params else 0


def _prune_layer(
    base: torch.nn.Module,
    new: torch.nn.Module,
    kept: np.ndarray,
    *,
    last_rows: np.ndarray | None = None,
) -> tuple[dict[str, torch.Tensor], np.ndarray] | None:
    """The new layer's entries from the baseline layer's, and its kept output channels.

    ``last_rows``, when given, are the output rows the last dense layer or convolution keeps
    (instead of those with the largest L1 norms). ``None`` when the two layers' structures
    differ (the new one starts fresh).
    """
    from torch import nn

    if type(base).__name__ == "_Residual":
        return _prune_residual(base, new, kept)
    base_subs = dict(base.named_modules())
    new_subs = dict(new.named_modules())
    if list(base_subs) != list(new_subs):
        return None
    prunable = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.BatchNorm1d, nn.LayerNorm)
    for sub in base_subs.values():
        has_state = any(True for _ in sub.parameters(recurse=False)) or any(
            True for _ in sub.buffers(recurse=False)
        )
        if has_state and not isinstance(sub, prunable):
            return _verbatim(base, new, kept)  # recurrent, attention, embeddings, residual
        if type(sub).__name__ == "_Residual":
            return _verbatim(base, new, kept)  # nested residual blocks: only unchanged
    out = kept
    state: dict[str, torch.Tensor] = {}
    weighted = [
        n for n, m in base_subs.items() if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)
    ]
    last_weighted = weighted[-1] if weighted else None
    for name, sub in base_subs.items():
        prefix = f"{name}." if name else ""
        if isinstance(sub, nn.Linear | nn.Conv1d | nn.Conv2d):
            weight: torch.Tensor = sub.weight
            target: torch.Tensor = new_subs[name].get_parameter("weight")
            if isinstance(sub, nn.Conv1d | nn.Conv2d) and sub.groups > 1:
                rows = out  # depthwise: one filter per kept channel
                state[f"{prefix}weight"] = weight[torch_index(rows)]
            else:
                rows = keep_largest_l1(weight, int(target.shape[0]))
                if last_rows is not None and name == last_weighted:
                    rows = last_rows
                state[f"{prefix}weight"] = weight[torch_index(rows)][:, torch_index(out)]
            if sub.bias is not None:
                state[f"{prefix}bias"] = sub.bias[torch_index(rows)]
            out = rows
        elif isinstance(sub, nn.BatchNorm1d | nn.LayerNorm):
            for key, value in sub.state_dict().items():
                state[f"{prefix}{key}"] = value if value.ndim == 0 else value[torch_index(out)]
    new_state = new.state_dict()
    if any(tuple(v.shape) != tuple(new_state[k].shape) for k, v in state.items()):
        return None
    return {k: v.detach().clone() for k, v in state.items()}, out


def _prune_residual(
    base: torch.nn.Module, new: torch.nn.Module, kept: np.ndarray
) -> tuple[dict[str, torch.Tensor], np.ndarray] | None:
    """A residual block's entries: its body pruned in order, its shortcut following.

    The body's last layer keeps the outputs with the largest L1 norms, except where the new
    shortcut is the identity: then it keeps the block's input channels, so the sum adds the
    same channels as before. A shortcut that was the identity and is now a projection gets
    the identity's selection matrix, so the block still computes what it computed on the
    kept channels.
    """
    import torch
    from torch import nn

    identity = isinstance(new.projection, nn.Identity)
    if identity and not isinstance(base.projection, nn.Identity):
        return None  # a projection cannot become an identity: the sum's channels differ
    forced = kept if identity else None
    base_body, new_body = base.get_submodule("body"), new.get_submodule("body")
    pruned = _prune_layer(base_body, new_body, kept, last_rows=forced)
    if pruned is None:
        return None
    body, out = pruned
    state = {f"body.{k}": v for k, v in body.items()}
    if isinstance(new.projection, nn.Linear):
        target = new.projection.weight
        if isinstance(base.projection, nn.Linear):
            weight = base.projection.weight[torch_index(out)][:, torch_index(kept)]
            bias = base.projection.bias[torch_index(out)]
        else:
            weight = torch.zeros_like(target)
            for row, channel in enumerate(out):
                weight[row, torch_index(np.flatnonzero(kept == channel))] = 1.0
            bias = torch.zeros(target.shape[0])
        if tuple(weight.shape) != tuple(target.shape):
            return None
        state["projection.weight"] = weight
        state["projection.bias"] = bias
    elif not isinstance(base.projection, nn.Identity) or not np.array_equal(out, kept):
        return None
    return {k: v.detach().clone() for k, v in state.items()}, out


def torch_index(indices: np.ndarray) -> torch.Tensor:
    """``indices`` as a torch index tensor."""
    import torch

    return torch.as_tensor(indices, dtype=torch.long)


def prune_state(
    baseline: Network,
    state: Mapping[str, torch.Tensor],
    shrunk: Network,
    plan: tuple[ShrunkLayer, ...],
) -> dict[str, torch.Tensor]:
    """The entries of ``shrunk``'s state dict that come from the baseline's ``state``.

    Only copied entries are returned: load them with ``weight_init="pretrained"`` (or
    ``load_state_dict(..., strict=False)``) over a freshly initialised module.

    Args:
        baseline: The baseline network.
        state: The baseline's state dict (``build_module(baseline)``'s names).
        shrunk: The shrunk network (``apply_shrink(baseline, config)``).
        plan: ``shrink_plan(baseline, config)``: where each shrunk layer comes from.
    """
    from archtune.backends.torch import build_module

    base_module = build_module(baseline)
    base_module.load_state_dict(dict(state))
    new_module = build_module(shrunk)
    base_shapes = (baseline.input_shape, *infer_shapes(baseline))
    new_shapes = (shrunk.input_shape, *infer_shapes(shrunk))
    result: dict[str, torch.Tensor] = {}
    kept: np.ndarray | None = np.arange(baseline.input_shape[-1])
    previous = -1
    for j, entry in enumerate(plan):
        i = entry.source
        if i != previous + 1:
            kept = None  # a layer was removed: the input is not the baseline's any more
        previous = i
        layer = entry.layer
        spatial_same = base_shapes[i][:-1] == new_shapes[j][:-1]
        if kept is None or entry.reshaped:
            kept = None
        elif isinstance(layer, Flatten):
            shape = base_shapes[i]
            positions = int(np.prod(shape[:-1])) if spatial_same else 0
            kept = (
                (np.arange(positions)[:, None] * shape[-1] + kept[None, :]).reshape(-1)
                if spatial_same
                else None
            )
        elif isinstance(layer, PositionEmbedding) and not spatial_same:
            kept = None
        else:
            pruned = _prune_layer(base_module.layers[i], new_module.layers[j], kept)
            if pruned is None:
                kept = None
            else:
                entries, kept = pruned
                result.update({f"layers.{j}.{k}": v for k, v in entries.items()})
    if kept is not None and previous == len(baseline.layers) - 1:
        pruned = _prune_layer(base_module.head, new_module.head, kept)
        if pruned is not None:
            result.update({f"head.{k}": v for k, v in pruned[0].items()})
    return result
