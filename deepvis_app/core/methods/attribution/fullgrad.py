"""FullGrad saliency (Srinivas & Fleuret, NeurIPS 2019, arXiv:1905.00780), as pytorch-grad-cam computes it.

For a network of linear layers with biases and piecewise-linear activations (ReLU, max-pool), the
full-gradient decomposition is exact: f(x) = <df/dx, x> + sum over biases b of <df/db, b>.
The saliency map keeps the spatial parts of it:

    map = sum_c psi(|x * df/dx|_c) + sum over layers l, channels k of psi(|b_lk * g_lk|)

where g_lk is the gradient of the objective at layer l's output, channel k (the gradient for that
bias at each position), and psi min-max normalizes one (h, w) map and upsamples it to the input
(bilinear); psi divides by (max + 1e-7), so maps of tiny magnitude count less. The layers are every
``nn.Conv2d`` with a bias and every affine ``nn.BatchNorm2d``, whose bias in eval mode is the
effective one, beta - mu * gamma / sqrt(var + eps) (the official implementation's
``tensor_extractor``; pytorch-grad-cam's ``get_bias_data``), so a convolution followed by batch norm
contributes both its own bias and the folded one. Biases of other layers (the classifier's) have no
spatial map and are left out, as in both implementations.
``full_gradients`` returns the raw terms (the decomposition's completeness is tested with it).

pytorch-grad-cam normalizes per channel (as here); the official code normalizes each layer's
(C, h, w) block at once and upsamples with ``align_corners=True``. ``eigen_smooth`` is
pytorch-grad-cam's: each layer's map (and each channel of the input term), normalized, resized
to 1/8 of the input, projected on the first principal component (sign as in `cam_smoothing`; no
ReLU here), normalized and upsampled back; ``aug_smooth`` as in `cam_smoothing`. Maps are
unnormalized, except with either option (then in [0, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.methods.attribution.cam_smoothing import at_input_size, minmax, principal_projection, run_cam
from deepvis_app.core.methods.attribution.objective import Objective, objective_gradient
from deepvis_app.settings.options import option

_EPS = 1e-7  # psi's: pytorch-grad-cam's scale_cam_image


@dataclass(frozen=True)
class FullGradOptions:
    """Options of `fullgrad`."""

    eigen_smooth: bool = option(False, "first principal component of the per-layer maps instead of their sum")
    aug_smooth: bool = option(False, "mean normalized map over flipped and 0.9/1/1.1-scaled inputs (6 passes)")


def bias_layers(model: nn.Module) -> dict[str, torch.Tensor]:
    """{layer name: its (effective) bias (K,)} for every Conv2d with a bias and every affine BatchNorm2d."""
    biases = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and module.bias is not None:
            biases[name] = module.bias.detach()
        elif isinstance(module, nn.BatchNorm2d) and module.bias is not None and module.running_mean is not None \
                and module.running_var is not None:
            scale = torch.rsqrt(module.running_var + module.eps)
            if module.weight is not None:
                scale = scale * module.weight
            biases[name] = (module.bias - module.running_mean * scale).detach()
    return biases


def full_gradients(model: nn.Module, x: torch.Tensor,
                   objective: Objective) -> tuple[torch.Tensor, dict[str, tuple[torch.Tensor, torch.Tensor]]]:
    """(df/dx, {layer: (bias (K,), gradient at the layer output (B, K, h, w))}) for `bias_layers`."""
    biases = bias_layers(model)
    result = objective_gradient(model, x, objective, objective.index, grad_layers=list(biases))
    return result.input_grad, {name: (bias, result.layer_grads[name]) for name, bias in biases.items()}


def _normalized(maps: torch.Tensor) -> torch.Tensor:
    """Each channel's map min-max normalized (psi without the upsampling)."""
    batch, channels = maps.shape[:2]
    return minmax(maps.reshape(batch * channels, 1, *maps.shape[2:]), _EPS).reshape(maps.shape)


def _layer_maps(model: nn.Module, x: torch.Tensor, objective: Objective) -> list[torch.Tensor]:
    """The input term's normalized channels (B, C, H, W), then one term per bias layer, the sum
    of its normalized channels (B, 1, h, w) at the layer's resolution."""
    input_grad, layers = full_gradients(model, x, objective)
    maps = [_normalized((x * input_grad).abs())]
    for bias, grad in layers.values():
        if grad.dim() == 4:
            maps.append(_normalized((bias.to(grad.dtype)[None, :, None, None] * grad).abs()).sum(dim=1, keepdim=True))
    return maps


def _eigen(maps: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
    stack = torch.cat([at_input_size(m, size) for m in maps], dim=1)
    stack = minmax(stack.flatten(0, 1)[:, None], _EPS).reshape(stack.shape)
    small = F.interpolate(stack, size=(size[0] // 8, size[1] // 8), mode="bilinear", align_corners=False)
    return at_input_size(minmax(principal_projection(small)), size)


def fullgrad(model: nn.Module, x: torch.Tensor, objective: Objective, *, eigen_smooth: bool = False,
             aug_smooth: bool = False, progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, 1, H, W) FullGrad saliency of ``objective``."""
    def compute(inputs: torch.Tensor, _progress: Progress) -> torch.Tensor:
        size = (inputs.shape[2], inputs.shape[3])
        maps = _layer_maps(model, inputs, objective)
        if eigen_smooth:
            return _eigen(maps, size)
        total = maps[0].sum(dim=1, keepdim=True)
        for term in maps[1:]:
            total = total + (term if term.shape[2:] == size else at_input_size(term, size))
        return total
    return run_cam(compute, x, False, aug_smooth, progress)
