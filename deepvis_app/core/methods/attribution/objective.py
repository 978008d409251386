"""What an attribution explains: a class score of the model output, or one unit of a layer.

Every attribution method reduces to a scalar per batch row, the *objective*:

- a class target ``t``: the output logit ``y[:, t]`` (the softmax probability with
  ``probability=True``); ``target=None`` picks each image's top predicted class;
- a unit ``u`` of ``layer``: the unit's channel summed over space, ``a[:, u].sum((1, 2))`` (the unit
  itself for a 1-D layer), i.e. captum's Neuron* selector ``lambda a: a[:, u].sum((1, 2))`` and the
  backprop seed ``one``.

Batched methods repeat images (noise samples, path steps, occluded copies); ``index`` then carries
the target or unit of each row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from deepvis_app.core.methods.backprop import backprop_from_unit
from deepvis_app.core.nn import outputs
from deepvis_app.core.nn.hooks import tapped, tapping


@dataclass(frozen=True)
class Objective:
    """The scalar an attribution explains: ``index`` of ``layer`` (None: the model output)."""

    layer: str | None
    index: torch.Tensor          # (B,) class or unit per image
    probability: bool = False

    def repeat(self, times: int) -> torch.Tensor:
        """The index for a batch where each image is repeated ``times`` times in a row."""
        return self.index.repeat_interleave(times)

    def tiled(self, times: int) -> torch.Tensor:
        """The index for ``times`` copies of the whole batch stacked one after another."""
        return self.index.repeat(times)


def make_objective(model: nn.Module, x: torch.Tensor, target: int | Sequence[int] | None,
                   layer: str | None, unit: int | Sequence[int] | None, probability: bool = False) -> Objective:
    """The objective for ``attribute``'s arguments: ``unit`` of ``layer`` when a unit is given, else the
    class ``target`` (the top predicted class when None). The output head (`core.outputs`) records its
    reference from this clean input first: what a dense or detection score is measured against while a
    method perturbs the input."""
    outputs.prepare(model, x)
    if unit is not None:
        if not layer:
            raise ValueError("a unit objective needs the layer it belongs to")
        return Objective(layer, _per_image(unit, x.shape[0]), False)
    if target is None:
        with torch.no_grad():
            target = model(x).argmax(dim=1).tolist()
    return Objective(None, _per_image(target, x.shape[0]), probability)


def _per_image(value: int | Sequence[int] | torch.Tensor, batch: int) -> torch.Tensor:
    index = torch.as_tensor(value, dtype=torch.long).reshape(-1)
    if index.numel() == 1:
        return index.expand(batch).clone()
    if index.numel() != batch:
        raise ValueError(f"{index.numel()} targets for a batch of {batch} inputs (give one, or one per input)")
    return index


def objective_values(model: nn.Module, x: torch.Tensor, objective: Objective, index: torch.Tensor) -> torch.Tensor:
    """The objective of each row of ``x`` (no gradient), shape (N,)."""
    names = [objective.layer] if objective.layer else []
    with torch.no_grad(), tapping(model, names) as taps:
        output = model(x)
    values = tapped(taps, objective.layer) if objective.layer else output
    if objective.probability:
        values = torch.softmax(values, dim=1)
    rows = torch.arange(values.shape[0], device=values.device)
    picked = values[rows, index.to(values.device)]
    return picked.flatten(1).sum(1) if picked.dim() > 1 else picked


def objective_gradient(model: nn.Module, x: torch.Tensor, objective: Objective, index: torch.Tensor,
                       method: str = "gradient", grad_layers: Sequence[str] = (), input_grad: bool = True,
                       unpool: str = "switches", lrn: str = "backward"):
    """Backprop (``method``'s rules, ``unpool`` and ``lrn`` as `backward_rules`) of the objective of each
    row of ``x``; a ``BackpropResult``."""
    return backprop_from_unit(model, x, objective.layer, index, method=method, seed="one",
                              grad_layers=grad_layers, probability=objective.probability, input_grad=input_grad,
                              unpool=unpool, lrn=lrn)


def chunks(total: int, size: int | None) -> list[slice]:
    """Slices of at most ``size`` (all at once when None) covering range(total)."""
    step = total if not size or size <= 0 else size
    return [slice(start, min(start + step, total)) for start in range(0, total, step)]
