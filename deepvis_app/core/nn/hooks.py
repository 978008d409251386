"""Forward hooks on named layers: the one module that registers them.

Every hook is registered inside ``try`` and removed in ``finally``, so no hook outlives a call, even
one that raises. What a hook stores is a *tap*: the module's real output tensor, while the network is
handed a clone in its place. A later in-place op (an in-place ReLU after a conv) then rewrites the
clone, never the stored tensor, so the stored activation stays the pre-ReLU value, and gradients taken
with respect to it are the signal arriving at that layer's output (what the backprop methods need).
When gradients are on but nothing upstream requires them (the input does not), the tapped output
becomes a graph leaf, so a backward can start below it and stop there (what Grad-CAM needs). For a
module called several times (a reused ReLU) the last call wins. A transformer's token output is tapped
as its (B, C, h, w) patch grid (`core.tokens`): the network then goes on with tokens rebuilt from that
grid, so gradients with respect to the stored grid are the ones arriving at the layer's tokens.

* `tapping`: a block within which forward passes fill {layer: tapped output};
* `forward_until`: one forward pass that stops as soon as the wanted layers have produced their
  outputs (find-max on early layers, crops, optimization: the rest of the network is not needed);
* `capture_activations`: one forward without gradients, returning the output and the taps;
* `forward_hooks`: the primitive, any hooks on any modules (layer discovery observes every module).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence

import torch
from torch import nn

from deepvis_app.core.nn import tokens
from deepvis_app.core.nn.outputs import head_of
from deepvis_app.errors import DeepvisError

Hook = Callable[[nn.Module, Any, Any], Any]


class UnknownLayer(DeepvisError, KeyError):
    """The model has no module of that dotted name (a KeyError too, for callers that look names up)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingLayerOutput(UnknownLayer):
    """A named layer produced no tensor output in the forward pass (never ran, or returned a tuple)."""


def find_module(module: nn.Module, name: str) -> nn.Module:
    """The submodule with this dotted name (or the output head, `core.outputs`); `UnknownLayer` when there is
    none."""
    head = head_of(module)
    if head is not None and name == head.name:
        return head
    try:
        return module.get_submodule(name)
    except AttributeError:
        import difflib

        close = difflib.get_close_matches(name, [n for n, _ in module.named_modules() if n], n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UnknownLayer(f"the model has no module named '{name}'{hint}") from None


@contextmanager
def forward_hooks(hooks: Iterable[tuple[nn.Module, Hook]]) -> Iterator[None]:
    """Within the block, each (module, hook) is registered as a forward hook; all are removed on exit."""
    handles = []
    try:
        for module, hook in hooks:
            handles.append(module.register_forward_hook(hook))
        yield
    finally:
        for handle in handles:
            handle.remove()


class _Reached(Exception):
    """Raised from a tap to end the forward pass once every wanted layer has fired."""


def _tap(model: nn.Module, name: str, store: dict[str, torch.Tensor], stop_at: int | None = None) -> Hook:
    def hook(_module: nn.Module, _inputs: object, output: object) -> object:
        if not isinstance(output, torch.Tensor):
            return None
        if torch.is_grad_enabled() and not output.requires_grad and output.is_floating_point():
            output = output.detach().requires_grad_(True)
        grid = tokens.layout(model, name, output.shape[1:])
        shown = output if grid is None else grid.to_grid(output)
        store[name] = shown
        if stop_at is not None and len(store) >= stop_at:
            raise _Reached
        return output.clone() if grid is None else grid.to_tokens(shown, output)
    return hook


@contextmanager
def tapping(model: nn.Module, names: Sequence[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Within the block, forward passes fill the yielded dict {layer name: tapped output (in graph)}."""
    store: dict[str, torch.Tensor] = {}
    with forward_hooks((find_module(model, name), _tap(model, name, store)) for name in dict.fromkeys(names)):
        yield store


def tapped(store: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    """The tapped output of ``name``, with a clear error when the forward never produced it."""
    require_outputs(store, [name])
    return store[name]


def require_outputs(store: dict[str, torch.Tensor], names: Sequence[str]) -> None:
    """`MissingLayerOutput` naming every layer of ``names`` absent from ``store``."""
    missing = [name for name in names if name not in store]
    if missing:
        raise MissingLayerOutput(f"layers produced no tensor output in the forward pass: {', '.join(missing)}")


def forward_until(model: nn.Module, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """{layer: tapped output} for ``layers``, running ``model`` only as far as the last of them.

    The outputs are the graph's own tensors (gradients flow to ``x``); the pass stops right after the
    last one, and the earlier ones were replaced by clones downstream, so no later op changed them.
    """
    wanted = list(dict.fromkeys(layers))
    store: dict[str, torch.Tensor] = {}
    try:
        with forward_hooks((find_module(model, name), _tap(model, name, store, len(wanted))) for name in wanted):
            model(x)
    except _Reached:
        pass
    require_outputs(store, wanted)
    return store


def capture_activations(model: nn.Module, x: torch.Tensor,
                        layers: Sequence[str]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(model output, {layer: activation}) for one whole forward pass, without gradients."""
    with torch.no_grad(), tapping(model, layers) as store:
        output = model(x)
    require_outputs(store, layers)
    return output.detach(), dict(store)
