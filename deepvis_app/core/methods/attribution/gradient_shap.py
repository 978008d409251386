"""GradientSHAP: expected gradients between the input and baselines drawn from a distribution
(Lundberg & Lee 2017, arXiv:1705.07874; Erion et al. 2021, "expected gradients"; captum's ``GradientShap``).

For each image x and each of S samples s: a baseline r_s drawn uniformly from the given baseline
images, Gaussian noise n_s (standard deviation ``noise_level * (max x - min x)`` or ``stdev``;
captum's ``stdevs``, default 0), a point alpha_s ~ U(0, 1) on the segment, and

    attr = mean_s (x + n_s - r_s) * grad f(r_s + alpha_s (x + n_s - r_s))

(written alpha * (x + n) + (1 - alpha) * r, as captum does), an estimate of integrated gradients
averaged over the baselines. The draws are made the way captum makes them, so that with the same
seeds the two agree: baseline rows by ``RandomState.choice``, then alphas by
``RandomState.uniform`` (numpy's legacy global state when ``seed`` is None, as captum; else
``RandomState(seed)``), the noise as one standard-normal tensor (B * S, C, H, W) from torch's
generator (the global one, or one seeded with ``seed``), copies of an image adjacent. Rows go
through the network ``batch_size`` at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from deepvis_app.core.base.progress import NO_PROGRESS, Progress
from deepvis_app.core.methods.attribution.objective import Objective, chunks, objective_gradient
from deepvis_app.core.methods.attribution.smoothgrad import noise_stdevs
from deepvis_app.settings.options import option


@dataclass(frozen=True)
class GradientShapOptions:
    """Options of `gradient_shap`."""

    baselines: float | torch.Tensor = option(0.0, "value of the baseline image (the API also takes (N, C, H, W) "
                                                  "baseline images to draw from)")
    samples: int = option(16, "baseline draws per image", minimum=1)
    noise_level: float = option(0.0, "noise standard deviation, as a fraction of the input's value range")
    stdev: float | None = option(None, "absolute noise standard deviation (replaces noise_level)")
    batch_size: int | None = option(8, "samples per forward pass (None: all at once)", flag="batch")
    seed: int | None = option(None, "seed of the draws (None: numpy's and torch's global generators)",
                              flag="noise_seed")


def _baseline_images(baselines: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    refs = torch.as_tensor(baselines, dtype=x.dtype, device=x.device)
    if refs.dim() <= 1 and refs.numel() == 1:
        return refs.reshape(1, *([1] * (x.dim() - 1))).expand(1, *x.shape[1:])
    if refs.dim() == x.dim() - 1:
        refs = refs[None]
    if tuple(refs.shape[1:]) != tuple(x.shape[1:]):
        raise ValueError(f"baselines of shape {tuple(refs.shape)} do not fit inputs of shape {tuple(x.shape)}")
    return refs


def gradient_shap(model: nn.Module, x: torch.Tensor, objective: Objective, *, baselines: float | torch.Tensor = 0.0,
                  samples: int = 16, noise_level: float = 0.0, stdev: float | None = None,
                  batch_size: int | None = 8, seed: int | None = None,
                  progress: Progress = NO_PROGRESS) -> torch.Tensor:
    """(B, C, H, W) GradientSHAP of ``objective`` (see the module docstring)."""
    if samples < 1:
        raise ValueError(f"gradient SHAP needs at least one sample, got {samples}")
    x = x.detach()
    refs = _baseline_images(baselines, x)
    rows = x.shape[0] * samples
    sigma = noise_stdevs(x, noise_level, stdev).repeat_interleave(samples).view(-1, *([1] * (x.dim() - 1)))
    pick, noise, alphas = progress.remember("draws", lambda: _draws(x, refs.shape[0], samples, seed))
    noise = noise * sigma
    index = objective.repeat(samples)
    attributions = torch.zeros(rows, *x.shape[1:], dtype=x.dtype, device=x.device)
    done = torch.zeros(rows, dtype=torch.bool, device=x.device)

    def run(part: slice) -> torch.Tensor:
        noisy = x[torch.arange(rows, device=x.device)[part] // samples] + noise[part]
        ref = refs[pick[part]]
        alpha = alphas[part].view(-1, *([1] * (x.dim() - 1)))
        point = alpha * noisy + (1.0 - alpha) * ref
        return (noisy - ref) * objective_gradient(model, point, objective, index[part]).input_grad

    parts = chunks(rows, batch_size)
    for number, part in enumerate(parts):
        attributions[part] = progress.step(number, lambda part=part: run(part))
        done[part] = True
        progress.report((number + 1) / len(parts), lambda: _running_mean(attributions, done, x.shape[0], samples))
    return attributions.reshape(x.shape[0], samples, *x.shape[1:]).mean(dim=1)


def _draws(x: torch.Tensor, references: int, samples: int,
           seed: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(baseline row of each sample, standard-normal noise, alphas), drawn in captum's order."""
    rows = x.shape[0] * samples
    rng = np.random if seed is None else np.random.RandomState(seed)
    generator = None if seed is None else torch.Generator(x.device).manual_seed(seed)
    pick = torch.as_tensor(rng.choice(references, rows), device=x.device)
    noise = torch.randn((rows, *x.shape[1:]), dtype=x.dtype, device=x.device, generator=generator)
    alphas = torch.as_tensor(rng.uniform(0.0, 1.0, rows), dtype=x.dtype, device=x.device)
    return pick, noise, alphas


def _running_mean(values: torch.Tensor, done: torch.Tensor, batch: int, samples: int) -> torch.Tensor:
    per_image = values.reshape(batch, samples, *values.shape[1:])
    count = done.reshape(batch, samples).sum(dim=1).clamp(min=1).to(values.dtype)
    return per_image.sum(dim=1) / count.view(-1, *([1] * (values.dim() - 1)))
