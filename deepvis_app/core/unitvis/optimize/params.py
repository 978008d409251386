"""How an optimized image is parameterized, and the one map from it to the network's input.

Every optimizer here works in the original toolbox's *caffe space*: pixel values 0..255 minus
the per-channel mean (`z`), in the network's channel order. The Yosinski presets (lr 100,
N(0, 10) start, clipping to [0, 255]) and cnn-vis's p-norm/TV strengths are defined in those
units, so they keep their meaning for any model. The network sees
`x = z * input_scale / (255 * std)`, exactly what `Preprocessor.to_array` gives for the image
`z + 255 * mean / input_scale` (mean/std/scale from the model's settings). The gradient with
respect to z is therefore the input gradient times `input_scale / (255 * std)`.

Parameterizations: `pixel` (z itself, as in the original and cnn-vis) and lucent's `fft`
(a scaled spectrum), `pixel --decorrelate` and `cppn` (a small network of the pixel
coordinates per image, `cppn.py`), which go through (optional) colour decorrelation and a
sigmoid to [0, 1] before mapping to z.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from deepvis_app.core.imaging.display import norm01, norm01c
from deepvis_app.core.nn.preprocess import Preprocessor
from deepvis_app.core.unitvis.optimize.config import START_AT
from deepvis_app.core.unitvis.optimize.cppn import draw_cppn
from deepvis_app.io.image_arrays import as_rgb_uint8

# lucent param/color.py: square root of the ImageNet colour covariance (RGB).
COLOR_CORRELATION_SVD_SQRT = ((0.26, 0.09, 0.02), (0.27, 0.00, -0.05), (0.27, -0.09, 0.03))


def decorrelation_matrix() -> torch.Tensor:
    """lucent's colour matrix divided by its largest column norm."""
    matrix = torch.tensor(COLOR_CORRELATION_SVD_SQRT, dtype=torch.float32)
    return matrix / torch.linalg.vector_norm(matrix, dim=0).max()


def decorrelate_colors(image: torch.Tensor) -> torch.Tensor:
    """Each pixel's RGB row vector times C^T (lucent `_linear_decorrelate_color`)."""
    matrix = decorrelation_matrix().to(image)
    return torch.einsum("nchw,dc->ndhw", image, matrix)


