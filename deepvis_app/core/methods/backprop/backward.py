"""The shared "run backward from a unit" entry point (see the package docstring for the methods)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import ContextManager, Sequence

import torch
from torch import nn

from deepvis_app.core.methods.backprop.mode import ReluRuleMode
from deepvis_app.core.nn.hooks import tapped, tapping
from deepvis_app.settings.options import option

BACKPROP_METHODS = ("gradient", "deconv", "guided", "salinet", "desalinet")
SEEDS = ("activation", "one", "position", "max", "layer")
# Max-pool backward of the reversed nets: the argmax ("switches", what backprop does) or the centre of
# the window (DNN-Visualizer's ``locational_pooling=False``), see `pooling`.
UNPOOLING = ("switches", "window_centre")
# LocalResponseNorm backward of the reversed nets: its gradient, or the identity (the original
# toolbox's ``lrn_param.deconv_ignore``), see `lrn`.
LRN_BACKWARD = ("backward", "pass")
# method -> activation rule (see `rules`); gradient needs no mode at all.
_METHOD_RULES = {"deconv": "deconv", "guided": "guided", "salinet": "backprop", "desalinet": "guided"}
REVERSED_NETS = ("deconv", "salinet", "desalinet")   # the methods that offer unpool= and lrn=


@dataclass(frozen=True)
class ReversedNetOptions:
    """The options of deconv, salinet and desalinet (for the method registry and its settings/flags);
    its fields are the keywords of `backward_rules` (see `reversed_net_rules`)."""

    unpool: str = option("switches", "max-pool backward: 'switches' (argmax, as backprop) or 'window_centre' "
                         "(the window's centre, DNN-Visualizer's locational_pooling=False)", choices=UNPOOLING)
    lrn: str = option("backward", "LocalResponseNorm backward: 'backward' (its gradient) or 'pass' (the identity, "
                      "the original toolbox's lrn_param.deconv_ignore)", choices=LRN_BACKWARD)


def reversed_net_rules(options: object) -> dict[str, str]:
    """A method's ``options`` as `backward_rules` keywords: the fields of a `ReversedNetOptions` that
    differ from the defaults (so equal rules give equal keywords), none for any other options or None."""
    if not isinstance(options, ReversedNetOptions):
        return {}
    defaults = asdict(ReversedNetOptions())
    return {name: value for name, value in asdict(options).items() if value != defaults[name]}


@dataclass
class BackpropResult:
    """What one backward pass from a unit gives."""

    input_grad: torch.Tensor | None       # (B, C, H, W) signal at the network input (None if not asked for)
    layer_grads: dict[str, torch.Tensor]  # the signal at the outputs of the layers named in grad_layers
    activations: dict[str, torch.Tensor]  # forward outputs of the origin layer and of grad_layers (detached)
    output: object                        # model output (detached when a tensor; some models return tuples)


def backward_rules(method: str, unpool: str = "switches", lrn: str = "backward") -> ContextManager[object]:
    """A context in which forwards record ``method``'s backward rules (a no-op for ``gradient``);
    for deconv, salinet and desalinet, ``unpool="window_centre"`` sends max-pool signals to the window
    centre and ``lrn="pass"`` passes them through local response norms unchanged."""
    if unpool not in UNPOOLING:
        raise ValueError(f"unknown unpooling '{unpool}' (choose from {', '.join(UNPOOLING)})")
    if lrn not in LRN_BACKWARD:
        raise ValueError(f"unknown LRN backward '{lrn}' (choose from {', '.join(LRN_BACKWARD)})")
    if method != "gradient" and method not in _METHOD_RULES:
        raise ValueError(f"unknown backprop method '{method}' (choose from {', '.join(BACKPROP_METHODS)})")
    if unpool != "switches" and method not in REVERSED_NETS:
        raise ValueError(f"{method} uses max-pool switches by definition; unpool='{unpool}' is for "
                         f"{', '.join(REVERSED_NETS)}")
    if lrn != "backward" and method not in REVERSED_NETS:
        raise ValueError(f"{method} uses the LocalResponseNorm gradient by definition; lrn='{lrn}' is for "
                         f"{', '.join(REVERSED_NETS)}")
    if method == "gradient":
        return nullcontext()
    return ReluRuleMode(_METHOD_RULES[method], unpool == "window_centre", method, lrn_pass=lrn == "pass")


def backprop_from_unit(model: nn.Module, x: torch.Tensor, layer: str | None, unit: int | Sequence[int] | torch.Tensor,
                       *, method: str = "gradient", seed: str = "activation",
                       position: tuple[int, int] | None = None, grad_layers: Sequence[str] = (),
                       probability: bool = False, input_grad: bool = True,
                       unpool: str = "switches", lrn: str = "backward") -> BackpropResult:
    """Back-project ``unit`` of ``layer`` (None: the model output) to the input of ``model``.

    ``unit`` is one channel index for the whole batch, or one per batch item; with a single image
    and several units the image is repeated, one batch item per unit. Seeds (the signal put on the
    origin layer's output, zero on every other channel):

    - ``activation``: the unit's own activation map (the original toolbox's default);
    - ``one``: 1.0 over the whole channel (a 1-D layer: 1.0 at the unit), i.e. the gradient of the
      channel sum, which is what captum's Neuron* methods compute with the selector
      ``lambda a: a[:, c].sum((1, 2))``;
    - ``position``: 1.0 at (unit, i, j) with ``position=(i, j)``;
    - ``max``: 1.0 at the unit's own arg-max position in each image (cnn-vizlib's "feature max");
    - ``layer``: the whole layer's activation, every channel (DNN-Visualizer's ``index=None``); the
      unit then only picks nothing (any valid unit is accepted).

    ``probability=True`` seeds the softmax (over dim 1) of the layer's output instead of the raw
    values; meant for the output layer. ``grad_layers`` also returns the signal at those layers'
    outputs (zero for layers the origin does not depend on). ``input_grad=False`` skips the signal at
    the input (``input_grad`` is then None): the graph then starts at the tapped layers, so forward
    and backward below the earliest of ``grad_layers`` record and compute nothing. ``unpool``,
    ``lrn``: see `backward_rules`.
    """
    if seed not in SEEDS:
        raise ValueError(f"unknown seed '{seed}' (choose from {', '.join(SEEDS)})")
    rules = backward_rules(method, unpool, lrn)
    x, units = _batch_units(x, unit)
    names = ([layer] if layer else []) + [n for n in grad_layers if n != layer]
    x_in = x.detach().requires_grad_(input_grad)
    with torch.enable_grad(), tapping(model, names) as taps, rules:
        output = model(x_in)
    signal = _origin_signal(output, taps, layer, probability)
    targets = ([x_in] if input_grad else []) + [tapped(taps, n) for n in grad_layers]
    seed_tensor = make_seed(signal.detach(), units, seed, position)
    grads = torch.autograd.grad(signal, targets, grad_outputs=seed_tensor, allow_unused=True,
                                materialize_grads=True) if targets else ()
    activations = {n: tapped(taps, n).detach() for n in names}
    layer_grads = dict(zip(grad_layers, grads[1:] if input_grad else grads, strict=True))
    return BackpropResult(grads[0] if input_grad else None, layer_grads, activations, _detached(output))


def _origin_signal(output: object, taps: dict[str, torch.Tensor], layer: str | None,
                   probability: bool) -> torch.Tensor:
    origin = tapped(taps, layer) if layer else output
    if not isinstance(origin, torch.Tensor):
        raise TypeError(f"the model output is a {type(origin).__name__}, not a tensor; name a layer")
    return torch.softmax(origin, dim=1) if probability else origin


def _detached(output: object) -> object:
    return output.detach() if isinstance(output, torch.Tensor) else output


def _batch_units(x: torch.Tensor, unit: int | Sequence[int] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if x.dim() < 2:
        raise ValueError(f"input must be batched (B, C, ...), got shape {tuple(x.shape)}")
    units = torch.as_tensor(unit.cpu() if isinstance(unit, torch.Tensor) else unit, dtype=torch.long).reshape(-1)
    if units.numel() == 1:
        return x, units.expand(x.shape[0]).clone()
    if x.shape[0] == 1 and len(units) > 1:
        x = x.expand(len(units), *x.shape[1:]).contiguous()
    if len(units) != x.shape[0]:
        raise ValueError(f"{len(units)} units for a batch of {x.shape[0]} inputs (give one, or one per input)")
    return x, units


def make_seed(values: torch.Tensor, units: torch.Tensor, seed: str,
              position: Sequence[int] | Sequence[Sequence[int]] | None = None) -> torch.Tensor:
    """The top signal for ``seed`` on a layer output ``values`` (B, K, ...), one unit per batch item;
    ``position`` is one (i, j) for every item, or one per item."""
    channels = values.shape[1]
    if int(units.min()) < 0 or int(units.max()) >= channels:
        raise ValueError(f"unit {units.tolist()} out of range: the layer has {channels} channels")
    rows = torch.arange(values.shape[0], device=values.device)
    units = units.to(values.device)
    seed_tensor = torch.zeros_like(values)
    if seed == "activation":
        seed_tensor[rows, units] = values[rows, units]
    elif seed == "one" or (seed in ("position", "max") and values.dim() == 2):
        seed_tensor[rows, units] = 1.0
    elif seed == "position":
        seed_tensor[(rows, units) + _position_index(values, position)] = 1.0
    elif seed == "max":
        maps = values[rows, units]                           # (B, ...) each item's own unit
        peak = torch.zeros_like(maps).flatten(1)
        peak[rows, maps.flatten(1).argmax(1)] = 1.0
        seed_tensor[rows, units] = peak.view_as(maps)
    elif seed == "layer":
        seed_tensor = values.clone()
    else:
        raise ValueError(f"unknown seed '{seed}' (choose from {', '.join(SEEDS)})")
    return seed_tensor


def _position_index(values: torch.Tensor, position: Sequence | None) -> tuple[int | torch.Tensor, ...]:
    if position is None:
        raise ValueError("seed 'position' needs position=(i, j)")
    spatial = tuple(values.shape[2:])
    index = torch.as_tensor(position, dtype=torch.long)  # (ndim,) for every item, or (B, ndim)
    if not 1 <= index.dim() <= 2 or index.shape[-1] != len(spatial) or (index < 0).any() \
            or (index >= torch.tensor(spatial)).any():
        raise ValueError(f"position {tuple(index.tolist())} outside the layer's spatial size {spatial}")
    return tuple(index.T.to(values.device)) if index.dim() == 2 else tuple(int(p) for p in index)


