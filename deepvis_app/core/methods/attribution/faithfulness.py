"""How faithful is a map? Deletion / insertion curves (Petsiuk et al. 2018, RISE, arXiv:1806.07421).

A good map ranks first the pixels the model needs. Rank the pixels by the map (summed over
channels, upsampled to the input if it is a layer map), then:

- deletion: remove the top-ranked pixels, a fraction ``k / steps`` at a time (replace them by
  ``baseline``); the objective should fall fast: a low area under the curve is good;
- insertion: start from the input with every pixel removed (blurred by default, as RISE: a
  Gaussian, kernel 11, sigma 5) and put the top-ranked pixels back; the objective should rise
  fast: a high area is good.

Each curve has ``steps + 1`` points, the objective (any `Objective`: a logit, a probability, a unit)
after 0, 1/steps, ..., all of the pixels; its area is the trapezoid mean over the fractions (RISE's
``auc``). Ties in the ranking go by pixel index (a stable sort). ``batch_size`` perturbed copies go
through the network at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.methods.attribution.objective import Objective, chunks, objective_values

BLUR_KERNEL, BLUR_SIGMA = 11, 5.0   # RISE's insertion substrate


@dataclass(frozen=True)
class FaithfulnessCurves:
    """Per image (B, steps + 1) objective values along deletion and insertion, and their areas (B,)."""

    fractions: torch.Tensor
    deletion: torch.Tensor
    insertion: torch.Tensor

    @property
    def deletion_auc(self) -> torch.Tensor:
        return area_under(self.deletion)

    @property
    def insertion_auc(self) -> torch.Tensor:
        return area_under(self.insertion)


def area_under(curve: torch.Tensor) -> torch.Tensor:
    """Trapezoid mean of (B, N) equally spaced values (RISE's ``auc``)."""
    return (curve.sum(dim=1) - curve[:, 0] / 2 - curve[:, -1] / 2) / (curve.shape[1] - 1)


def blurred(x: torch.Tensor, kernel: int = BLUR_KERNEL, sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """Each channel Gaussian-blurred (zero padding, as RISE's conv2d)."""
    offsets = torch.arange(kernel, dtype=x.dtype, device=x.device) - (kernel - 1) / 2
    line = torch.exp(-0.5 * (offsets / sigma) ** 2)
    line = line / line.sum()
    weight = (line[:, None] * line[None, :]).expand(x.shape[1], 1, kernel, kernel)
    return F.conv2d(x, weight, padding=kernel // 2, groups=x.shape[1])


def pixel_order(saliency: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, H*W) pixel indices, most salient first, of a (B, C, h, w) map summed over channels."""
    summed = saliency.detach().sum(dim=1, keepdim=True)
    if tuple(summed.shape[2:]) != tuple(size):
        summed = F.interpolate(summed, size=size, mode="bilinear", align_corners=False)
    return torch.argsort(summed.flatten(1), dim=1, descending=True, stable=True)


def _curve(model: nn.Module, start: torch.Tensor, end: torch.Tensor, order: torch.Tensor, objective: Objective,
           steps: int, batch_size: int | None) -> torch.Tensor:
    """Objective values as the pixels of ``order`` go from ``start``'s to ``end``'s, ``steps`` slices."""
    batch, _, height, width = start.shape
    pixels = height * width
    counts = [round(pixels * k / steps) for k in range(steps + 1)]
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(pixels, device=order.device).expand(batch, -1))
    values = torch.empty(batch, steps + 1, dtype=start.dtype, device=start.device)
    for part in chunks(steps + 1, batch_size):
        limits = torch.tensor(counts[part], device=start.device)
        changed = (rank[:, None, :] < limits[None, :, None]).view(batch, -1, 1, height, width)
        images = torch.where(changed, end[:, None], start[:, None]).flatten(0, 1)
        index = objective.index.repeat_interleave(len(limits))
        values[:, part] = objective_values(model, images, objective, index).view(batch, -1)
    return values


def deletion_insertion(model: nn.Module, x: torch.Tensor, objective: Objective, saliency: torch.Tensor,
                       steps: int = 32, baseline: float = 0.0, insertion_start: str = "blur",
                       batch_size: int | None = 16) -> FaithfulnessCurves:
    """Deletion and insertion curves of ``saliency`` (a (B, C, h, w) map of ``objective`` for ``x``).

    ``insertion_start``: "blur" (RISE) or "baseline" (the constant ``baseline``, as deletion ends).
    """
    if steps < 1:
        raise ValueError(f"faithfulness curves need at least one step, got {steps}")
    if insertion_start not in ("blur", "baseline"):
        raise ValueError(f"insertion_start must be 'blur' or 'baseline', got {insertion_start!r}")
    x = x.detach()
    order = pixel_order(saliency, (x.shape[2], x.shape[3]))
    removed = torch.full_like(x, baseline)
    substrate = blurred(x) if insertion_start == "blur" else removed
    fractions = torch.linspace(0.0, 1.0, steps + 1, dtype=x.dtype)
    return FaithfulnessCurves(fractions, _curve(model, x, removed, order, objective, steps, batch_size),
                              _curve(model, substrate, x, order, objective, steps, batch_size))
