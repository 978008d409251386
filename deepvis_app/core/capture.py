"""Activation capture: the outputs of chosen layers in one forward pass.

Hooks are registered inside `try` and removed in `finally`, so no hook outlives a call, even
one that raises. Captured outputs are cloned (or kept in the graph, detached from later
in-place ops by cloning) so a later in-place op cannot turn a stored conv output into post-ReLU
values behind our back.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import torch
from torch import nn

from deepvis_app.core.layers import find_module


@contextmanager
def capturing(
    model: nn.Module, layer_names: Sequence[str], keep_graph: bool = False
) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, forward passes fill the yielded dict {layer name: output}.

    With `keep_graph` the stored tensors stay in the autograd graph (for gradients with
    respect to them); otherwise they are detached clones.
    """
    store: dict[str, torch.Tensor] = {}
    handles = []
    try:
        for name in layer_names:
            handles.append(find_module(model, name).register_forward_hook(_store_hook(name, store, keep_graph)))
        yield store
    finally:
        for handle in handles:
            handle.remove()


def _store_hook(name: str, store: dict[str, torch.Tensor], keep_graph: bool):
    def hook(_module, _inputs, output):
        if isinstance(output, torch.Tensor):
            store[name] = output.clone() if keep_graph else output.detach().clone()
    return hook


def capture_activations(
    model: nn.Module, x: torch.Tensor, layer_names: Sequence[str]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(model output, {layer: activation}) for one forward pass, without gradients."""
    with capturing(model, layer_names) as store, torch.no_grad():
        output = model(x)
    missing = [name for name in layer_names if name not in store]
    if missing:
        raise RuntimeError(f"layers produced no tensor output in this forward pass: {', '.join(missing)}")
    return output.detach(), dict(store)
