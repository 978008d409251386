"""Integrated gradients: (x - x') times the path integral of the gradient from a baseline x' to x.

Quadratures (nodes alpha_i in [0, 1], weights w_i), as captum's ``approximation_methods``:

- ``gausslegendre`` (default): alpha = (1 + nodes) / 2, w = weights / 2 of numpy's ``leggauss``;
- ``riemann_trapezoid``: alpha = linspace(0, 1, n), w = 1/n with both ends halved. This is captum's
  rule, kept for parity; its weights sum to (n - 1)/n, so it under-integrates by that factor;
- ``trapezoid``: the true trapezoid rule, w = 1/(n - 1) with both ends halved (sums to 1);
- ``riemann_left``, ``riemann_right``, ``riemann_middle``: w = 1/n.

All steps of all images go through the network in batches of ``internal_batch_size`` rows.
``integrated_gradients`` also returns captum's convergence delta, sum(attr) - (f(x) - f(x')).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from deepvis_app.core.attribution.objective import Objective, chunks, objective_gradient, objective_values

QUADRATURES = ("gausslegendre", "riemann_trapezoid", "trapezoid", "riemann_left", "riemann_right",
               "riemann_middle")


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
                         baseline: float | torch.Tensor = 0.0, steps: int = 32,
                         quadrature_method: str = "gausslegendre", internal_batch_size: int | None = None,
                         with_delta: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """((B, C, H, W) attribution, (B,) convergence delta or None) for ``objective``.

    The delta costs one more forward of the inputs and the baselines; ``with_delta=False`` skips it.
    """
    alphas, weights = quadrature(quadrature_method, steps)
    x = x.detach()
    base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device).expand_as(x)
    alpha = torch.as_tensor(alphas, dtype=x.dtype, device=x.device).view(-1, *([1] * x.dim()))
    path = (base[None] + alpha * (x - base)[None]).reshape(-1, *x.shape[1:])
    index = objective.tiled(steps)
    grads = torch.empty_like(path)
    for part in chunks(path.shape[0], internal_batch_size):
        grads[part] = objective_gradient(model, path[part], objective, index[part]).input_grad
    weight = torch.as_tensor(weights, dtype=x.dtype, device=x.device).view(-1, *([1] * x.dim()))
    attribution = (grads.reshape(steps, *x.shape) * weight).sum(dim=0) * (x - base)
    if not with_delta:
        return attribution, None
    ends = objective_values(model, torch.cat([x, base]), objective, objective.tiled(2))
    delta = attribution.flatten(1).sum(1) - (ends[: x.shape[0]] - ends[x.shape[0]:])
    return attribution, delta
