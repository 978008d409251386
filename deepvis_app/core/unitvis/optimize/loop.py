"""Regularized activation maximization of many units at once: one image per unit, one batch.

The loop follows the original toolbox's `gradient_optimizer` step by step (clip, forward,
track the best, gradient, lr policy, step except on the last iteration, then decay, blur and
the percentile projections), extended with cnn-vis's p-norm/TV gradients and RMSProp and
lucent's parameterizations, transforms and Adam. Row b of the batch is unit units[b]; the
objective is summed over rows and every operation is per row, so a unit's image does not
depend on which other units share its batch (tests/core/test_optimize.py checks this).

The original's `--push-dir` (push_dir: -1 minimizes) and `--push-spatial` (the neuron objective
at a chosen position) shape the unit objective; `diversity` > 0 gives each unit
`diversity_images` rows, started from different draws and pushed apart by lucent's diversity
term computed among that unit's rows only. `optimize_objective` runs the same loop for an
objective expression (`objective_expr`), one forward tapping every layer it names. Every run
records each row's value at every step and, on request, the images at chosen steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.methods.attribution.objective import Objective, tapped_layers
from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.unitvis.optimize import regularizers as reg
from deepvis_app.core.unitvis.optimize.config import OPTIMIZERS, OptimizeConfig
from deepvis_app.core.unitvis.optimize.objectives import ObjectiveError, diversity, unit_at, unit_objective
from deepvis_app.core.unitvis.optimize.params import ImageParam, InputSpace, PixelParam, make_param
from deepvis_app.core.unitvis.optimize.transforms import transform_set

ObjectiveFn = Callable[[dict[str, torch.Tensor]], torch.Tensor]  # {layer: activation} -> values (N,)


@dataclass
class OptimizeResult:
    """Rows of `z` in `units` order (with `copies` > 1: unit-major, `copies` rows per unit; for an
    objective expression `units` is empty and the rows are the batch): the kept image in caffe space,
    the objective values, the value of every row at every step (`history`, steps x rows) and the images
    at the requested snapshot steps ({k: rows x C x H x W}, the image the k-th forward pass saw)."""

    units: list[int]
    z: torch.Tensor  # rows x C x H x W, best or last per config.keep
    best_values: np.ndarray
    last_values: np.ndarray
    history: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)
    copies: int = 1
    # the original's "majority" result: each row's image at the first step where its unit was the
    # top unit of the layer (`majority_steps` -1 and a zero image where that never happened)
    majority: torch.Tensor | None = None
    majority_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    def images(self, space: InputSpace, render: str = "clip") -> list[np.ndarray]:
        return [space.to_uint8(self.z[i], render) for i in range(len(self.z))]

    def majority_images(self, space: InputSpace, render: str = "clip") -> list[np.ndarray | None]:
        """Each row's majority image, None where its unit never became the layer's top unit."""
        if self.majority is None:
            return [None] * len(self.z)
        return [space.to_uint8(self.majority[i], render) if self.majority_steps[i] >= 0 else None
                for i in range(len(self.z))]

    def snapshot_images(self, space: InputSpace, render: str = "clip") -> dict[int, list[np.ndarray]]:
        return {step: [space.to_uint8(z[i], render) for i in range(len(z))] for step, z in self.snapshots.items()}


@dataclass
class _Tracker:
    """The best image of each row so far; rows whose values are coupled (a diversity term) are judged
    together, `group` consecutive rows at a time, by the sum of their values."""

    best_values: torch.Tensor
    best_z: torch.Tensor
    group: int = 1

    def update(self, values: torch.Tensor, z: torch.Tensor) -> None:
        new = values.view(-1, self.group).sum(1, keepdim=True)
        old = self.best_values.view(-1, self.group).sum(1, keepdim=True)
        better = (new > old).expand(-1, self.group).reshape(-1)
        self.best_values = torch.where(better, values, self.best_values)
        self.best_z = torch.where(better.view(-1, 1, 1, 1), z, self.best_z)


def optimize_units(model: nn.Module, space: InputSpace, layer: str, units: Sequence[int], config: OptimizeConfig,
                   input_size: tuple[int, int], *, batch_size: int = 64, device: torch.device | str = "cpu",
                   progress: Callable[[int], None] | None = None,
                   on_batch: Callable[[OptimizeResult], None] | None = None,
                   snapshots: Sequence[int] = ()) -> OptimizeResult:
    """Optimize an image for each unit (`config.diversity_images` images per unit when
    `config.diversity` > 0), `batch_size` units per batch; `progress(n)` after each step,
    `on_batch(result)` with each finished batch (to save it before the next one starts)."""
    if not units:
        raise ValueError("no units to optimize")
    if config.push_spatial is not None and config.objective != "neuron":
        raise ValueError(f"push_spatial picks the position of the neuron objective, not of '{config.objective}'")
    copies = config.diversity_images if config.diversity else 1
    parts = []
    for first in range(0, len(units), batch_size):
        batch = list(units[first:first + batch_size])
        index = torch.tensor(batch, device=device).repeat_interleave(copies)
        part = _optimize_batch(model, space, [layer], _unit_values(layer, index, config, copies), len(index), config,
                               input_size=input_size, device=device, progress=progress, distinct=copies,
                               snapshots=snapshots, group=copies if config.diversity else 1)
        parts.append(OptimizeResult(batch, part.z, part.best_values, part.last_values, part.history,
                                    part.snapshots, copies, part.majority, part.majority_steps))
        if on_batch is not None:
            on_batch(parts[-1])
    snaps = {step: torch.cat([p.snapshots[step] for p in parts]) for step in parts[0].snapshots}
    return OptimizeResult(list(units), torch.cat([p.z for p in parts]),
                          np.concatenate([p.best_values for p in parts]),
                          np.concatenate([p.last_values for p in parts]),
                          np.concatenate([p.history for p in parts], axis=1), snaps, copies,
                          torch.cat([p.majority for p in parts if p.majority is not None]),
                          np.concatenate([p.majority_steps for p in parts]))


def _unit_values(layer: str, index: torch.Tensor, config: OptimizeConfig, copies: int) -> ObjectiveFn:
    """push_dir times the unit objective of row b's unit (at push_spatial when given), plus the
    diversity term among each unit's copies; each call also appends to ``values.tops`` which rows'
    units were the layer's top unit (for the majority result)."""
    tops: list[torch.Tensor] = []
    unit = unit_objective(config.objective, layer, index) if config.push_spatial is None \
        else unit_at(layer, index, *config.push_spatial)
    objective = config.push_dir * unit
    if config.diversity:
        objective = objective + config.diversity * diversity(layer, copies)

    def values(acts: dict[str, torch.Tensor]) -> torch.Tensor:
        result = objective(acts)
        tops.append(_is_top_unit(acts[layer], index, config))
        return result
    values.tops = tops  # type: ignore[attr-defined]
    return values


