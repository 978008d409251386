"""What is explained or maximized: the one `Objective` type, combined with ``+ - * /`` as in lucent.

An objective is a per-image scalar read off one forward pass: a function of the activations of the
layers it names (``None``: the model output) that returns one value per batch row, wrapped with its
layers and a description. Objectives combine like numbers (lucent's `optvis.objectives`):
``a + 2*b - c``, ``-a``, ``a / 4`` and ``a * b`` are objectives again, read off the same forward
pass. Every user shares this algebra:

- attribution explains one (`make_objective`: a class of the output, `output_class`, or a unit of a
  layer, `layer_unit`); its gradient (`objective_gradient`) is the backprop seed of the methods;
- `deepvis optimize` and `deepvis dream` maximize one (`unitvis.optimize.objectives` holds lucent's
  vocabulary: channel, neuron, direction, diversity, ...; `objective_expr` parses text into it).

Attribution methods batch copies of the images (noise samples, path steps, occluded copies); an
objective's ``index`` says which image of the explained batch each row belongs to (``arange(B)``
as made; `repeat` and `tiled` give it for the batches of copies), so a class or unit chosen per
image follows its image into every copy.

A class target ``t`` is the output logit ``y[:, t]`` (the softmax probability with
``probability=True``); a unit ``u`` of ``layer`` is its channel summed over space,
``a[:, u].sum((1, 2))`` (the unit itself for a 1-D layer), i.e. captum's Neuron* selector and the
backprop seed ``one``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from deepvis_app.core.methods.backprop import BackpropResult, backward_rules
from deepvis_app.core.nn import outputs
from deepvis_app.core.nn.hooks import tapped, tapping

Activations = Mapping[Any, torch.Tensor]   # {layer name: its output; None: the model output}
# (activations, the explained image of each row or None for one row per image) -> one value per row
ObjectiveFn = Callable[[Activations, "torch.Tensor | None"], torch.Tensor]
Number = int | float


@dataclass(frozen=True, eq=False)
class Objective:
    """A per-image scalar of one forward pass; combine with ``+ - * /`` (see the module docstring).

    ``layers``: what the forward must tap (``None``: the model output); ``unit``: (layer, class or unit
    per image) of a single-unit objective, None once combined; ``coupled``: an image's value depends
    on the other images of the batch; ``min_batch``: the smallest batch it is defined on."""

    fn: ObjectiveFn
    layers: tuple[str | None, ...] = ()
    description: str = ""
    index: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    unit: tuple[str | None, torch.Tensor] | None = None
    coupled: bool = False
    min_batch: int = 1

    def __call__(self, acts: Activations, rows: torch.Tensor | None = None) -> torch.Tensor:
        """The value of each row (N,) from the activations of ``layers``; ``rows``: the explained image
        of each row (default: row i is image i)."""
        return self.fn(acts, rows)

    def repeat(self, times: int) -> torch.Tensor:
        """The index for a batch where each image is repeated ``times`` times in a row."""
        return self.index.repeat_interleave(times)

    def tiled(self, times: int) -> torch.Tensor:
        """The index for ``times`` copies of the whole batch stacked one after another."""
        return self.index.repeat(times)

    def _joined(self, other: Objective, fn: ObjectiveFn, description: str) -> Objective:
        return Objective(fn, tuple(dict.fromkeys(self.layers + other.layers)), description,
                         self.index if self.index.numel() else other.index, None,
                         self.coupled or other.coupled, max(self.min_batch, other.min_batch))

    def _mapped(self, fn: ObjectiveFn, description: str) -> Objective:
        return replace(self, fn=fn, description=description, unit=None)

    def __add__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return self._joined(other, lambda acts, rows: self(acts, rows) + other(acts, rows),
                            f"{self.description} + {other.description}")

    def __radd__(self, other: object) -> Objective:
        """``0 + objective``: what ``sum(objectives)`` starts with (lucent's `Objective.sum`)."""
        if isinstance(other, (int, float)) and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: Objective) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return self._joined(other, lambda acts, rows: self(acts, rows) - other(acts, rows),
                            f"{self.description} - ({other.description})")

    def __mul__(self, other: Objective | Number) -> Objective:
        if isinstance(other, Objective):
            return self._joined(other, lambda acts, rows: self(acts, rows) * other(acts, rows),
                                f"({self.description}) * ({other.description})")
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return self._mapped(lambda acts, rows: other * self(acts, rows), f"{other:g}*({self.description})")
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, number: Number) -> Objective:
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            return NotImplemented
        return self * (1.0 / number)

    def __neg__(self) -> Objective:
        return self._mapped(lambda acts, rows: -self(acts, rows), f"-({self.description})")


