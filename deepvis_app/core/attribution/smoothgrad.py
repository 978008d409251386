"""SmoothGrad: the mean back-projection over noisy copies of the input (Smilkov et al. 2017).

Noise is Gaussian with standard deviation ``noise_level * (x.max() - x.min())`` per image (the
paper's and zennit's convention), or an absolute ``stdev``. Noise is drawn as captum's
``NoiseTunnel`` draws it (one standard-normal tensor of shape (B * samples, C, H, W), copies of an
image adjacent, scaled by the deviation), so with the same seed and dtype the two agree.
The per-sample signal is any backprop method (default the plain gradient, no abs).
"""

from __future__ import annotations

import torch
from torch import nn

from deepvis_app.core.attribution.objective import Objective, chunks, objective_gradient


def noise_stdevs(x: torch.Tensor, noise_level: float, stdev: float | None) -> torch.Tensor:
    """(B,) standard deviation of the noise for each image."""
    if stdev is not None:
        return torch.full((x.shape[0],), float(stdev), dtype=x.dtype, device=x.device)
    flat = x.detach().flatten(1)
    return noise_level * (flat.max(dim=1).values - flat.min(dim=1).values)


def smoothgrad(model: nn.Module, x: torch.Tensor, objective: Objective, samples: int = 16,
               noise_level: float = 0.15, stdev: float | None = None, base_method: str = "gradient",
               batch_size: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, C, H, W) mean over ``samples`` noisy copies of ``base_method``'s signal for ``objective``."""
    if samples < 1:
        raise ValueError(f"smoothgrad needs at least one sample, got {samples}")
    sigma = noise_stdevs(x, noise_level, stdev).repeat_interleave(samples)
    noise = torch.randn((x.shape[0] * samples, *x.shape[1:]), dtype=x.dtype, device=x.device,
                        generator=generator)
    noisy = x.detach().repeat_interleave(samples, dim=0) + noise * sigma.view(-1, *([1] * (x.dim() - 1)))
    index = objective.repeat(samples)
    grads = torch.empty_like(noisy)
    for part in chunks(noisy.shape[0], batch_size):
        grads[part] = objective_gradient(model, noisy[part], objective, index[part], base_method).input_grad
    return grads.reshape(x.shape[0], samples, *x.shape[1:]).mean(dim=1)
