"""Integrated gradients: (x - x') times the path integral of the gradient from a baseline x' to x.

Quadratures (nodes alpha_i in [0, 1], weights w_i), as captum's ``approximation_methods``:

- ``gausslegendre`` (default): alpha = (1 + nodes) / 2, w = weights / 2 of numpy's ``leggauss``;
- ``riemann_trapezoid``: alpha = linspace(0, 1, n), w = 1/n with both ends halved. This is captum's
  rule, kept for parity; its weights sum to (n - 1)/n, so it under-integrates by that factor;
- ``trapezoid``: the true trapezoid rule, w = 1/(n - 1) with both ends halved (sums to 1);
- ``riemann_left``, ``riemann_right``, ``riemann_middle``: w = 1/n.

All steps of all images go through the network in batches of ``internal_batch_size`` rows; with a
`Progress`, the running estimate (the weighted mean gradient of the steps done, times x - x') is
offered after each batch. ``integrated_gradients`` also returns captum's convergence delta,
sum(attr) - (f(x) - f(x')); ``integrated_gradients_map`` (the registry's entry) only the map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.methods.attribution.objective import Objective, chunks, objective_gradient, objective_values
from deepvis_app.settings.options import option

QUADRATURES = ("gausslegendre", "riemann_trapezoid", "trapezoid", "riemann_left", "riemann_right",
               "riemann_middle")


@dataclass(frozen=True)
class IntegratedGradientsOptions:
    """Options of `integrated_gradients_map` (defaults are the app's settings)."""

    steps: int = option(32, "integration steps (nodes of the quadrature)", minimum=1)
    baseline: float | torch.Tensor = option(0.0, "value of the baseline image x' (also occlusion's baseline)")
    quadrature: str = option("gausslegendre", "quadrature rule", choices=QUADRATURES)
    internal_batch_size: int | None = option(8, "path points per forward pass (None: all at once)", flag="batch")


def quadrature(method: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(alphas, weights) of ``method`` with ``steps`` nodes."""
    if steps < 1 or (steps < 2 and method != "gausslegendre"):
        raise ValueError(f"integrated gradients: too few steps ({steps}) for {method}")
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        return 0.5 * (1.0 + nodes), 0.5 * weights
    if method in ("riemann_trapezoid", "trapezoid"):
        weights = np.full(steps, 1.0 / (steps if method == "riemann_trapezoid" else steps - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, steps), weights
    offsets = {"riemann_left": (0.0, 1.0 - 1.0 / steps), "riemann_right": (1.0 / steps, 1.0),
               "riemann_middle": (0.5 / steps, 1.0 - 0.5 / steps)}
    if method not in offsets:
        raise ValueError(f"unknown quadrature '{method}' (choose from {', '.join(QUADRATURES)})")
    return np.linspace(*offsets[method], steps), np.full(steps, 1.0 / steps)


def integrated_gradients(model: nn.Module, x: torch.Tensor, objective: Objective,
                         *, baseline: float | torch.Tensor = 0.0, steps: int = 32,
                         quadrature_method: str = "gausslegendre", internal_batch_size: int | None = None,
                         with_delta: bool = True,
                         progress: Progress = NO_PROGRESS) -> tuple[torch.Tensor, torch.Tensor | None]:
    """((B, C, H, W) attribution, (B,) convergence delta or None) for ``objective``.

    The delta costs one more forward of the inputs and the baselines; ``with_delta=False`` skips it.
    """
    alphas, weights = quadrature(quadrature_method, steps)
    x = x.detach()
    base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x)
    alpha = torch.as_tensor(alphas, dtype=x.dtype, device=x.device).view(-1, *([1] * x.dim()))
    path = (base[None] + alpha * (x - base)[None]).reshape(-1, *x.shape[1:])
    index = objective.tiled(steps)
    weight = torch.as_tensor(weights, dtype=x.dtype, device=x.device).view(-1, *([1] * x.dim()))
    grads = torch.zeros_like(path)
    done = torch.zeros(path.shape[0], dtype=torch.bool)
    parts = chunks(path.shape[0], internal_batch_size)
    for number, part in enumerate(parts):
        grads[part] = progress.step(number, lambda part=part: objective_gradient(model, path[part], objective,
                                                                        index[part]).input_grad)
        done[part] = True
        progress.report((number + 1) / len(parts), lambda: _running(grads, done, weight, x, base))
    attribution = (grads.reshape(steps, *x.shape) * weight).sum(dim=0) * (x - base)
    if not with_delta:
        return attribution, None
    ends = objective_values(model, torch.cat([x, base]), objective, objective.tiled(2))
    delta = attribution.flatten(1).sum(1) - (ends[: x.shape[0]] - ends[x.shape[0]:])
    return attribution, delta


def _running(grads: torch.Tensor, done: torch.Tensor, weight: torch.Tensor, x: torch.Tensor,
             base: torch.Tensor) -> torch.Tensor:
    """The integral estimated from the steps done: their weighted mean gradient times the full
    weight, times x - x'."""
    mask = done.reshape(-1, x.shape[0]).to(x.dtype).view(-1, x.shape[0], *([1] * (x.dim() - 1)))
    steps = grads.reshape(-1, *x.shape)
    used = (weight * mask).sum(dim=0)
    mean = (steps * weight * mask).sum(dim=0) / torch.where(used > 0, used, torch.ones_like(used))
    return mean * weight.sum() * (x - base)


def integrated_gradients_map(model: nn.Module, x: torch.Tensor, objective: Objective, *, steps: int = 32,
                             baseline: float | torch.Tensor = 0.0, quadrature: str = "gausslegendre",
                             internal_batch_size: int | None = 8, progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, C, H, W) integrated gradients of ``objective`` without the convergence delta."""
    return integrated_gradients(model, x, objective, baseline=baseline, steps=steps, quadrature_method=quadrature,
                                internal_batch_size=internal_batch_size, with_delta=False, progress=progress)[0]
