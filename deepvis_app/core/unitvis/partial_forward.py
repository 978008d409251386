"""Forward passes that stop as soon as the wanted layers have produced their outputs.

find-max on early layers and the crops' backward passes only need the network up to the layer
they look at; running the rest (and, for crops, recording its autograd graph) is wasted time.
A forward hook raises a private exception once every wanted layer has fired; the hooks are
removed in `finally`. With `clone`, outputs are copied as they are produced, so an in-place op
later in the pass cannot change a stored one (needed when several layers are wanted); without
it they are the graph's own tensors (for gradients), safe when the pass stops right after them.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from deepvis_app.core.layers import find_module


class _LayersReached(Exception):
    """Raised from a hook to end the forward pass early."""


def forward_until(model: nn.Module, x: torch.Tensor, layers: Sequence[str],
                  clone: bool = False) -> dict[str, torch.Tensor]:
    """{layer: output} for `layers`, running `model` only as far as the last of them."""
    wanted = list(dict.fromkeys(layers))
    store: dict[str, torch.Tensor] = {}
    handles = []

    def make_hook(name: str):
        def hook(_module, _inputs, output):
            if isinstance(output, torch.Tensor):
                store[name] = output.clone() if clone else output
            if len(store) == len(wanted):
                raise _LayersReached
        return hook

    try:
        for name in wanted:
            handles.append(find_module(model, name).register_forward_hook(make_hook(name)))
        model(x)
    except _LayersReached:
        pass
    finally:
        for handle in handles:
            handle.remove()
    missing = [name for name in wanted if name not in store]
    if missing:
        raise RuntimeError(f"layers produced no tensor output in the forward pass: {', '.join(missing)}")
    return store
