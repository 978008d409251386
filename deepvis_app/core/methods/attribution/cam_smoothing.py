"""What every CAM method of the family shares: the options, the layer signal, eigen and augmentation
smoothing, normalization and upsampling.

- ``principal_projection`` (EigenCAM's map, and the ``eigen_smooth`` option): for each image, its
  (K, h, w) stack of maps read as an (h*w, K) matrix M, centred per channel, projected on the first
  right singular vector v1: p = (M - mean) v1, reshaped (h, w) (Muhammad & Yeasin 2020,
  arXiv:2008.00299; pytorch-grad-cam's ``get_2d_projection``). A singular vector's sign is
  arbitrary (LAPACK picks one), so we flip p when |min p| > |max p|: the sign correction of
  Seg-Eigen-CAM (Chung & Ying 2025, Eq. 13; pytorch-grad-cam's
  ``get_2d_projection_with_sign_correction``), so that the map does not vanish under the ReLU by a
  coin toss. pytorch-grad-cam's EigenCAM keeps LAPACK's sign.
- ``minmax``: (m - min m) / max(m - min m) per image. pytorch-grad-cam's ``scale_cam_image`` divides
  by (max + 1e-7), which matters for maps of small magnitude, but it applies it twice in a row
  (per layer, then over layers), and the second pass undoes the first's eps to about 1e-7.
- ``augmentation_smoothed`` (the ``aug_smooth`` option): pytorch-grad-cam's test-time augmentation,
  the mean over 6 augmentations (horizontal flip or not) x (input times 0.9, 1, 1.1) of the min-max
  normalized map of the augmented input, flipped back (ttach's ``HorizontalFlip``, ``Multiply``).
  Its result is therefore in [0, 1], where the plain maps are unnormalized.
- ``at_input_size``: bilinear upsampling, ``align_corners=False`` (as cv2.resize, which
  pytorch-grad-cam uses, and captum's ``LayerAttribution.interpolate``).
- transformer layers: the CAM layer's activation and gradient are read from its tap, where a token
  output already is its (B, C, h, w) patch grid (`core.tokens`, as pytorch-grad-cam's
  ``reshape_transform``), so the gradient CAMs work on ViT and Swin blocks unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.methods.attribution.objective import Objective, objective_gradient
from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.settings.options import option

AUGMENTATIONS = tuple((flip, factor) for flip in (False, True) for factor in (0.9, 1.0, 1.1))


@dataclass(frozen=True)
class CamOptions:
    """Options shared by the CAM family."""

    upsample: bool = option(True, "resize the map to the input size (bilinear)")
    relu: bool = option(True, "keep only the positive part of the map")
    eigen_smooth: bool = option(False, "first principal component of the weighted maps instead of their sum")
    aug_smooth: bool = option(False, "mean normalized map over flipped and 0.9/1/1.1-scaled inputs (6 passes)")


@dataclass(frozen=True)
class EigenCamOptions:
    """Options of `eigencam` and `eigengradcam` (the map is a principal component already)."""

    upsample: bool = option(True, "resize the map to the input size (bilinear)")
    relu: bool = option(True, "keep only the positive part of the map")
    aug_smooth: bool = option(False, "mean normalized map over flipped and 0.9/1/1.1-scaled inputs (6 passes)")


def cam_signal(model: nn.Module, x: torch.Tensor, objective: Objective, cam_layer: str,
               gradient: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(activations A, gradient of the objective dA or None) at ``cam_layer``'s (B, K, h, w) output.
    Without the gradient the forward stops at ``cam_layer``."""
    if gradient:
        result = objective_gradient(model, x, objective, objective.index, grad_layers=[cam_layer], input_grad=False)
        acts, grads = result.activations[cam_layer], result.layer_grads[cam_layer]
    else:
        with torch.no_grad():
            acts, grads = forward_until(model, x, [cam_layer])[cam_layer].detach(), None
    if acts.dim() != 4:
        raise ValueError(f"CAM methods need a layer with a spatial (B, K, h, w) output; "
                         f"'{cam_layer}' gives {tuple(acts.shape)}")
    return acts, grads


