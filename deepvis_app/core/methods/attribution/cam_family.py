"""Gradient and eigen CAMs: HiResCAM, XGrad-CAM, LayerCAM, EigenCAM, EigenGrad-CAM.

With A the CAM layer's output (B, K, h, w) and g = d objective / dA (the true gradient), each map
is computed at the layer and, as everywhere in pytorch-grad-cam (the reference implementation these
are tested against), passed through a ReLU (option ``relu``):

- HiResCAM (Draelos & Carin 2020, arXiv:2011.08891): cam = sum_k g_k * A_k, the element-wise
  gradient times activation (Grad-CAM without averaging the gradient over space);
- XGrad-CAM (Fu et al. 2020, arXiv:2008.02312): w_k = sum_ij g_k A_k / (sum_ij A_k + 1e-7),
  cam = sum_k w_k A_k;
- LayerCAM (Jiang et al. 2021, IEEE TIP 30:5875): cam = sum_k ReLU(g_k) * A_k;
- EigenCAM (Muhammad & Yeasin 2020, arXiv:2008.00299): the projection of A on its first principal
  component (no gradient, so the objective does not matter: class-agnostic);
- EigenGrad-CAM (pytorch-grad-cam): the first principal component of g * A.

``eigen_smooth`` replaces the sum over channels by the principal projection of the weighted maps
and ``aug_smooth`` averages over augmented inputs (see `cam_smoothing`, also for the projection's
sign). Maps are unnormalized (aug_smooth: in [0, 1]); ``upsample`` resizes them to the input.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.methods.attribution.cam_smoothing import (
    CamOptions,
    cam_signal,
    combine,
    principal_projection,
    run_cam,
)
from deepvis_app.core.methods.attribution.objective import Objective

_XGRAD_EPS = 1e-7  # pytorch-grad-cam's XGradCAM eps

LayerMap = Callable[[torch.Tensor, torch.Tensor, bool], torch.Tensor]  # (activations, gradients, eigen)


def _gradient_cam(layer_map: LayerMap, model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str, *,
                  options: CamOptions, progress: Progress, gradient: bool = True) -> torch.Tensor:
    def compute(inputs: torch.Tensor, _progress: Progress) -> torch.Tensor:
        acts, grads = cam_signal(model, inputs, objective, cam_layer, gradient)
        eigen = options.eigen_smooth
        cam = layer_map(acts, torch.zeros_like(acts) if grads is None else grads, eigen)  # EigenCAM: no gradient
        return F.relu(cam) if options.relu else cam
    return run_cam(compute, x, options.upsample, options.aug_smooth, progress)


def hirescam(model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str, *, upsample: bool = True,
             relu: bool = True, eigen_smooth: bool = False, aug_smooth: bool = False,
             progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, 1, H, W) HiResCAM of ``objective`` at ``cam_layer`` ((B, 1, h, w) without upsampling)."""
    return _gradient_cam(lambda a, g, eigen: combine(g * a, eigen), model, x, objective, cam_layer,
                         options=CamOptions(upsample, relu, eigen_smooth, aug_smooth), progress=progress)


def _xgrad_map(acts: torch.Tensor, grads: torch.Tensor, eigen_smooth: bool) -> torch.Tensor:
    weights = (grads * acts / (acts.sum(dim=(2, 3), keepdim=True) + _XGRAD_EPS)).sum(dim=(2, 3), keepdim=True)
    return combine(weights * acts, eigen_smooth)


def xgradcam(model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str, *, upsample: bool = True,
             relu: bool = True, eigen_smooth: bool = False, aug_smooth: bool = False,
             progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, 1, H, W) XGrad-CAM of ``objective`` at ``cam_layer``."""
    return _gradient_cam(_xgrad_map, model, x, objective, cam_layer,
                         options=CamOptions(upsample, relu, eigen_smooth, aug_smooth), progress=progress)


def layercam(model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str, *, upsample: bool = True,
             relu: bool = True, eigen_smooth: bool = False, aug_smooth: bool = False,
             progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, 1, H, W) LayerCAM of ``objective`` at ``cam_layer``."""
    return _gradient_cam(lambda a, g, eigen: combine(F.relu(g) * a, eigen), model, x, objective, cam_layer,
                         options=CamOptions(upsample, relu, eigen_smooth, aug_smooth), progress=progress)


def eigencam(model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str, *, upsample: bool = True,
             relu: bool = True, aug_smooth: bool = False, progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, 1, H, W) EigenCAM at ``cam_layer`` (``objective`` is not used; the forward stops there)."""
    return _gradient_cam(lambda a, _g, _eigen: principal_projection(a), model, x, objective, cam_layer,
                         options=CamOptions(upsample, relu, False, aug_smooth), progress=progress, gradient=False)


def eigengradcam(model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str, *, upsample: bool = True,
                 relu: bool = True, aug_smooth: bool = False, progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, 1, H, W) EigenGrad-CAM of ``objective`` at ``cam_layer``."""
    return _gradient_cam(lambda a, g, _eigen: principal_projection(g * a), model, x, objective, cam_layer,
                         options=CamOptions(upsample, relu, False, aug_smooth), progress=progress)
