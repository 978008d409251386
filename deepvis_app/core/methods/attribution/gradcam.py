"""Grad-CAM, Grad-CAM++ and guided Grad-CAM for any layer with a spatial output.

With A the CAM layer's output (B, K, h, w) and g = d objective / dA (true gradient):

- Grad-CAM: w_k = mean_ij g; cam = ReLU(sum_k w_k A_k) (captum ``LayerGradCam`` with
  ``relu_attributions=True``);
- Grad-CAM++ (pytorch-grad-cam's formula): alpha = g^2 / (2 g^2 + sum_ij(A) g^3 + eps), alpha := 0
  where g == 0, w_k = sum_ij ReLU(g) alpha; cam = ReLU(sum_k w_k A_k);
- guided Grad-CAM: guided backprop of the objective times the Grad-CAM map upsampled to the input by
  nearest neighbour (captum ``GuidedGradCam``, ``interpolate_mode='nearest'``).

Maps are unnormalized. ``upsample=True`` resizes Grad-CAM maps to the input size (bilinear,
``align_corners=False``, as captum's ``LayerAttribution.interpolate``); False keeps layer resolution.
``eigen_smooth`` and ``aug_smooth`` are pytorch-grad-cam's, as for the rest of the family (`cam_smoothing`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.methods.attribution.cam_smoothing import CamOptions, combine, run_cam
from deepvis_app.core.methods.attribution.objective import Objective, objective_gradient
from deepvis_app.settings.options import option

_EPS = 1e-6  # pytorch-grad-cam's eps


@dataclass(frozen=True)
class GradCamOptions(CamOptions):
    """Options of `gradcam` (the CAM family's)."""


@dataclass(frozen=True)
class GradCamPlusPlusOptions:
    """Options of `gradcam_plus_plus` (its map is always ReLU'd)."""

    upsample: bool = option(True, "resize the map to the input size (bilinear)")
    eigen_smooth: bool = option(False, "first principal component of the weighted maps instead of their sum")
    aug_smooth: bool = option(False, "mean normalized map over flipped and 0.9/1/1.1-scaled inputs (6 passes)")


def _layer_signal(model: nn.Module, x: torch.Tensor, objective: Objective,
                  cam_layer: str) -> tuple[torch.Tensor, torch.Tensor]:
    result = objective_gradient(model, x, objective, objective.index, grad_layers=[cam_layer], input_grad=False)
    acts, grads = result.activations[cam_layer], result.layer_grads[cam_layer]
    if acts.dim() != 4:
        raise ValueError(f"Grad-CAM needs a layer with a spatial (B, K, h, w) output; "
                         f"'{cam_layer}' gives {tuple(acts.shape)}")
    return acts, grads


def _finish(cam: torch.Tensor, size: tuple[int, ...], upsample: bool, mode: str = "bilinear") -> torch.Tensor:
    if not upsample:
        return cam
    return F.interpolate(cam, size=size, mode=mode) if mode == "nearest" else \
        F.interpolate(cam, size=size, mode=mode, align_corners=False)


def gradcam(model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str, *, upsample: bool = True,
            relu: bool = True, eigen_smooth: bool = False, aug_smooth: bool = False,
            progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, 1, H, W) Grad-CAM of ``objective`` at ``cam_layer`` ((B, 1, h, w) without upsampling)."""
    def compute(inputs: torch.Tensor, _progress: Progress) -> torch.Tensor:
        acts, grads = _layer_signal(model, inputs, objective, cam_layer)
        cam = combine(grads.mean(dim=(2, 3), keepdim=True) * acts, eigen_smooth)
        return F.relu(cam) if relu else cam
    return run_cam(compute, x, upsample, aug_smooth, progress)


def gradcam_plus_plus(model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str,
                      *, upsample: bool = True, eigen_smooth: bool = False, aug_smooth: bool = False,
                      progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, 1, H, W) Grad-CAM++ of ``objective`` at ``cam_layer``."""
    def compute(inputs: torch.Tensor, _progress: Progress) -> torch.Tensor:
        acts, grads = _layer_signal(model, inputs, objective, cam_layer)
        grads_2 = grads.pow(2)
        denominator = 2 * grads_2 + acts.sum(dim=(2, 3), keepdim=True) * grads.pow(3) + _EPS
        alpha = torch.where(grads != 0, grads_2 / denominator, torch.zeros_like(grads))
        weights = (F.relu(grads) * alpha).sum(dim=(2, 3), keepdim=True)
        return F.relu(combine(weights * acts, eigen_smooth))
    return run_cam(compute, x, upsample, aug_smooth, progress)


def guided_gradcam(model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str) -> torch.Tensor:
    """(B, C, H, W) guided backprop times the nearest-upsampled Grad-CAM map."""
    cam = gradcam(model, x, objective, cam_layer, upsample=False)
    guided = objective_gradient(model, x, objective, objective.index, method="guided").input_grad
    return guided * _finish(cam, x.shape[2:], True, mode="nearest")
