"""Deep dream as cnn-vis does it: layer or neuron amplification, multiscale, tiled, RMSProp.

Every cnn-vis option is a `DreamConfig` field (`dream/config.py`) with cnn-vis's name and default. The image lives
in caffe space (0..255 minus mean, see `params.py`), as in cnn-vis. Per step and per
checkerboard phase (see `dream/tiles.py`) the network's gradient of every window is computed
(batched), then each window gets its own RMSProp update with the p-norm, auxiliary p-norm and
TV gradients of its current pixels, optionally divided per pixel by its window count.

Units (why cnn-vis's numbers work here unchanged): see `region_gradients`. In short, cnn-vis adds
the gradient with respect to the network's *input blob* to penalties computed on 0..255 pixels,
and so do we, times `cnn_grad_scale`; the images are returned and saved as cnn-vis saves them
(`rendered`: 1.2 times the contrast, clipped), and resized between sizes through the same map.

Deviations from cnn-vis, all deliberate: noise is blurred per channel in float (cnn-vis blurs
the uint8 image across channels too), and resizing between sizes is bicubic in float (cnn-vis
goes through uint8). The caller receives a `DreamStep` after every step and decides what to
print, save, show or plot (core never prints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deepvis_app.core.methods.attribution.objective import Objective
from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.unitvis.dream.config import DreamConfig
from deepvis_app.core.unitvis.dream.tiles import Region, pixel_counts, size_sequence, tile_regions
from deepvis_app.core.unitvis.optimize import regularizers as reg
from deepvis_app.core.unitvis.optimize.objectives import channel_sum, layer_amplification
from deepvis_app.core.unitvis.optimize.params import InputSpace

# cnn-vis's img_to_uint saves (and resizes) 1.2 * (pixel - mean) + mean: every image it writes has 1.2 times
# the contrast of the optimized one, and each resize between sizes multiplies the dream's contrast by 1.2.
OUTPUT_GAIN = 1.2


@dataclass
class DreamStep:
    """State after one step, for the caller's output_iter handling."""

    size_index: int
    num_sizes: int
    step: int  # 1-based within this size
    num_steps: int
    image: torch.Tensor  # 1 x C x H x W caffe space, as saved (`rendered`; do not modify)
    stats: dict[str, float]


def noise_image(shape: tuple[int, int, int], scale: float, blur: float, generator: torch.Generator) -> torch.Tensor:
    """cnn-vis's start: N(0, scale) noise, blurred per channel by `blur` (1 x C x H x W)."""
    noise = torch.randn((1, *shape), generator=generator) * scale
    return reg.gaussian_blur(noise, blur) if blur > 0 else noise


def dream(model: nn.Module, space: InputSpace, config: DreamConfig, net_size: tuple[int, int],
          initial_image: np.ndarray | None = None, device: torch.device | str = "cpu",
          on_step: Callable[[DreamStep], None] | None = None, mean: float | None = None) -> torch.Tensor:
    """Run every size of the schedule; returns the final 1 x C x H x W image in caffe space.

    ``mean``: cnn-vis's ``--mean_image`` (its overall mean, a grey level in 0..255): the colour the
    noise is centred on and the p-norms pull towards (instead of the model's mean colour). The
    network still sees the image through the model's own preprocessing.
    """
    base = net_size if initial_image is None else tuple(initial_image.shape[:2])
    sizes = size_sequence(base, config.initial_size, config.final_size, config.num_sizes, config.resize_type)
    shift = torch.zeros(1, space.channels, 1, 1, device=device)
    if mean is not None:
        shift = (float(mean) - space.mean255.to(device)).view(1, -1, 1, 1)
    if initial_image is None:
        gen = torch.Generator().manual_seed(config.seed)
        image = noise_image((space.channels, *sizes[0]), config.initialization_scale,
                            config.initialization_blur, gen).to(device)
        anchor_full = None
    else:
        anchor_full = space.from_image(initial_image, device) - shift
        image = _resize(anchor_full, sizes[0])
    for size_index, size in enumerate(sizes):
        if size_index:
            image = _resize(space.clamp(rendered(space, image, shift)) - shift, size)  # cnn-vis: via uint8
        anchor = None if anchor_full is None else _resize(anchor_full, size)
        image = _dream_one_size(model, space, config, net_size, image, anchor=anchor, shift=shift,
                                sizes=(size_index, len(sizes)), on_step=on_step)
    return rendered(space, image, shift)


