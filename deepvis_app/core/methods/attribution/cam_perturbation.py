"""Gradient-free CAMs that weigh each channel of the CAM layer by a forward pass: Score-CAM and Ablation-CAM.

With A the CAM layer's output (B, K, h, w) and f the objective:

- Score-CAM (Wang et al. 2020, arXiv:1910.01279), as pytorch-grad-cam computes it: each channel
  A_k, upsampled to the input (bilinear, ``align_corners=True`` as ``nn.UpsamplingBilinear2d``) and
  min-max normalized (eps 1e-8), masks the input; s_k = f(x * mask_k); w = softmax_k(s);
  cam = sum_k w_k A_k. (The paper's official code instead weighs by the softmax *probability* of
  the class on each masked input, without a softmax over channels.) B*K masked inputs, run
  ``batch_size`` at a time.
- Ablation-CAM (Desai & Ramaswamy, WACV 2020): s_k = f with channel k of A replaced by the ablation
  value; w_k = (f(x) - s_k) / f(x); cam = sum_k w_k A_k. The ablation value is 0 when A's minimum
  (per image) is 0 (a layer after a ReLU), else min(A) - 1e7, pytorch-grad-cam's choice for layers
  with negative values. (pytorch-grad-cam recomputes the minimum over its ablated batch after
  each row, so its rows 2, 3, ... of a batch get min - 2e7, min - 3e7, ...: with ``batch_size=1``
  it agrees with this definition.)

Ablation-CAM runs the layers up to the CAM layer once per batch on one copy of the image and hands
the rest of the network the batch of ablated copies (an eval-mode network treats batch rows
independently, and tensors from before the CAM layer broadcast over the rows). When that does not
go through (a layer joins the two along another axis, or reshapes with a batch size read earlier),
every row runs the whole network, as pytorch-grad-cam does.

Both take ``relu``, ``eigen_smooth``, ``aug_smooth`` and ``upsample`` like the rest of the family.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.methods.attribution.cam_smoothing import CamOptions, combine, run_cam
from deepvis_app.core.methods.attribution.objective import Objective, chunks, objective_values, tapped_layers
from deepvis_app.core.nn import tokens
from deepvis_app.core.nn.hooks import find_module, forward_hooks, tapped, tapping
from deepvis_app.settings.options import option

_SCORE_EPS = 1e-8         # pytorch-grad-cam's ScoreCAM normalization eps
_ABLATION_OFFSET = 1e7    # pytorch-grad-cam's AblationLayer value below the minimum


@dataclass(frozen=True)
class PerturbationCamOptions(CamOptions):
    """Options of `scorecam` and `ablationcam`."""

    batch_size: int = option(32, "masked or ablated copies per forward pass", minimum=1, flag="batch")


def _layer_and_objective(model: nn.Module, x: torch.Tensor, objective: Objective,
                         cam_layer: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(CAM layer activations, objective values) of one forward without gradients."""
    with tapping(model, [cam_layer]) as store:
        values = objective_values(model, x, objective, objective.index)
    acts = tapped(store, cam_layer).detach()
    if acts.dim() != 4:
        raise ValueError(f"CAM methods need a layer with a spatial (B, K, h, w) output; "
                         f"'{cam_layer}' gives {tuple(acts.shape)}")
    return acts, values


def _finish(weights: torch.Tensor, acts: torch.Tensor, relu: bool, eigen_smooth: bool) -> torch.Tensor:
    cam = combine(weights[:, :, None, None] * acts, eigen_smooth)
    return F.relu(cam) if relu else cam


