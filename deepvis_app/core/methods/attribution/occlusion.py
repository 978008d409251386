"""Occlusion: how much the objective drops when a window of the input is replaced by a baseline.

Window placement is captum's (``Occlusion`` with ``sliding_window_shapes=(C, k, k)``,
``strides=(C, s, s)``): starts at 0, k, ... per axis, ``ceil((D - k) / s) + 1`` positions, the last
window possibly cut by the border; every window covers all channels. A pixel's attribution is the
mean, over the windows covering it, of ``f(x) - f(x with the window := baseline)``. Many occluded
copies go through the network in one forward (``perturbations_per_eval``). The coverage average is
computed in closed form (window membership matrices R, C: attr = Rᵀ D C / Rᵀ 1 C) instead of
accumulating one mask per window.

Coarse to fine (when a `Progress` wants partial maps): a coarse pass with windows of about a
third of the image (9 windows) gives a first map within a few forwards; then the configured
windows run batch by batch and each partial map averages the windows done so far, falling back to
the coarse map where none is done yet. The final map is the single pass's, bit for bit: the
coarse pass only feeds the partial maps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.base.torch_args import pair
from deepvis_app.core.methods.attribution.objective import Objective, chunks, objective_values
from deepvis_app.settings.options import option

COARSE_SPLITS = 3  # the coarse pass: windows of about 1/3 of the image per axis
OCCLUDERS = ("baseline", "mean")


def occluder_value(x: torch.Tensor, baseline: float | torch.Tensor, occluder: str) -> torch.Tensor:
    """What replaces an occluded window: ``baseline``, or each image's per-channel mean (B, C, 1, 1)."""
    if occluder not in OCCLUDERS:
        raise ValueError(f"unknown occluder '{occluder}' (choose from {', '.join(OCCLUDERS)})")
    if occluder == "mean":
        return x.mean(dim=(2, 3), keepdim=True)
    return torch.as_tensor(baseline, dtype=x.dtype, device=x.device)


@dataclass(frozen=True)
class OcclusionOptions:
    """Options of `occlusion` (defaults are the app's settings)."""

    window: int = option(16, "occlusion window side (px)")
    stride: int = option(8, "occlusion stride (px)")
    baseline: float | torch.Tensor = option(0.0, "value put into the occluded window (also integrated "
                                                 "gradients' baseline)")
    perturbations_per_eval: int = option(16, "occluded copies per forward pass (fewer: a new request "
                                              "abandons the running map sooner)", flag="batch", minimum=1)
    occluder: str = option("baseline", "what fills the window: the baseline value, or the image's per-channel "
                                       "mean (DNN-Visualizer)", choices=OCCLUDERS)


def window_membership(size: int, window: int, stride: int) -> torch.Tensor:
    """(positions, size) 0/1 matrix: which input indices each window position covers along one axis."""
    if window < 1 or stride < 1:
        raise ValueError(f"occlusion window ({window}) and stride ({stride}) must be at least 1")
    window = min(window, size)
    count = math.ceil((size - window) / stride) + 1
    starts = torch.arange(count)[:, None] * stride
    index = torch.arange(size)[None, :]
    return ((index >= starts) & (index < starts + window)).double()