def principal_projection(maps: torch.Tensor) -> torch.Tensor:
    """(B, 1, h, w) projection of each image's (K, h, w) maps on their first principal component."""
    batch, _, height, width = maps.shape
    matrix = maps.flatten(2).transpose(1, 2)
    matrix = torch.where(torch.isnan(matrix), torch.zeros_like(matrix), matrix)
    matrix = matrix - matrix.mean(dim=1, keepdim=True)
    vh = torch.linalg.svd(matrix, full_matrices=False).Vh
    projection = (matrix @ vh[:, 0, :, None]).reshape(batch, 1, height, width)
    flat = projection.flatten(1)
    flip = flat.amin(dim=1).abs() > flat.amax(dim=1).abs()
    return torch.where(flip.view(-1, 1, 1, 1), -projection, projection)


def combine(weighted: torch.Tensor, eigen_smooth: bool) -> torch.Tensor:
    """(B, 1, h, w): the sum over channels of the weighted maps, or their principal projection."""
    return principal_projection(weighted) if eigen_smooth else weighted.sum(dim=1, keepdim=True)


def minmax(maps: torch.Tensor, eps: float | None = None) -> torch.Tensor:
    """Each image's map shifted to min 0 and divided by its new max (a constant map: all 0), or by
    (its max + ``eps``) as pytorch-grad-cam's ``scale_cam_image`` (eps 1e-7) does."""
    shape = (-1,) + (1,) * (maps.dim() - 1)
    shifted = maps - maps.flatten(1).amin(dim=1).view(shape)
    top = shifted.flatten(1).amax(dim=1).view(shape)
    if eps is not None:
        return shifted / (top + eps)
    return shifted / torch.where(top > 0, top, torch.ones_like(top))


def at_input_size(cam: torch.Tensor, size: tuple[int, ...] | torch.Size) -> torch.Tensor:
    return F.interpolate(cam, size=tuple(size), mode="bilinear", align_corners=False)


def child_progress(progress: Progress, key: object) -> Progress:
    """A `Progress` for a nested job (same cancel token, its own memo, no partial maps)."""
    if progress is NO_PROGRESS:
        return NO_PROGRESS
    return Progress(progress.token, None, progress.memo.setdefault(("child", key), {}))


def augmentation_smoothed(compute: Callable[[torch.Tensor, Progress], torch.Tensor], x: torch.Tensor,
                          progress: Progress = NO_PROGRESS,
                          finish: Callable[[torch.Tensor], torch.Tensor] = lambda cam: cam) -> torch.Tensor:
    """Mean over `AUGMENTATIONS` of ``minmax(compute(augmented x))``, each flipped back.

    ``compute(x, progress)`` returns maps (B, 1, h, w) whose width axis follows the input's; the
    partial maps offered to ``progress`` (the mean over the augmentations done) go through ``finish``.
    """
    total = torch.zeros((), device=x.device)
    for number, (flip, factor) in enumerate(AUGMENTATIONS):
        def work(flip: bool = flip, factor: float = factor, number: int = number) -> torch.Tensor:
            augmented = x * factor if factor != 1.0 else x
            cam = minmax(compute(augmented.flip(-1) if flip else augmented, child_progress(progress, number)))
            return cam.flip(-1) if flip else cam
        cam = progress.step(("augmentation", number), work)
        total = total + cam
        count = number + 1
        progress.report(count / len(AUGMENTATIONS), lambda total=total, count=count: finish(total / count))
    return total / len(AUGMENTATIONS)


def run_cam(compute: Callable[[torch.Tensor, Progress], torch.Tensor], x: torch.Tensor, upsample: bool,
            aug_smooth: bool, progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """``compute(x, progress)``'s layer map, augmentation-smoothed if asked, upsampled if asked."""
    size = x.shape[2:]

    def finish(cam: torch.Tensor) -> torch.Tensor:
        return at_input_size(cam, size) if upsample else cam
    if aug_smooth:
        return finish(augmentation_smoothed(compute, x, progress, finish))
    progress.check()   # one pass: cancellable before it starts
    job = progress
    if progress is not NO_PROGRESS:   # partial maps shaped as the final one
        job = Progress(progress.token, lambda fraction, make: progress.report(fraction, lambda: finish(make())),
                       progress.memo)
    return finish(compute(x, job))
