"""SmoothGrad: the mean back-projection over noisy copies of the input (Smilkov et al. 2017).

Noise is Gaussian with standard deviation ``noise_level * (x.max() - x.min())`` per image (the
paper's and zennit's convention), or an absolute ``stdev``. Noise is drawn as captum's
``NoiseTunnel`` draws it (one standard-normal tensor of shape (B * samples, C, H, W), copies of an
image adjacent, scaled by the deviation), so with the same seed and dtype the two agree. ``seed``
(flag ``--noise-seed``) draws it from a ``torch.Generator`` of its own: the same seed, the same map.
The per-sample signal is any backprop method (default the plain gradient, no abs). Samples go
through the network ``batch_size`` at a time; with a `Progress`, the running mean over the
samples done so far is offered after each batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.methods.attribution.objective import Objective, chunks, objective_gradient
from deepvis_app.core.methods.backprop import BACKPROP_METHODS
from deepvis_app.settings.options import option


@dataclass(frozen=True)
class SmoothGradOptions:
    """Options of `smoothgrad` (defaults are the app's settings)."""

    samples: int = option(16, "noisy copies averaged", minimum=1)
    noise_level: float = option(0.15, "noise standard deviation, as a fraction of the input's value range")
    stdev: float | None = option(None, "absolute noise standard deviation (replaces noise_level)")
    base_method: str = option("gradient", "backprop method run on each noisy copy", choices=BACKPROP_METHODS)
    batch_size: int | None = option(4, "noisy copies per forward pass (None: all at once)", flag="batch")
    seed: int | None = option(None, "noise seed (None: torch's global generator)", flag="noise_seed")


def noise_stdevs(x: torch.Tensor, noise_level: float, stdev: float | None) -> torch.Tensor:
    """(B,) standard deviation of the noise for each image."""
    if stdev is not None:
        return torch.full((x.shape[0],), float(stdev), dtype=x.dtype, device=x.device)
    flat = x.detach().flatten(1)
    return noise_level * (flat.max(dim=1).values - flat.min(dim=1).values)


def smoothgrad(model: nn.Module, x: torch.Tensor, objective: Objective, *, samples: int = 16,
               noise_level: float = 0.15, stdev: float | None = None, base_method: str = "gradient",
               batch_size: int | None = 4, seed: int | None = None,
               progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, C, H, W) mean over ``samples`` noisy copies of ``base_method``'s signal for ``objective``."""
    if samples < 1:
        raise ValueError(f"smoothgrad needs at least one sample, got {samples}")
    sigma = noise_stdevs(x, noise_level, stdev).repeat_interleave(samples)
    generator = None if seed is None else torch.Generator(x.device).manual_seed(seed)
    noise = progress.remember("noise", lambda: torch.randn((x.shape[0] * samples, *x.shape[1:]), dtype=x.dtype,
                                                           device=x.device, generator=generator))
    noisy = x.detach().repeat_interleave(samples, dim=0) + noise * sigma.view(-1, *([1] * (x.dim() - 1)))
    index = objective.repeat(samples)
    grads = torch.zeros_like(noisy)
    done = torch.zeros(noisy.shape[0], dtype=torch.bool)
    parts = chunks(noisy.shape[0], batch_size)
    for number, part in enumerate(parts):
        grads[part] = progress.step(number, lambda part=part: objective_gradient(
            model, noisy[part], objective, index[part], method=base_method).input_grad)
        done[part] = True
        progress.report((number + 1) / len(parts), lambda: _running_mean(grads, done, x.shape[0], samples))
    return grads.reshape(x.shape[0], samples, *x.shape[1:]).mean(dim=1)


def _running_mean(grads: torch.Tensor, done: torch.Tensor, batch: int, samples: int) -> torch.Tensor:
    """Per image, the mean over its samples done so far (0 where none is)."""
    per_image = grads.reshape(batch, samples, *grads.shape[1:])
    count = done.reshape(batch, samples).sum(dim=1).clamp(min=1).to(grads.dtype)
    return per_image.sum(dim=1) / count.view(-1, *([1] * (grads.dim() - 1)))
