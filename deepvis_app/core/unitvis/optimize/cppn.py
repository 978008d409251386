"""lucent's CPPN image parameterization, with one learnable network per image of a batch.

A CPPN (compositional pattern-producing network; Mordvintsev et al. 2018, "Differentiable Image
Parameterizations") draws an image as a function of the pixel coordinates: a 2-channel grid
(x down the rows, y along the columns, both in [-sqrt(3), sqrt(3)]) goes through `layers` 1x1
convolutions, each but the last followed by lucent's composite activation
cat(atan(h) / 0.67, atan(h)^2 / 0.6), the last one giving the image channels. The optimizer
changes the network's weights, not pixels, which gives smooth, organic patterns.

This follows lucent's `optvis/param/cppn.py` (weights N(0, sqrt(1 / in_channels)), biases 0,
the last layer's weights 0, so every start is the grey image sigmoid(0) = 0.5 and the first
steps only move the last layer; optional instance norm after each convolution), but every row of
the batch has its own weights (tensors rows x out x in, applied with einsum), so a row's image
depends on its own network only. `params.make_param` adds the sigmoid and the map to caffe space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

COORD_RANGE = math.sqrt(3.0)  # lucent's r: x and y cover [-r, r]


def coordinate_grid(height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """1 x 2 x H x W: channel 0 is x (varies down the rows), channel 1 is y (along the columns)."""
    x = torch.linspace(-COORD_RANGE, COORD_RANGE, height, device=device).view(-1, 1).expand(height, width)
    y = torch.linspace(-COORD_RANGE, COORD_RANGE, width, device=device).view(1, -1).expand(height, width)
    return torch.stack([x, y])[None]


def composite_activation(h: torch.Tensor) -> torch.Tensor:
    """lucent's CompositeActivation: twice the channels, cat(atan(h) / 0.67, atan(h)^2 / 0.6)."""
    a = torch.atan(h)
    return torch.cat([a / 0.67, a * a / 0.6], 1)


def instance_norm(h: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each image's channels to zero mean, unit variance over the pixels (torch InstanceNorm2d, no affine)."""
    mean = h.mean(dim=(2, 3), keepdim=True)
    var = h.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (h - mean) / torch.sqrt(var + eps)


@dataclass
class CPPN:
    """Per-row weights (rows x out x in) and biases (rows x out) of each layer; calling it gives the
    images before the sigmoid, rows x channels x H x W."""

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    grid: torch.Tensor  # 1 x 2 x H x W
    normalize: bool = False

    @property
    def tensors(self) -> list[torch.Tensor]:
        return [t for pair in zip(self.weights, self.biases, strict=True) for t in pair]

    def __call__(self) -> torch.Tensor:
        rows = self.weights[0].shape[0]
        h = self.grid.expand(rows, -1, -1, -1)
        last = len(self.weights) - 1
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.einsum("boi,bihw->bohw", weight, h) + bias[:, :, None, None]
            if self.normalize:
                h = instance_norm(h)
            if index < last:
                h = composite_activation(h)
        return h


def layer_shapes(channels: int, layers: int, hidden: int) -> list[tuple[int, int]]:
    """(out, in) of each 1x1 convolution: 2 coordinates in, 2 * hidden after each composite
    activation, `channels` out of the last."""
    if layers < 1 or hidden < 1:
        raise ValueError(f"a CPPN needs at least 1 layer and 1 hidden channel, got {layers} and {hidden}")
    return [(channels if i == layers - 1 else hidden, 2 if i == 0 else 2 * hidden) for i in range(layers)]


def draw_cppn(rows: int, channels: int, size: tuple[int, int], generator: torch.Generator,
              device: torch.device | str = "cpu", *, distinct: int = 1, layers: int = 8, hidden: int = 24,
              normalize: bool = False) -> CPPN:
    """`distinct` networks drawn from `generator` one after another (draw d takes the same numbers
    whatever `distinct` is), row r a learnable copy of draw r % `distinct`. The last layer is zero
    (lucent), so it draws nothing from the generator."""
    if rows % distinct:
        raise ValueError(f"a batch of {rows} is not a whole number of {distinct} distinct starts")
    shapes = layer_shapes(channels, layers, hidden)
    draws = [[torch.randn(shape, generator=generator) * math.sqrt(1.0 / shape[1]) for shape in shapes[:-1]]
             for _ in range(distinct)]
    weights = []
    for index, shape in enumerate(shapes):
        if index < len(shapes) - 1:
            stacked = torch.stack([draw[index] for draw in draws])
        else:
            stacked = torch.zeros((distinct, *shape))
        weights.append(stacked.to(device).repeat(rows // distinct, 1, 1).requires_grad_(True))
    biases = [torch.zeros(rows, out, device=device, requires_grad=True) for out, _ in shapes]
    return CPPN(weights, biases, coordinate_grid(*size, device=device), normalize)
