"""Regularized activation maximization of many units at once: one image per unit, one batch.

The loop follows the original toolbox's `gradient_optimizer` step by step (clip, forward,
track the best, gradient, lr policy, step except on the last iteration, then decay, blur and
the percentile projections), extended with cnn-vis's p-norm/TV gradients and RMSProp and
lucent's parameterizations, transforms and Adam. Row b of the batch is unit units[b]; the
objective is summed over rows and every operation is per row, so a unit's image does not
depend on which other units share its batch (tests/core/test_optimize.py checks this).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.hooks import forward_until
from deepvis_app.core.unitvis import regularizers as reg
from deepvis_app.core.unitvis.objectives import unit_objective
from deepvis_app.core.unitvis.optimize_config import OptimizeConfig
from deepvis_app.core.unitvis.params import ImageParam, InputSpace, PixelParam, make_param
from deepvis_app.core.unitvis.transforms import transform_set


@dataclass
class OptimizeResult:
    """Per unit (rows in `units` order): the kept image in caffe space and objective values."""

    units: list[int]
    z: torch.Tensor  # N x C x H x W, best or last per config.keep
    best_values: np.ndarray
    last_values: np.ndarray

    def images(self, space: InputSpace, render: str = "clip") -> list[np.ndarray]:
        return [space.to_uint8(self.z[i], render) for i in range(len(self.units))]


@dataclass
class _Tracker:
    best_values: torch.Tensor
    best_z: torch.Tensor

    def update(self, values: torch.Tensor, z: torch.Tensor) -> None:
        better = values > self.best_values
        self.best_values = torch.where(better, values, self.best_values)
        self.best_z = torch.where(better.view(-1, 1, 1, 1), z, self.best_z)


def optimize_units(model: nn.Module, space: InputSpace, layer: str, units: Sequence[int], config: OptimizeConfig,
                   input_size: tuple[int, int], batch_size: int = 64, device: torch.device | str = "cpu",
                   progress: Callable[[int], None] | None = None,
                   on_batch: Callable[[OptimizeResult], None] | None = None) -> OptimizeResult:
    """Optimize an image for each unit, `batch_size` units per batch; `progress(n)` after each step,
    `on_batch(result)` with each finished batch (to save it before the next one starts)."""
    if not units:
        raise ValueError("no units to optimize")
    parts = []
    for first in range(0, len(units), batch_size):
        parts.append(_optimize_batch(model, space, layer, list(units[first:first + batch_size]), config, input_size,
                                     device, progress))
        if on_batch is not None:
            on_batch(parts[-1])
    return OptimizeResult(list(units), torch.cat([p.z for p in parts]),
                          np.concatenate([p.best_values for p in parts]),
                          np.concatenate([p.last_values for p in parts]))


def _optimize_batch(model: nn.Module, space: InputSpace, layer: str, units: list[int], config: OptimizeConfig,
                    input_size: tuple[int, int], device: torch.device | str,
                    progress: Callable[[int], None] | None) -> OptimizeResult:
    height, width = config.size or input_size
    size = (height, width)
    init_gen = torch.Generator().manual_seed(config.seed)
    transform_gen = torch.Generator().manual_seed(config.seed + 1)
    param = make_param(config.param, space, len(units), size, config.decorrelate, init_gen, device, config.init_sd)
    unit_index = torch.tensor(units, device=device)
    stepper = _Stepper(param, config)
    tracker: _Tracker | None = None
    values = torch.zeros(len(units))
    for step in range(config.steps):
        if isinstance(param, PixelParam):
            with torch.no_grad():
                param.pixels.copy_(space.clamp(param.pixels))
        z = param.z()
        values, grad = _objective_and_grad(model, space, layer, unit_index, z.detach(), config, size,
                                           transform_gen)
        if tracker is None:
            tracker = _Tracker(values.clone(), z.detach().clone())
        else:
            tracker.update(values, z.detach())
        if step < config.steps - 1:
            stepper.step(z, grad, values, step)
        if progress is not None:
            progress(1)
    if tracker is None:
        raise ValueError(f"steps must be at least 1, got {config.steps}")
    kept = tracker.best_z if config.keep == "best" else param.z().detach()
    return OptimizeResult(units, kept.cpu(), tracker.best_values.cpu().numpy(), values.cpu().numpy())


def _objective_and_grad(model: nn.Module, space: InputSpace, layer: str, units: torch.Tensor, z: torch.Tensor,
                        config: OptimizeConfig, size: tuple[int, int], gen: torch.Generator
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-image objective, its gradient with respect to z) through the transforms."""
    z = z.requires_grad_(True)
    images = transform_set(config.transforms)(z, space.gray(), gen)
    if images.shape[-2:] != size:
        images = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
    activation = forward_until(model, space.to_net(images), [layer])[layer]
    values = unit_objective(config.objective, activation, units)
    (grad,) = torch.autograd.grad(values.sum(), z)
    return values.detach(), grad


