"""Occlusion: how much the objective drops when a window of the input is replaced by a baseline.

Window placement is captum's (``Occlusion`` with ``sliding_window_shapes=(C, k, k)``,
``strides=(C, s, s)``): starts at 0, k, ... per axis, ``ceil((D - k) / s) + 1`` positions, the last
window possibly cut by the border; every window covers all channels. A pixel's attribution is the
mean, over the windows covering it, of ``f(x) - f(x with the window := baseline)``. Many occluded
copies go through the network in one forward (``perturbations_per_eval``). The coverage average is
computed in closed form (window membership matrices R, C: attr = Rᵀ D C / Rᵀ 1 C) instead of
accumulating one mask per window.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from deepvis_app.core.attribution.objective import Objective, chunks, objective_values


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (int(value[0]), int(value[1])) if isinstance(value, (tuple, list)) else (int(value), int(value))


def window_membership(size: int, window: int, stride: int) -> torch.Tensor:
    """(positions, size) 0/1 matrix: which input indices each window position covers along one axis."""
    if window < 1 or stride < 1:
        raise ValueError(f"occlusion window ({window}) and stride ({stride}) must be at least 1")
    window = min(window, size)
    count = math.ceil((size - window) / stride) + 1
    starts = torch.arange(count)[:, None] * stride
    index = torch.arange(size)[None, :]
    return ((index >= starts) & (index < starts + window)).double()


def occlusion(model: nn.Module, x: torch.Tensor, objective: Objective, window: int | tuple[int, int] = 16,
              stride: int | tuple[int, int] = 8, baseline: float | torch.Tensor = 0.0,
              perturbations_per_eval: int = 32) -> torch.Tensor:
    """(B, C, H, W) occlusion attribution of ``objective`` (see the module docstring)."""
    batch, _, height, width = x.shape
    (win_h, win_w), (step_h, step_w) = _pair(window), _pair(stride)
    rows = window_membership(height, win_h, step_h).to(x.device, x.dtype)
    cols = window_membership(width, win_w, step_w).to(x.device, x.dtype)
    masks = (rows[:, None, :, None] * cols[None, :, None, :]).reshape(-1, 1, 1, height, width)
    base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
    initial = objective_values(model, x, objective, objective.index)
    drops = torch.empty(masks.shape[0], batch, dtype=x.dtype, device=x.device)
    for part in chunks(masks.shape[0], perturbations_per_eval):
        mask = masks[part]
        occluded = (x[None] * (1 - mask) + base * mask).reshape(-1, *x.shape[1:])
        values = objective_values(model, occluded, objective, objective.tiled(mask.shape[0]))
        drops[part] = initial[None] - values.reshape(mask.shape[0], batch)
    drops = drops.reshape(rows.shape[0], cols.shape[0], batch).permute(2, 0, 1)
    total = rows.T @ drops @ cols
    coverage = rows.T @ torch.ones_like(drops[0]) @ cols
    return (total / coverage)[:, None].expand(-1, x.shape[1], -1, -1).contiguous()