def _is_top_unit(activation: torch.Tensor, index: torch.Tensor, config: OptimizeConfig) -> torch.Tensor:
    """(N,) bool: row b's unit is the layer's top unit (the original's "majority" test: its unit, at the
    pushed position, holds the maximum of the whole layer; for the channel objective: the largest
    channel mean; for a 1-D layer: the largest unit)."""
    acts = activation.detach()
    if acts.dim() == 2:
        return acts.argmax(1) == index
    if config.objective == "channel" and config.push_spatial is None:
        return acts.flatten(2).mean(2).argmax(1) == index
    height, width = acts.shape[-2:]
    row, col = config.push_spatial if config.push_spatial is not None else (height // 2, width // 2)
    return acts.flatten(1).argmax(1) == (index * height + row) * width + col


def optimize_objective(model: nn.Module, space: InputSpace, objective: Objective, batch: int,
                       config: OptimizeConfig, input_size: tuple[int, int], *, device: torch.device | str = "cpu",
                       progress: Callable[[int], None] | None = None,
                       snapshots: Sequence[int] = ()) -> OptimizeResult:
    """A batch of `batch` images (each from its own start) maximizing push_dir times an objective
    expression (`objective_expr.parse_objective`); `units` of the result is empty."""
    if batch < objective.min_batch:
        raise ObjectiveError(f"{objective.description or 'this objective'} needs a batch of at least "
                             f"{objective.min_batch} images, got {batch}")
    part = _optimize_batch(model, space, tapped_layers(objective), config.push_dir * objective, batch, config,
                           input_size=input_size, device=device, progress=progress, distinct=batch,
                           snapshots=snapshots, group=batch if objective.coupled else 1)
    return OptimizeResult([], part.z, part.best_values, part.last_values, part.history, part.snapshots, batch)


def _optimize_batch(model: nn.Module, space: InputSpace, layers: list[str], objective: ObjectiveFn, rows: int,
                    config: OptimizeConfig, *, input_size: tuple[int, int], device: torch.device | str,
                    progress: Callable[[int], None] | None, distinct: int, snapshots: Sequence[int],
                    group: int) -> OptimizeResult:
    """`rows` images, row r starting from start draw r % `distinct`; rows coupled `group` at a time."""
    height, width = config.size or input_size
    size = (height, width)
    wanted = sorted(set(snapshots))
    if wanted and not 1 <= wanted[0] <= wanted[-1] <= config.steps:
        raise ValueError(f"snapshots must be steps between 1 and {config.steps}, got {', '.join(map(str, wanted))}")
    init_gen = torch.Generator().manual_seed(config.seed)
    transform_gen = torch.Generator().manual_seed(config.seed + 1)
    param = make_param(config.param, space, rows, size, config.decorrelate, init_gen, device, config.init_sd,
                       distinct=distinct, start_at=config.start_at)
    stepper = _Stepper(param, config)
    tracker: _Tracker | None = None
    values = torch.zeros(rows)
    history: list[np.ndarray] = []
    taken: dict[int, torch.Tensor] = {}
    majority_steps = np.full(rows, -1)
    majority = torch.zeros(rows, space.channels, *size)
    for step in range(config.steps):
        if isinstance(param, PixelParam):
            with torch.no_grad():
                param.pixels.copy_(space.clamp(param.pixels))
        z = param.z()
        values, grad = _objective_and_grad(model, space, layers, objective, z.detach(), config, size,
                                           transform_gen)
        history.append(values.cpu().numpy())
        tops = getattr(objective, "tops", None)
        if tops:
            first = tops.pop().cpu() & torch.from_numpy(majority_steps < 0)
            majority[first] = z.detach().cpu()[first]
            majority_steps[first.numpy()] = step
        if step + 1 in wanted:
            taken[step + 1] = z.detach().cpu().clone()
        if tracker is None:
            tracker = _Tracker(values.clone(), z.detach().clone(), group)
        else:
            every = config.early_stop_every
            if every and step % every == 0 and converged(z.detach(), tracker.best_z):
                for later in (w for w in wanted if w > step + 1):   # the image stays as it is now
                    taken[later] = z.detach().cpu().clone()
                history.extend([history[-1]] * (config.steps - len(history)))   # batches stay aligned
                break
            tracker.update(values, z.detach())
        if step < config.steps - 1:
            stepper.step(z, grad, values, step)
        if progress is not None:
            progress(1)
    if tracker is None:
        raise ValueError(f"steps must be at least 1, got {config.steps}")
    kept = tracker.best_z if config.keep == "best" else param.z().detach()
    return OptimizeResult([], kept.cpu(), tracker.best_values.cpu().numpy(), values.cpu().numpy(),
                          np.stack(history), taken, majority=majority, majority_steps=majority_steps)


def _objective_and_grad(model: nn.Module, space: InputSpace, layers: list[str], objective: ObjectiveFn,
                        z: torch.Tensor, config: OptimizeConfig, size: tuple[int, int], gen: torch.Generator
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-image objective, its gradient with respect to z) through the transforms."""
    z = z.requires_grad_(True)
    images = transform_set(config.transforms)(z, space.gray(), gen)
    if images.shape[-2:] != size:
        images = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
    values = objective(forward_until(model, space.to_net(images), layers))
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
        if config.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer '{config.optimizer}' ({', '.join(OPTIMIZERS)})")
        self.torch_optimizer: torch.optim.Optimizer | None = None
        if config.optimizer == "adam":
            self.torch_optimizer = torch.optim.Adam(param.tensors, lr=config.lr)
        elif config.optimizer == "nesterov":   # = lasagne's nesterov_momentum (see `nesterov_reference` in tests)
            self.torch_optimizer = torch.optim.SGD(param.tensors, lr=config.lr, momentum=config.momentum,
                                                   nesterov=True)

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
            elif self.torch_optimizer is not None:
                self.torch_optimizer.step()
            if isinstance(self.param, PixelParam):
                self.param.pixels.copy_(project(self.param.pixels, grad, step, config))
                if config.max_norm:
                    self.param.pixels.copy_(norm_constraint(self.param.pixels, config.max_norm))
        if (step + 1) % config.tv_reg_step_iter == 0:
            self.tv_reg += config.tv_reg_step

    def _penalty_grad(self, z: torch.Tensor) -> torch.Tensor:
        config, total = self.config, torch.zeros_like(z)
        if config.p_reg:
            total += config.p_reg * reg.p_norm(z, config.alpha, config.p_scale)[1]
        if self.tv_reg:
            total += self.tv_reg * reg.tv_norm(z / config.tv_reg_scale, config.beta)[1] / config.tv_reg_scale
        return total


def norm_constraint(x: torch.Tensor, max_norm: float) -> torch.Tensor:
    """Each row scaled down to an L2 norm of at most ``max_norm`` (lasagne's norm_constraint)."""
    norms = x.flatten(1).norm(dim=1).view(-1, *([1] * (x.dim() - 1)))
    return x * (norms.clamp(max=max_norm) / (1e-7 + norms))


def converged(z: torch.Tensor, best_z: torch.Tensor, tolerance: float = 1e-6) -> bool:
    """cnn-vizlib's early stop: every image, divided by its sum, within ``tolerance`` of its best image."""
    def unit_sum(t: torch.Tensor) -> torch.Tensor:
        return t.flatten(1) / t.flatten(1).sum(1, keepdim=True)
    return bool(((unit_sum(z) - unit_sum(best_z)).abs().max(1).values < tolerance).all())


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