def rendered(space: InputSpace, image: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """cnn-vis's `img_to_uint` in caffe space, before its clipping: contrast times OUTPUT_GAIN about the
    dream's mean colour (`image` is relative to that mean, as in `_dream_one_size`). Saving clips it to
    0..255, or min-maxes it with --rescale_image, as cnn-vis does."""
    return OUTPUT_GAIN * image + shift


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(image, size=size, mode="bicubic", align_corners=False)


def _dream_one_size(model: nn.Module, space: InputSpace, config: DreamConfig, net_size: tuple[int, int],
                    image: torch.Tensor, *, anchor: torch.Tensor | None, shift: torch.Tensor, sizes: tuple[int, int],
                    on_step: Callable[[DreamStep], None] | None) -> torch.Tensor:
    """cnn-vis's loop at one size; `image` is relative to the dream's mean (caffe space minus `shift`)."""
    size = (image.shape[-2], image.shape[-1])
    phases = tile_regions(size, net_size)
    pixel_lr = 1.0 / torch.from_numpy(pixel_counts(size, phases[0] + phases[1])).to(image)
    image = image.clone()
    caches: dict[Region, torch.Tensor] = {}
    tv_reg, learning_rate = config.tv_reg, config.learning_rate
    for step in range(config.num_steps):
        stats: dict[str, float] = {}
        for regions in phases:
            if regions:
                grads = region_gradients(model, space, config, image + shift, regions)
                for region, grad in zip(regions, grads, strict=True):
                    stats = _update_region(config, image, anchor, region, grad, caches, (tv_reg, learning_rate),
                                           pixel_lr)
        if (step + 1) % config.tv_reg_step_iter == 0:
            tv_reg += config.tv_reg_step
        if (step + 1) % config.learning_rate_decay_iter == 0:
            learning_rate *= config.learning_rate_decay_fraction
        if on_step is not None:
            on_step(DreamStep(sizes[0], sizes[1], step + 1, config.num_steps, rendered(space, image, shift), stats))
    return image


def _crop(image: torch.Tensor, region: Region) -> torch.Tensor:
    y0, y1, x0, x1 = region
    return image[:, :, y0:y1, x0:x1]


def dream_objective(config: DreamConfig) -> Objective:
    """cnn-vis's image_type as an objective: the whole layer's amplification, or one channel's sum."""
    if config.image_type == "amplify_layer":
        return layer_amplification(config.target_layer, config.amplify)
    if config.image_type == "amplify_neuron":
        return channel_sum(config.target_layer, config.target_neuron)
    raise ValueError(f"unknown image_type '{config.image_type}' (amplify_layer, amplify_neuron)")


def region_gradients(model: nn.Module, space: InputSpace, config: DreamConfig, image: torch.Tensor,
                     regions: list[Region]) -> list[torch.Tensor]:
    """The descent direction of the objective for each window (C x h x w each), batch_size at a time.

    As in cnn-vis, this is the gradient with respect to the network's input blob (Caffe's
    ``net.blobs['data'].diff``), not with respect to the 0..255 pixels the penalties see. For a Caffe
    model the two are the same thing: its input blob *is* the pixel minus the mean. Our models take
    x = z / s with s = 255 * std / scale per channel (`InputSpace.to_net`; s is about 58 for the
    ImageNet statistics), so the gradient with respect to z is 1/s of this one, which would weigh
    cnn-vis's regularizer strengths s times more against the network than in cnn-vis.

    Times ``cnn_grad_scale`` (default 8). Why: RMSProp divides each pixel's summed gradient by its
    running RMS, so a step is about ``learning_rate`` levels and only the ratio of the terms counts;
    what moves the image is the part of the network's gradient that keeps its sign from step to step.
    On EfficientNet-Lite0 most of the input gradient is high-frequency and changes after a step of
    one level (cosine 0.15 between the gradients before and after, at `_blocks.5`), so with the plain
    gradient the image random-walks and cnn-vis's p-norm and TV win. Measured against cnn-vis's own
    example outputs (mean |output - input| in grey levels, its examples/*.sh values, GoogLeNet layers
    mapped to Lite0 blocks of the same map size): example10 (lake.jpg, 4 sizes of 50 steps, at half
    its size) 22 for cnn-vis, 3.4 here before (plain gradient, no 1.2 contrast of `rendered`), 17 now
    with both; example13 (bliss.jpg, 3 sizes of 100 steps) 44 for cnn-vis, 51 now. The defaults on
    `sample:chelsea` moved the picture by 6 levels, now about 11 after 100 steps. The regularizer
    flags keep cnn-vis's numbers and defaults.
    """
    objective = dream_objective(config)
    grads: list[torch.Tensor] = []
    for start in range(0, len(regions), max(1, config.batch_size)):
        batch = space.to_net(torch.cat([_crop(image, r) for r in regions[start:start + config.batch_size]]))
        batch.requires_grad_(True)
        values = objective(forward_until(model, batch, [config.target_layer]))
        (grad,) = torch.autograd.grad(values.sum(), batch)
        grads.extend(-config.cnn_grad_scale * grad)
    return grads


def _update_region(config: DreamConfig, image: torch.Tensor, anchor: torch.Tensor | None, region: Region,
                   cnn_grad: torch.Tensor, caches: dict[Region, torch.Tensor], rates: tuple[float, float],
                   pixel_lr: torch.Tensor) -> dict[str, float]:
    """cnn-vis's per-window update, in place on `image`; returns its print statistics.

    `rates`: the current (tv_reg, learning_rate), both changed on schedule by the caller."""
    tv_reg, learning_rate = rates
    pixels = _crop(image, region)
    target = pixels if anchor is None else pixels - _crop(anchor, region)
    p_loss, p_grad = reg.p_norm(target, config.alpha, config.p_scale)
    _, p_grad_aux = reg.p_norm(pixels, config.alpha_aux, config.p_scale_aux)
    tv_loss, tv_grad = reg.tv_norm(pixels / config.tv_reg_scale, config.beta, operator=config.tv_grad_operator)
    tv_grad = tv_grad / config.tv_reg_scale
    total = cnn_grad[None] + config.p_reg * p_grad + config.p_reg_aux * p_grad_aux + tv_reg * tv_grad
    update, caches[region] = reg.rmsprop_step(total, caches.get(region), config.decay_rate)
    update = update * learning_rate
    if config.use_pixel_learning_rates:
        update = update * _crop(pixel_lr[None, None], region)
    pixels += update
    return {"p_loss": float(p_loss.sum()), "tv_loss": float(tv_loss.sum()),
            "mean_p_grad": float((config.p_reg * p_grad).abs().mean()),
            "mean_tv_grad": float((tv_reg * tv_grad).abs().mean()), "mean_cnn_grad": float(cnn_grad.abs().mean()),
            "step_mean": float(update.abs().mean()), "step_median": float(update.abs().median()),
            "learning_rate": learning_rate, "image_mean": float(image.mean()), "image_std": float(image.std())}
