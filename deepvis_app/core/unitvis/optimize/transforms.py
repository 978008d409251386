"""lucent's random image transforms ("transformation robustness"), in plain torch ops.

Closure factories composed in order, like lucent's `transform.py`, but without kornia (whose
API broke lucent, issue #12) and without a module-level device. Each transform takes
(images N x C x H x W, fill N|1 x C x 1 x 1, generator) and draws its randomness from the
generator, once per call: every image of the batch gets the same shift/scale/angle, so a unit
optimized in a batch sees the same transforms as it would alone. `transform_set` builds a list
written in the `transforms` option's language (`transform_spec`: "none", "standard" or e.g.
"pad(16), jitter(8), scale(0.9, 1, 1.1), rotate(-5, 0, 5)").
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from deepvis_app.core.unitvis.optimize.transform_spec import NAMED_SETS, STANDARD, TransformStep, parse_transforms

Transform = Callable[[torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


def _choice(options: Sequence, generator: torch.Generator):
    return options[int(torch.randint(len(options), (1,), generator=generator))]


def pad(width: int) -> Transform:
    """Pad every side by `width` pixels of the fill colour (lucent: constant 0.5)."""
    def inner(images: torch.Tensor, fill: torch.Tensor, _gen: torch.Generator) -> torch.Tensor:
        return F.pad(images - fill, (width, width, width, width)) + fill
    return inner


def jitter(d: int) -> Transform:
    """Shift by a random integer 0..d-1 in x and y, filling the uncovered border."""
    def inner(images: torch.Tensor, fill: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        dx, dy = (int(v) for v in torch.randint(d, (2,), generator=gen))
        return translate(images, fill, dx, dy)
    return inner


def translate(images: torch.Tensor, fill: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Content moved right by dx and down by dy, same size, fill where nothing moved in."""
    height, width = images.shape[-2:]
    dx, dy = min(dx, width), min(dy, height)  # a shift past the border leaves only fill
    out = torch.zeros_like(images) + fill
    out[..., dy:, dx:] = images[..., :height - dy, :width - dx]
    return out


def random_scale(scales: Sequence[float]) -> Transform:
    """Bilinear resize by a randomly chosen factor (the size changes, as in lucent)."""
    def inner(images: torch.Tensor, _fill: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        factor = float(_choice(scales, gen))
        height, width = images.shape[-2:]
        size = (max(1, round(height * factor)), max(1, round(width * factor)))
        return F.interpolate(images, size=size, mode="bilinear", align_corners=False)
    return inner


def rotate(images: torch.Tensor, fill: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate about the centre by `degrees` (counter-clockwise), bilinear, fill outside."""
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=images.dtype, device=images.device)
    grid = F.affine_grid(theta.expand(images.shape[0], 2, 3), list(images.shape), align_corners=False)
    return F.grid_sample(images - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill


def random_rotate(angles: Sequence[float]) -> Transform:
    def inner(images: torch.Tensor, fill: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return rotate(images, fill, float(_choice(angles, gen)))
    return inner


def compose(transforms: Sequence[Transform]) -> Transform:
    def inner(images: torch.Tensor, fill: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        for transform in transforms:
            images = transform(images, fill, gen)
        return images
    return inner


def standard_transforms() -> list[Transform]:
    """lucent's `standard_transforms`: pad 12, jitter 8, scale +-10 %, rotate +-10 deg, jitter 4."""
    return build_transforms(STANDARD)


_BUILDERS: dict[str, Callable[[tuple[float, ...]], Transform]] = {
    "pad": lambda args: pad(int(args[0])), "jitter": lambda args: jitter(int(args[0])),
    "scale": lambda args: random_scale(list(args)), "rotate": lambda args: random_rotate(list(args))}


def build_transforms(steps: Sequence[TransformStep]) -> list[Transform]:
    """The closures of parsed steps (`transform_spec.parse_transforms`), in order."""
    return [_BUILDERS[name](args) for name, args in steps]


TRANSFORM_SETS: dict[str, Callable[[], list[Transform]]] = {
    name: functools.partial(build_transforms, steps) for name, steps in NAMED_SETS.items()}


def transform_set(spec: str) -> Transform:
    """The composed transforms of a spec: "none", "standard" or a list such as "pad(16), jitter(8)";
    ValueError naming the transform and the problem for a bad spec."""
    return compose(build_transforms(parse_transforms(spec)))
