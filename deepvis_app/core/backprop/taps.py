"""Taps on named layers: the real output tensors, kept in the autograd graph.

To get the signal *at* a layer output we need the tensor that the rest of the network consumed, not
a clone. Each tap stores the module's output and hands the network a clone in its place, so a later
in-place op (an in-place ReLU after a conv) rewrites the clone and never the stored tensor: the stored
activation stays the pre-ReLU value, and gradients taken with respect to it are the signal arriving at
that layer's output. For a module called several times (a reused ReLU) the last call wins, as in
``core.capture``. When gradients are on but nothing upstream requires them (the input does not),
the tapped output becomes a graph leaf, so a backward can start below it and stop there (what
Grad-CAM needs). Hooks are removed in ``finally``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import torch
from torch import nn

from deepvis_app.core.layers import find_module


@contextmanager
def tapping(model: nn.Module, names: Sequence[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, forward passes fill the yielded dict {layer name: output tensor (in graph)}."""
    store: dict[str, torch.Tensor] = {}
    handles = []
    try:
        for name in dict.fromkeys(names):
            handles.append(find_module(model, name).register_forward_hook(_tap_hook(name, store)))
        yield store
    finally:
        for handle in handles:
            handle.remove()


def _tap_hook(name: str, store: dict[str, torch.Tensor]):
    def hook(_module: nn.Module, _inputs: object, output: object) -> object:
        if not isinstance(output, torch.Tensor):
            return None
        if torch.is_grad_enabled() and not output.requires_grad and output.is_floating_point():
            output = output.detach().requires_grad_(True)
        store[name] = output
        return output.clone()
    return hook


def tapped(store: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    """The tapped output of ``name``, with a clear error when the forward never produced it."""
    if name not in store:
        raise KeyError(f"layer '{name}' produced no tensor output in the forward pass")
    return store[name]