def _per_row(targets: torch.Tensor, rows: torch.Tensor | None, values: torch.Tensor, what: str) -> torch.Tensor:
    """The class or unit of each row of ``values``: ``targets[rows]`` (``targets`` when rows is None)."""
    if targets.numel() and (int(targets.min()) < 0 or int(targets.max()) >= values.shape[1]):
        raise ValueError(f"{what} {targets.tolist()} out of range: the layer has {values.shape[1]} channels")
    chosen = targets if rows is None or not rows.numel() else targets[rows.cpu()]
    if chosen.numel() != values.shape[0]:
        raise ValueError(f"{chosen.numel()} {what}s for a batch of {values.shape[0]} rows")
    return chosen.to(values.device)


def _summed_pick(values: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
    picked = values[torch.arange(values.shape[0], device=values.device), chosen]
    return picked.flatten(1).sum(1) if picked.dim() > 1 else picked


def output_class(targets: torch.Tensor, probability: bool = False) -> Objective:
    """Class ``targets[i]`` of the model output for image i: the logit, or the softmax probability."""
    def fn(acts: Activations, rows: torch.Tensor | None) -> torch.Tensor:
        scores = acts[None]
        if not isinstance(scores, torch.Tensor):
            raise TypeError(f"the model output is a {type(scores).__name__}, not a tensor; name a layer")
        values = torch.softmax(scores, dim=1) if probability else scores
        return _summed_pick(values, _per_row(targets, rows, values, "class"))
    label = "probability" if probability else "class"
    return Objective(fn, (None,), f"{label} {_listed(targets)}", unit=(None, targets))


def layer_unit(layer: str, units: torch.Tensor) -> Objective:
    """Unit ``units[i]`` of ``layer`` for image i, summed over space (the unit itself for a 1-D layer)."""
    def fn(acts: Activations, rows: torch.Tensor | None) -> torch.Tensor:
        values = acts[layer]
        return _summed_pick(values, _per_row(units, rows, values, "unit"))
    return Objective(fn, (layer,), f"unit {_listed(units)} of {layer}", unit=(layer, units))


def unit_seed(layer: str | None, units: torch.Tensor, seed: str,
              position: Sequence[int] | Sequence[Sequence[int]] | None = None) -> Objective:
    """The backprop seeds of `backprop.make_seed` as objectives: the gradient of this objective at
    ``layer``'s output (None: the model output) is exactly the seed ``seed`` on unit ``units[i]`` of
    image i: ``activation`` (the unit's map: half its squared norm), ``one`` (`layer_unit`),
    ``position`` (the unit at ``position``, one (i, j) or one per image), ``max`` (the unit at its own
    arg-max) or ``layer`` (the whole layer: half its squared norm)."""
    if seed == "one":
        return layer_unit(layer, units) if layer else output_class(units)

    def fn(acts: Activations, rows: torch.Tensor | None) -> torch.Tensor:
        values = acts[layer]
        count = values.shape[0]
        if seed == "layer":
            return 0.5 * values.pow(2).reshape(count, -1).sum(1)
        maps = values[torch.arange(count, device=values.device), _per_row(units, rows, values, "unit")]
        if seed == "activation":
            return 0.5 * maps.pow(2).reshape(count, -1).sum(1)
        if maps.dim() == 1:
            return maps
        if seed == "max":
            flat = maps.reshape(count, -1)
            return flat.gather(1, flat.detach().argmax(1, keepdim=True)).squeeze(1)
        return maps[(torch.arange(count, device=values.device),) + _at(position, maps.shape[1:], values.device)]
    if seed not in ("activation", "position", "max", "layer"):
        raise ValueError(f"unknown seed '{seed}' (choose from activation, one, position, max, layer)")
    return Objective(fn, (layer,), f"{seed} seed on unit {_listed(units)} of {layer or 'the output'}")


def _at(position: Sequence | None, spatial: Sequence[int], device: torch.device) -> tuple[torch.Tensor, ...]:
    """Index tensors of ``position`` (one (i, j) for every row, or (N, ndim)) in a map of size ``spatial``."""
    if position is None:
        raise ValueError("seed 'position' needs position=(i, j)")
    index = torch.as_tensor(position, dtype=torch.long)
    if not 1 <= index.dim() <= 2 or index.shape[-1] != len(spatial) or (index < 0).any() \
            or (index >= torch.tensor(tuple(spatial))).any():
        raise ValueError(f"position {tuple(index.tolist())} outside the layer's spatial size {tuple(spatial)}")
    return tuple(index.reshape(-1, len(spatial)).T.to(device))


def _listed(values: torch.Tensor) -> str:
    distinct = sorted(set(values.tolist()))
    return str(distinct[0]) if len(distinct) == 1 else str(values.tolist())


def make_objective(model: nn.Module, x: torch.Tensor, target: int | Sequence[int] | None,
                   layer: str | None, unit: int | Sequence[int] | None, probability: bool = False) -> Objective:
    """The objective for ``attribute``'s arguments: ``unit`` of ``layer`` when a unit is given, else the
    class ``target`` (the top predicted class when None). The output head (`core.outputs`) records its
    reference from this clean input first: what a dense or detection score is measured against while a
    method perturbs the input."""
    outputs.prepare(model, x)
    images = torch.arange(x.shape[0])
    if unit is not None:
        if not layer:
            raise ValueError("a unit objective needs the layer it belongs to")
        return replace(layer_unit(layer, _per_image(unit, x.shape[0])), index=images)
    if target is None:
        with torch.no_grad():
            target = model(x).argmax(dim=1).tolist()
    return replace(output_class(_per_image(target, x.shape[0]), probability), index=images)


def _per_image(value: int | Sequence[int] | torch.Tensor, batch: int) -> torch.Tensor:
    index = torch.as_tensor(value, dtype=torch.long).reshape(-1).cpu()
    if index.numel() == 1:
        return index.expand(batch).clone()
    if index.numel() != batch:
        raise ValueError(f"{index.numel()} targets for a batch of {batch} inputs (give one, or one per input)")
    return index


def single_unit(objective: Objective) -> tuple[str | None, torch.Tensor]:
    """(layer, class or unit of each row of ``index``) of a single-unit objective (layer None: the model
    output); ValueError for a combination, which has no one channel."""
    if objective.unit is None:
        raise ValueError(f"objective {objective.description!r} is not one class or unit of a layer")
    layer, targets = objective.unit
    return layer, targets[objective.index.cpu()] if objective.index.numel() else targets


def tapped_layers(objective: Objective) -> list[str]:
    """The layers a forward must tap for ``objective`` (the model output needs none)."""
    return [layer for layer in objective.layers if layer is not None]


def activations(taps: Mapping[str, torch.Tensor], output: object, objective: Objective) -> dict[Any, Any]:
    """{layer: tapped output, None: the model output} for evaluating ``objective``."""
    acts: dict[Any, Any] = {layer: tapped(dict(taps), layer) for layer in tapped_layers(objective)}
    acts[None] = output
    return acts


def objective_values(model: nn.Module, x: torch.Tensor, objective: Objective, index: torch.Tensor) -> torch.Tensor:
    """The objective of each row of ``x`` (no gradient), shape (N,); ``index``: each row's image."""
    with torch.no_grad(), tapping(model, tapped_layers(objective)) as taps:
        output = model(x)
    with torch.no_grad():
        return objective(activations(taps, output, objective), index)


def objective_gradient(model: nn.Module, x: torch.Tensor, objective: Objective, index: torch.Tensor, *,
                       method: str = "gradient", grad_layers: Sequence[str] = (), input_grad: bool = True,
                       unpool: str = "switches", lrn: str = "backward"):  # a BackpropResult
    """Backprop (``method``'s rules, ``unpool`` and ``lrn`` as `backward_rules`) of the objective of each
    row of ``x`` (``index``: each row's image) to the input and to ``grad_layers``' outputs (zero for a
    layer the objective does not depend on); ``input_grad=False`` skips the input (the graph then
    starts at the tapped layers). The seed on a single unit is 1 on its channel: the seed ``one``."""
    names = list(dict.fromkeys(tapped_layers(objective) + list(grad_layers)))
    x_in = x.detach().requires_grad_(input_grad)
    with torch.enable_grad(), tapping(model, names) as taps, backward_rules(method, unpool, lrn):
        output = model(x_in)
    with torch.enable_grad():
        values = objective(activations(taps, output, objective), index)
    targets = ([x_in] if input_grad else []) + [tapped(taps, name) for name in grad_layers]
    grads = torch.autograd.grad(values.sum(), targets, allow_unused=True, materialize_grads=True) if targets else ()
    layer_grads = dict(zip(grad_layers, grads[1:] if input_grad else grads, strict=True))
    detached = output.detach() if isinstance(output, torch.Tensor) else output
    return BackpropResult(grads[0] if input_grad else None, layer_grads,
                          {name: tapped(taps, name).detach() for name in names}, detached)


def chunks(total: int, size: int | None) -> list[slice]:
    """Slices of at most ``size`` (all at once when None) covering range(total)."""
    step = total if not size or size <= 0 else size
    return [slice(start, min(start + step, total)) for start in range(0, total, step)]