def rfft2d_freqs(height: int, width: int) -> np.ndarray:
    """Frequency magnitude of each entry of an rfft2 spectrum (lucent's layout, odd widths +1)."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[: width // 2 + (2 if width % 2 else 1)]
    return np.sqrt(fx * fx + fy * fy)


def fft_spectrum_shape(batch: int, channels: int, height: int, width: int) -> tuple[int, ...]:
    return (batch, channels) + rfft2d_freqs(height, width).shape + (2,)


def fft_scale(height: int, width: int, decay_power: float = 1.0) -> torch.Tensor:
    """1 / max(|f|, 1/max(H, W))^decay_power: the 1/f prior that makes FFT images smooth."""
    freqs = rfft2d_freqs(height, width)
    scale = 1.0 / np.maximum(freqs, 1.0 / max(height, width)) ** decay_power
    return torch.tensor(scale, dtype=torch.float32)[None, None, ..., None]


def fft_to_image(spectrum: torch.Tensor, scale: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """irfftn(scale * spectrum, norm='ortho') / 4 (lucent's 'magic' 4), cropped to H x W."""
    complex_spectrum = torch.view_as_complex((scale * spectrum).contiguous())
    image = torch.fft.irfftn(complex_spectrum, s=(height, width), norm="ortho")
    return image[:, :, :height, :width] / 4.0


@dataclass
class InputSpace:
    """Caffe space (z) <-> network input, for one model's preprocessing."""

    mean255: torch.Tensor  # C: 255 * mean / input_scale, i.e. the pixel value that maps to 0
    to_net_scale: torch.Tensor  # C: input_scale / (255 * std)
    bgr: bool
    preprocessor: Preprocessor

    @classmethod
    def from_preprocessor(cls, pre: Preprocessor, device: torch.device | str = "cpu") -> "InputSpace":
        mean255 = np.broadcast_to(pre.mean.reshape(-1), (pre.channels,)) * 255.0 / pre.scale
        to_net = pre.scale / (255.0 * np.broadcast_to(pre.std.reshape(-1), (pre.channels,)))
        as_tensor = lambda a: torch.tensor(np.array(a), dtype=torch.float32, device=device)  # noqa: E731
        return cls(as_tensor(mean255), as_tensor(to_net), pre.bgr and pre.channels == 3, pre)

    @property
    def channels(self) -> int:
        return int(self.mean255.numel())

    def _c(self, values: torch.Tensor) -> torch.Tensor:
        return values.view(1, -1, 1, 1)

    def to_net(self, z: torch.Tensor) -> torch.Tensor:
        return z * self._c(self.to_net_scale)

    def clamp(self, z: torch.Tensor) -> torch.Tensor:
        """Keep pixels inside 0..255 (the original clips x + mean before every forward)."""
        mean = self._c(self.mean255)
        return torch.minimum(torch.maximum(z, -mean), 255.0 - mean)

    def gray(self) -> torch.Tensor:
        """z of a mid-grey pixel (127.5), used as the fill of padding transforms."""
        return self._c(127.5 - self.mean255)

    def from_rgb01(self, rgb: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W RGB in [0, 1] (or N x 1 grey) to z in the network's channel order."""
        pixels = rgb.flip(1) if self.bgr else rgb
        return pixels * 255.0 - self._c(self.mean255)

    def from_image(self, image: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        """An RGB uint8 image (any size, not resized) as 1 x C x H x W z."""
        net = torch.from_numpy(self.preprocessor.to_array(as_rgb_uint8(image)))[None].to(device)
        return net / self._c(self.to_net_scale.to(device))

    def to_uint8(self, z: torch.Tensor, render: str = "clip") -> np.ndarray:
        """One C x H x W z as an RGB uint8 image: clipped to 0..255, min-max ('rescale'), or
        zero-centred norm01c (the original's best_X.jpg)."""
        z = z.detach()[0] if z.dim() == 4 else z.detach()
        if render == "clip":
            return self.preprocessor.to_image(self.to_net(z[None]))
        pixels = z if render == "norm01c" else z + self._c(self.mean255)[0]
        chw = pixels.flip(0) if self.bgr else pixels
        hwc = chw.permute(1, 2, 0).cpu().numpy().astype(np.float64)
        if render == "norm01c":
            return as_rgb_uint8(norm01c(hwc, 0.0))
        if render == "rescale":
            return as_rgb_uint8(norm01(hwc))
        raise ValueError(f"unknown render mode '{render}' (clip, rescale, norm01c)")


class ImageParam:
    """N images as learnable tensors; `z()` gives them in caffe space."""

    def __init__(self, tensors: list[torch.Tensor], make_z: Callable[[], torch.Tensor]):
        self.tensors = tensors
        self._make_z = make_z

    def z(self) -> torch.Tensor:
        return self._make_z()


class PixelParam(ImageParam):
    """z itself, as the original toolbox and cnn-vis optimize it (so projections may edit it in place)."""

    def __init__(self, z0: torch.Tensor):
        self.pixels = z0.detach().clone().requires_grad_(True)
        super().__init__([self.pixels], lambda: self.pixels)


def sigmoid_param(space: InputSpace, pre_sigmoid: Callable[[], torch.Tensor], tensors: list[torch.Tensor],
                  decorrelate: bool) -> ImageParam:
    """lucent's `to_valid_rgb`: optional colour decorrelation, sigmoid to [0, 1], then to z."""
    def make_z() -> torch.Tensor:
        image = pre_sigmoid()
        if decorrelate and image.shape[1] == 3:
            image = decorrelate_colors(image)
        return space.from_rgb01(torch.sigmoid(image))
    return ImageParam(tensors, make_z)


def make_param(kind: str, space: InputSpace, batch: int, size: tuple[int, int], decorrelate: bool,
               generator: torch.Generator, device: torch.device | str = "cpu",
               init_sd: float = 10.0, *, distinct: int = 1, start_at: str = "mean_plus_rand") -> ImageParam:
    """`pixel` (z ~ N(0, init_sd), the original's mean_plus_rand; `randu`: pixels U(0, 255); `mean`:
    the mean image), `pixel` + decorrelate (lucent's pixel_image, sd 0.01), `fft` (lucent's
    fft_image, sd 0.01) or `cppn` (lucent's cppn: 8 layers, 24 hidden channels; with decorrelate the
    colour matrix acts on its last layer's output, before the sigmoid; without, as lucent).
    `distinct` draws repeated over the batch (row r starts from draw r % distinct: for cppn, a copy
    of network r % distinct that row r alone then learns), so every unit starts from the same image
    whatever else is in the batch, and the images a diversity term or a batch objective compares
    start apart."""
    height, width = size
    channels = space.channels
    if batch % distinct:
        raise ValueError(f"a batch of {batch} is not a whole number of {distinct} distinct starts")
    if start_at not in START_AT:
        raise ValueError(f"start_at = {start_at!r}: choose from {', '.join(START_AT)}")
    if start_at != "mean_plus_rand" and (kind != "pixel" or decorrelate):
        raise ValueError(f"start_at = {start_at!r} applies to the plain pixel parameterization only "
                         f"(not {kind}{' --decorrelate' if decorrelate else ''})")
    shape = (distinct, channels, height, width)
    repeats = batch // distinct
    if kind == "pixel" and not decorrelate:
        if start_at == "randu":
            z0 = torch.rand(shape, generator=generator) * 255.0 - space.mean255.cpu().view(1, -1, 1, 1)
        elif start_at == "mean":
            z0 = torch.zeros(shape)
        else:
            z0 = torch.randn(shape, generator=generator) * init_sd
        return PixelParam(space.clamp(z0.to(device)).repeat(repeats, 1, 1, 1))
    if kind == "pixel":
        pixels = (torch.randn(shape, generator=generator) * 0.01).to(device)
        pixels = pixels.repeat(repeats, 1, 1, 1).requires_grad_(True)
        return sigmoid_param(space, lambda: pixels, [pixels], True)
    if kind == "fft":
        spectrum = torch.randn(fft_spectrum_shape(distinct, channels, height, width), generator=generator) * 0.01
        spectrum = spectrum.to(device).repeat(repeats, 1, 1, 1, 1).requires_grad_(True)
        scale = fft_scale(height, width).to(device)
        return sigmoid_param(space, lambda: fft_to_image(spectrum, scale, height, width), [spectrum], decorrelate)
    if kind == "cppn":
        net = draw_cppn(batch, channels, size, generator, device, distinct=distinct)
        return sigmoid_param(space, net, net.tensors, decorrelate)
    raise ValueError(f"unknown parameterization '{kind}' (pixel, fft, cppn)")
