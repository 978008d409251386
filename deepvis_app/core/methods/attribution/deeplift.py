"""DeepLIFT with the rescale rule (Shrikumar et al. 2017, arXiv:1704.02685; captum's ``DeepLift``).

attr = (x - x') * m, where m is the "multiplier" of the objective with respect to the input:
the chain rule run with every nonlinearity's derivative replaced by Delta out / Delta in between the
input's forward and the baseline x''s forward (see `deeplift_rules`). Linear layers keep their
weights, so for a network of linear layers, rescaled nonlinearities and max-pools the attributions
sum exactly to f(x) - f(x') ("summation to delta"); products of two signals (squeeze-excitation)
break that, as in captum.

As captum: one forward of the batch [x; x'], and the backward starts from the objective on both
halves (rows of the baseline half only matter through max-pools, whose rule mixes the halves). A
``probability`` objective's softmax keeps its plain gradient (captum rescales only softmax
modules inside the model). The baseline is a value or a tensor broadcastable to x.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from deepvis_app.core.methods.attribution.deeplift_rules import RescaleMode
from deepvis_app.core.methods.attribution.objective import Objective, activations, tapped_layers
from deepvis_app.core.nn.hooks import tapping
from deepvis_app.settings.options import option


@dataclass(frozen=True)
class DeepLiftOptions:
    """Options of `deeplift`."""

    baseline: float | torch.Tensor = option(0.0, "value of the baseline image x'")
    eps: float = option(1e-10, "below this input difference a nonlinearity keeps its gradient")


def deeplift(model: nn.Module, x: torch.Tensor, objective: Objective, *, baseline: float | torch.Tensor = 0.0,
             eps: float = 1e-10) -> torch.Tensor:
    """(B, C, H, W) DeepLIFT-rescale attribution of ``objective`` relative to ``baseline``."""
    x = x.detach()
    base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x)
    both = torch.cat([x, base]).requires_grad_(True)
    with torch.enable_grad(), tapping(model, tapped_layers(objective)) as taps, RescaleMode(eps):
        output = model(both)
    with torch.enable_grad():
        values = objective(activations(taps, output, objective), objective.tiled(2))
    grad = torch.autograd.grad(values.sum(), both)[0]
    return (x - base) * grad[: x.shape[0]]
