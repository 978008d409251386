"""Layer discovery on any architecture: dotted names, kinds, output shapes, pretty names.

Runs one forward pass on a blank input with a hook on every module and keeps those that
emit a tensor, in the order their outputs are produced. This works for sequential nets and
for graphs (ResNet, GoogLeNet, EfficientNet) alike, because it observes the forward pass
instead of reading the module tree. A container that only re-emits a child's tensor (a
Sequential whose output *is* its last block's output) can be hidden.

Automatic discovery offers the modules of the settings' ``layer_kinds`` and, whatever their class,
*blocks*: modules with children whose spatial output none of their children produced, i.e. the
module's own code computed it (a residual add, ``x * scale``: ConvNeXt ``CNBlock``, EfficientNet
``MBConv``, MobileNetV3 ``InvertedResidual`` with its in-place ``+= input``, squeeze-excite). An
in-place add keeps the tensor's identity, so outputs are told apart by (identity, version). Two kinds
of outputs are not units and are left out: channels-last outputs of ``Linear`` inside a spatial block
(ConvNeXt's pointwise MLP, (H, W, C)), and the 1x1 / flat outputs computed inside a module whose own
output is spatial (the squeeze-excite path: pooled vector, its two 1x1 convs and their activations).

A transformer's token outputs are shown as their patch grid (`core.tokens`, configured here with the
settings' ``token_grid``): their shapes are the grid's (C, h, w) from the start, so an encoder block
is a spatial block like a CNN's, and its channels-last ``Linear`` outputs are left out as ConvNeXt's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from deepvis_app.core.nn import tokens
from deepvis_app.core.nn.hooks import forward_hooks
from deepvis_app.core.nn.outputs import head_of
from deepvis_app.core.nn.pairs import network_channels
from deepvis_app.settings.defaults import Settings


@dataclass(frozen=True)
class LayerInfo:
    """One visualizable layer: dotted module name, module class, output shape without batch."""

    name: str
    kind: str
    shape: tuple[int, ...]
    pretty: str

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def is_spatial(self) -> bool:
        return len(self.shape) == 3

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "shape": list(self.shape)}


@dataclass(frozen=True)
class _Observed:
    name: str
    kind: str
    shape: tuple[int, ...]
    tensor_id: int
    kinds: tuple[str, ...]
    version: int = 0            # the tensor's in-place version counter when the module returned it
    has_children: bool = False

    @property
    def value(self) -> tuple[int, int]:
        """What the module returned: same tensor and no in-place change since means the same value."""
        return self.tensor_id, self.version


def observe_modules(module: nn.Module, example: torch.Tensor) -> list[_Observed]:
    """Every named module that returned a tensor during one forward, in output order."""
    seen: list[_Observed] = []
    alive: list[torch.Tensor] = []  # keeps outputs alive so their ids stay unique during the pass

    def make_hook(name: str, sub: nn.Module):
        kinds = tuple(cls.__name__ for cls in type(sub).__mro__)
        has_children = next(sub.children(), None) is not None

        def hook(_mod, _inp, out):
            if isinstance(out, torch.Tensor) and out.dim() >= 2:
                alive.append(out)
                shape = tokens.grid_shape(module, name, tuple(out.shape[1:]))
                seen.append(_Observed(name, type(sub).__name__, shape, id(out), kinds, out._version, has_children))
        return hook

    head = head_of(module)
    named = [(name, sub) for name, sub in module.named_modules() if name] + ([(head.name, head)] if head else [])
    with forward_hooks((sub, make_hook(name, sub)) for name, sub in named), torch.no_grad():
        module(example)
    return seen


def discover_layers(module: nn.Module, settings: Settings, device: torch.device | str = "cpu") -> list[LayerInfo]:
    """The layers to show, per settings: an explicit list, or all modules of the offered kinds."""
    tokens.configure(module, settings.token_grid)
    example = torch.zeros((1, network_channels(settings.input_channels, settings.two_inputs), *settings.input_size),
                          device=device)
    observed = observe_modules(module, example)
    by_name = {obs.name: obs for obs in observed}
    if settings.layers is not None:
        unknown = [name for name in settings.layers if name not in by_name]
        if unknown:
            raise ValueError(f"layers not found in the model's forward pass: {', '.join(unknown)} "
                             f"(see `deepvis layers --set layers=None`)")
        chosen = [by_name[name] for name in settings.layers]
    else:
        chosen = _auto_layers(observed, settings)
    return [LayerInfo(obs.name, obs.kind, obs.shape, pretty_name(obs.name, settings)) for obs in chosen]


def _auto_layers(observed: list[_Observed], settings: Settings) -> list[_Observed]:
    kinds = set(settings.layer_kinds)
    blocks = _blocks(observed)
    inner = _not_units(observed)
    chosen: list[_Observed] = []
    emitted: set[int | tuple[int, int]] = set()  # tensor ids (plain layers) and values (blocks)
    names: set[str] = set()
    for obs in observed:
        block = obs.name in blocks
        offered = block or "OutputHead" in obs.kinds or kinds.intersection(obs.kinds)
        if obs.name in names or obs.name in inner or not offered:
            continue
        if settings.layer_filter is not None and not settings.layer_filter(obs.name):
            continue
        if settings.hide_repeated_outputs and (obs.value if block else obs.tensor_id) in emitted:
            continue
        chosen.append(obs)
        emitted.update((obs.tensor_id, obs.value))
        names.add(obs.name)
    return chosen


def _descendant(name: str, parent: str) -> bool:
    return name.startswith(parent + ".")


def _blocks(observed: list[_Observed]) -> set[str]:
    """Modules with children whose (first) spatial output no descendant returned (see the docstring)."""
    found: set[str] = set()
    done: set[str] = set()
    for index, obs in enumerate(observed):
        if obs.name in done or not obs.has_children or len(obs.shape) != 3:
            continue
        done.add(obs.name)
        if not any(o.value == obs.value and _descendant(o.name, obs.name) for o in observed[:index]):
            found.add(obs.name)
    return found


def _not_units(observed: list[_Observed]) -> set[str]:
    """Channels-last Linear outputs and the squeeze-excite path inside spatial modules (see the docstring)."""
    spatial = {o.name for o in observed if len(o.shape) == 3 and o.shape[1] * o.shape[2] > 1}
    out: set[str] = set()
    for obs in observed:
        inside_spatial = any(_descendant(obs.name, parent) for parent in spatial)
        squeezed = len(obs.shape) == 1 or (len(obs.shape) == 3 and obs.shape[1] * obs.shape[2] == 1)
        channels_last = "Linear" in obs.kinds and len(obs.shape) == 3
        if inside_spatial and (squeezed or channels_last):
            out.add(obs.name)
    return out


def pretty_name(name: str, settings: Settings) -> str:
    """A layer's display name: from the settings' dict or function, else the dotted name."""
    pretty = settings.pretty_names
    if isinstance(pretty, dict):
        return str(pretty.get(name, name))
    if callable(pretty):
        return str(pretty(name))
    return name