def _grad_of(tensor: torch.Tensor) -> torch.Tensor:
    if tensor.grad is None:
        raise RuntimeError("the objective does not depend on a parameter tensor (no gradient reached it)")
    return tensor.grad


class _Stepper:
    """One update of the parameter tensors from the objective gradient in z, then projections."""

    def __init__(self, param: ImageParam, config: OptimizeConfig):
        self.param, self.config = param, config
        self.tv_reg = config.tv_reg
        self.caches: list[torch.Tensor | None] = [None] * len(param.tensors)
        self.adam = torch.optim.Adam(param.tensors, lr=config.lr) if config.optimizer == "adam" else None
        if config.optimizer not in ("sgd", "rmsprop", "adam"):
            raise ValueError(f"unknown optimizer '{config.optimizer}' (sgd, rmsprop, adam)")

    def step(self, z: torch.Tensor, grad: torch.Tensor, values: torch.Tensor, step: int) -> None:
        config = self.config
        descent = -grad + self._penalty_grad(z.detach())
        for tensor in self.param.tensors:
            tensor.grad = None
        z.backward(descent)
        with torch.no_grad():
            if config.optimizer == "sgd":
                lr = reg.learning_rate(config.lr_policy, config.lr, grad, values, config.max_lr,
                                       config.desired_prog, config.early_prog, config.late_prog_mult)
                for tensor in self.param.tensors:
                    tensor -= lr.view(-1, *([1] * (tensor.dim() - 1))) * _grad_of(tensor)
            elif config.optimizer == "rmsprop":
                for index, tensor in enumerate(self.param.tensors):
                    update, self.caches[index] = reg.rmsprop_step(_grad_of(tensor), self.caches[index],
                                                                  config.decay_rate)
                    tensor += config.lr * update
            elif self.adam is not None:
                self.adam.step()
            if isinstance(self.param, PixelParam):
                self.param.pixels.copy_(project(self.param.pixels, grad, step, config))
        if (step + 1) % config.tv_reg_step_iter == 0:
            self.tv_reg += config.tv_reg_step

    def _penalty_grad(self, z: torch.Tensor) -> torch.Tensor:
        config, total = self.config, torch.zeros_like(z)
        if config.p_reg:
            total += config.p_reg * reg.p_norm(z, config.alpha, config.p_scale)[1]
        if self.tv_reg:
            total += self.tv_reg * reg.tv_norm(z / config.tv_reg_scale, config.beta)[1] / config.tv_reg_scale
        return total


def project(x: torch.Tensor, grad: torch.Tensor, step: int, config: OptimizeConfig) -> torch.Tensor:
    """The original's post-step regularizers, in its order: decay, blur, then the percentile zeroings."""
    x = reg.l2_decay(x, config.decay)
    if config.blur_every and config.blur_radius > 0 and step % config.blur_every == 0:
        x = reg.gaussian_blur(x, config.blur_radius)
    x = reg.zero_small_values(x, config.small_val_percentile)
    x = reg.zero_small_norm(x, config.small_norm_percentile)
    x = reg.zero_small_benefit(x, grad, config.px_benefit_percentile)
    return reg.zero_small_abs_benefit(x, grad, config.px_abs_benefit_percentile)


def default_render(config: OptimizeConfig) -> str:
    """norm01c (the original's best_X.jpg) for raw pixels, clip for sigmoid parameterizations."""
    if config.render != "auto":
        return config.render
    return "norm01c" if config.param == "pixel" and not config.decorrelate else "clip"