def scorecam(model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str, *, upsample: bool = True,
             relu: bool = True, eigen_smooth: bool = False, aug_smooth: bool = False, batch_size: int = 32,
             progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, 1, H, W) Score-CAM of ``objective`` at ``cam_layer``."""
    def compute(inputs: torch.Tensor, job: Progress) -> torch.Tensor:
        acts, _ = _layer_and_objective(model, inputs, objective, cam_layer)
        batch, channels = acts.shape[:2]
        scores = torch.zeros(batch * channels, dtype=acts.dtype, device=acts.device)
        done = torch.zeros(batch * channels, dtype=torch.bool, device=acts.device)
        index = objective.repeat(channels)
        parts = chunks(batch * channels, batch_size)

        def masked_scores(part: slice) -> torch.Tensor:
            rows = torch.arange(batch * channels, device=acts.device)[part]
            images, units = rows // channels, rows % channels
            masks = F.interpolate(acts[images, units][:, None], size=inputs.shape[2:], mode="bilinear",
                                  align_corners=True)
            low = masks.flatten(1).amin(dim=1).view(-1, 1, 1, 1)
            high = masks.flatten(1).amax(dim=1).view(-1, 1, 1, 1)
            masks = (masks - low) / (high - low + _SCORE_EPS)
            return objective_values(model, inputs[images] * masks, objective, index[part])

        def weights() -> torch.Tensor:
            known = torch.where(done, scores, torch.full_like(scores, -torch.inf)).view(batch, channels)
            return torch.nan_to_num(torch.softmax(known, dim=1), nan=0.0)
        for number, part in enumerate(parts):
            scores[part] = job.step(number, lambda part=part: masked_scores(part))
            done[part] = True
            job.report((number + 1) / len(parts), lambda: _finish(weights(), acts, relu, eigen_smooth))
        return _finish(weights(), acts, relu, eigen_smooth)
    return run_cam(compute, x, upsample, aug_smooth, progress)


class _NotShared(Exception):
    """The network did not take a batch of CAM-layer outputs over a one-image prefix."""


@dataclass(frozen=True)
class _Ablation:
    """What one image's ablated rows are scored with: the network, the CAM layer (name and module) and
    the objective with its index (one per row)."""

    model: nn.Module
    cam_layer: str
    module: nn.Module
    objective: Objective
    index: torch.Tensor


def _ablated_scores(site: _Ablation, image: torch.Tensor, acts: torch.Tensor, units: torch.Tensor, value: float, *,
                    shared: bool) -> torch.Tensor:
    """Objective values with channel ``units[i]`` of ``acts`` (1, K, h, w) set to ``value`` in row i
    (on a transformer layer the network goes on with the tokens of the ablated grid, `core.tokens`)."""
    model, cam_layer, objective = site.model, site.cam_layer, site.objective
    rows = len(units)
    ablated = acts.expand(rows, -1, -1, -1).clone()
    ablated[torch.arange(rows, device=acts.device), units] = value
    probe = next((find_module(model, name) for name in tapped_layers(objective)), model)

    def swap_in(_module: nn.Module, _inputs: object, out: object) -> torch.Tensor:
        if not isinstance(out, torch.Tensor):
            return ablated
        grid = tokens.layout(model, cam_layer, out.shape[1:])
        return ablated if grid is None else grid.to_tokens(ablated, out.expand(rows, *out.shape[1:]))

    seen: list[int] = []
    hooks = [(site.module, swap_in),
             (probe, lambda _m, _i, out: seen.append(out.shape[0]) if isinstance(out, torch.Tensor) else None)]
    inputs = image if shared else image.expand(rows, -1, -1, -1)
    try:
        with forward_hooks(hooks):
            values = objective_values(model, inputs, objective, site.index)
    except RuntimeError as exc:
        if shared:
            raise _NotShared() from exc
        raise
    if not seen or seen[-1] != rows:
        if shared:
            raise _NotShared()
        raise RuntimeError(f"ablation: the network returned {seen[-1] if seen else 'no'} rows for {rows}")
    return values


def ablationcam(model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str, *, upsample: bool = True,
                relu: bool = True, eigen_smooth: bool = False, aug_smooth: bool = False, batch_size: int = 32,
                progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, 1, H, W) Ablation-CAM of ``objective`` at ``cam_layer``."""
    module = find_module(model, cam_layer)

    def compute(inputs: torch.Tensor, job: Progress) -> torch.Tensor:
        acts, initial = _layer_and_objective(model, inputs, objective, cam_layer)
        batch, channels = acts.shape[:2]
        scores = initial[:, None].repeat(1, channels)
        parts = [(image, part) for image in range(batch) for part in chunks(channels, batch_size)]
        shared = [True]

        def run(image: int, part: slice) -> torch.Tensor:
            mine = acts[image:image + 1]
            low = float(mine.min())
            value = 0.0 if low == 0.0 else low - _ABLATION_OFFSET
            units = torch.arange(channels, device=acts.device)[part]
            one = replace(objective, index=objective.index[image:image + 1])
            site = _Ablation(model, cam_layer, module, one, one.index.expand(len(units)))
            if shared[0]:
                try:
                    return _ablated_scores(site, inputs[image:image + 1], mine, units, value, shared=True)
                except _NotShared:
                    shared[0] = False
            return _ablated_scores(site, inputs[image:image + 1], mine, units, value, shared=False)

        def weights() -> torch.Tensor:
            return (initial[:, None] - scores) / initial[:, None]
        for number, (image, part) in enumerate(parts):
            scores[image, part] = job.step(number, lambda image=image, part=part: run(image, part))
            job.report((number + 1) / len(parts), lambda: _finish(weights(), acts, relu, eigen_smooth))
        return _finish(weights(), acts, relu, eigen_smooth)
    return run_cam(compute, x, upsample, aug_smooth, progress)