class Windows:
    """One window grid over an input: membership matrices and the drop -> map formula."""

    def __init__(self, x: torch.Tensor, window: tuple[int, int], stride: tuple[int, int]):
        height, width = x.shape[2:]
        self.rows = window_membership(height, window[0], stride[0]).to(x.device, x.dtype)
        self.cols = window_membership(width, window[1], stride[1]).to(x.device, x.dtype)
        self.count = self.rows.shape[0] * self.cols.shape[0]
        self.channels = x.shape[1]

    def masks(self, part: slice) -> torch.Tensor:
        """(n, 1, 1, H, W) 0/1 masks of windows ``part`` (row-major positions)."""
        index = torch.arange(self.count)[part]
        rows = self.rows[index // self.cols.shape[0]]
        cols = self.cols[index % self.cols.shape[0]]
        return (rows[:, :, None] * cols[:, None, :])[:, None, None]

    def occluded(self, x: torch.Tensor, part: slice, base: torch.Tensor) -> tuple[torch.Tensor, int]:
        """The copies of ``x`` with windows ``part`` replaced by ``base``, window-major: (n * B, C, H, W), n."""
        mask = self.masks(part)
        return (x[None] * (1 - mask) + base * mask).reshape(-1, *x.shape[1:]), mask.shape[0]

    def attribution(self, drops: torch.Tensor, done: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W) mean drop over the windows covering each pixel (only windows ``done``,
        a (count,) bool; pixels that none covers are NaN)."""
        batch = drops.shape[1]
        grid = drops.reshape(self.rows.shape[0], self.cols.shape[0], batch).permute(2, 0, 1)
        weight = torch.ones_like(grid[0])
        if done is not None:
            weight = done.reshape(weight.shape).to(weight.dtype)
            grid = torch.where(weight.bool(), grid, torch.zeros_like(grid))
        total = self.rows.T @ grid @ self.cols
        coverage = self.rows.T @ weight @ self.cols
        if done is not None:
            total = torch.where(coverage > 0, total, torch.full_like(total, math.nan))
        return (total / coverage)[:, None].expand(-1, self.channels, -1, -1).contiguous()


def _drops(model: nn.Module, x: torch.Tensor, objective: Objective, windows: Windows, part: slice,
           base: torch.Tensor, initial: torch.Tensor) -> torch.Tensor:
    occluded, count = windows.occluded(x, part, base)
    values = objective_values(model, occluded, objective, objective.tiled(count))
    return initial[None] - values.reshape(count, x.shape[0])


def _coarse(x: torch.Tensor, fine: Windows, window: tuple[int, int]) -> Windows | None:
    sides = (max(window[0], math.ceil(x.shape[2] / COARSE_SPLITS)),
             max(window[1], math.ceil(x.shape[3] / COARSE_SPLITS)))
    coarse = Windows(x, sides, sides)
    return coarse if 4 * coarse.count < fine.count else None


def occlusion(model: nn.Module, x: torch.Tensor, objective: Objective, *, window: int | tuple[int, int] = 16,
              stride: int | tuple[int, int] = 8, baseline: float | torch.Tensor = 0.0,
              perturbations_per_eval: int = 16, occluder: str = "baseline",
              progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, C, H, W) occlusion attribution of ``objective`` (see the module docstring)."""
    window_hw, stride_hw = pair(window), pair(stride)
    fine = Windows(x, window_hw, stride_hw)
    base = occluder_value(x, baseline, occluder)
    initial = progress.remember("initial", lambda: objective_values(model, x, objective, objective.index))
    coarse = _coarse(x, fine, window_hw) if progress.reporting else None
    coarse_map = None
    if coarse is not None:
        coarse_drops = progress.remember("coarse", lambda: torch.cat(
            [_drops(model, x, objective, coarse, part, base, initial)
             for part in chunks(coarse.count, perturbations_per_eval)]))
        coarse_map = coarse.attribution(coarse_drops)
        progress.report(0.0, lambda: coarse_map)
    drops = torch.zeros(fine.count, x.shape[0], dtype=x.dtype, device=x.device)
    done = torch.zeros(fine.count, dtype=torch.bool)
    parts = chunks(fine.count, perturbations_per_eval)
    for index, part in enumerate(parts):
        drops[part] = progress.step(index, lambda part=part: _drops(model, x, objective, fine, part, base, initial))
        done[part] = True
        progress.report((index + 1) / len(parts), lambda: _partial(fine, drops, done, coarse_map))
    return fine.attribution(drops)


def _partial(fine: Windows, drops: torch.Tensor, done: torch.Tensor, coarse_map: torch.Tensor | None) -> torch.Tensor:
    partial = fine.attribution(drops, done)
    fallback = coarse_map if coarse_map is not None else torch.zeros_like(partial)
    return torch.where(torch.isnan(partial), fallback, partial)
