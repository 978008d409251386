"""Pure-numpy display filters for back-projections and attributions (the original toolbox's views).

Core code hands the GUI and the CLI uint8 HxWx3 images; nothing here knows about Qt or torch.
The back-pane views follow the original toolbox (``caffevis/app.py _draw_back_pane``):

- ``raw``: ``norm01c(g, 0)`` in colour (0 maps to mid-gray);
- ``gray``: ``norm01c(mean over channels, 0)``;
- ``norm``: ``norm01(L2 norm over channels)``;
- ``normblur``: the L2 norm blurred by a Gaussian (scikit-image) of ``blur_sigma`` px, then ``norm01``;
- ``overlay``: the normblur map through a colormap, blended over the input image with opacity
  ``v ** 0.8`` (strong attribution shows the colormap, weak shows the image: arik's fork's input
  overlay "over inactive");
- ``overlay_active``: the other blend of arik's fork ("over active"): the image shows where the map
  is strong, the colormap where it is weak;
- ``sum_pos``: arik's ``sum>0``, ``norm01(max(sum over channels, 0))``: only what pushes the unit up;
- ``maxabs``: ``norm01(max over channels of |g|)``, Simonyan et al.'s saliency map (cnn-vizlib's
  ``taylor_expansion`` view);
- ``histogram``: arik's histogram view, the distribution of the values of g (all channels) as bars,
  zero marked by a red line, the bin counts on a log scale so that the tails show.

`ViewScale` holds cnn-vizlib's heatmap options (``SaliencyMap.heatmap``/``compose``): a fixed value
range instead of the min-max one (so maps of several images share one scale), the absolute value
of the signal, and a fixed overlay opacity; and captum's ``outlier_perc`` (``clip_percent``): the
largest few percent of the values saturate instead of setting the scale. Gradient-like maps are
sparse with a few huge values, so scaled by their maximum almost every pixel lands on mid-gray
(or black): clipping the top 1-2 % makes them visible (each method's default: `core.methods.registry`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from skimage.filters import gaussian
from skimage.transform import resize

BACK_VIEWS = ("raw", "gray", "norm", "normblur", "overlay", "overlay_active", "sum_pos", "maxabs", "histogram")
HISTOGRAM_BINS = 64
_EPS = 1e-10
_COLORMAPS = {"jet": cv2.COLORMAP_JET, "plasma": cv2.COLORMAP_PLASMA, "viridis": cv2.COLORMAP_VIRIDIS,
              "inferno": cv2.COLORMAP_INFERNO, "magma": cv2.COLORMAP_MAGMA, "turbo": cv2.COLORMAP_TURBO,
              "hot": cv2.COLORMAP_HOT}
COLORMAPS = ("gray", *_COLORMAPS)


def norm01(x: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1] over the whole array: (x - min) / (max - min + 1e-10). Float arrays keep
    their precision (a float32 layer stays float32 on the live path), others become float (`_as_float`)."""
    x = _as_float(x)
    low, high = x.min(), x.max()
    return (x - low) / (high - low + _EPS)


def norm01c(x: np.ndarray, center: float = 0.0) -> np.ndarray:
    """Scale so that ``center`` maps to 0.5 and the larger side of the range just reaches 0 or 1 (float
    arrays keep their precision, as in `norm01`)."""
    x = _as_float(x) - center
    return x / (max(2.0 * x.max(), -2.0 * x.min()) + _EPS) + 0.5


def to_uint8(values01: np.ndarray) -> np.ndarray:
    """[0, 1] floats to uint8 (clipped, rounded)."""
    return np.clip(np.rint(np.asarray(values01) * 255.0), 0, 255).astype(np.uint8)


def apply_colormap(values01: np.ndarray, name: str = "jet") -> np.ndarray:
    """An HxW map in [0, 1] to a uint8 HxWx3 RGB image through a named colormap (``COLORMAPS``)."""
    gray = to_uint8(values01)
    if name == "gray":
        return np.repeat(gray[..., None], 3, axis=2)
    if name not in _COLORMAPS:
        raise ValueError(f"unknown colormap '{name}' (choose from {', '.join(COLORMAPS)})")
    return cv2.cvtColor(cv2.applyColorMap(gray, _COLORMAPS[name]), cv2.COLOR_BGR2RGB)


@dataclass(frozen=True)
class ViewScale:
    """How a view scales its values (cnn-vizlib's heatmap options; the defaults are the toolbox's)."""

    value_range: tuple[float, float] | None = None   # (lo, hi) mapped to 0..1, clipped; None: min-max
    absolute: bool = False                           # the view of |signal|
    alpha: float | None = None                       # overlays: this opacity everywhere; None: value ** 0.8
    clip_percent: float = 0.0                        # min-max scaling: the top this % of values saturate

    def __post_init__(self) -> None:
        if not 0.0 <= self.clip_percent < 50.0:
            raise ValueError(f"clip percent {self.clip_percent}: must be at least 0 and below 50")
        if self.value_range is not None and not self.value_range[0] < self.value_range[1]:
            raise ValueError(f"value range {self.value_range}: the low end must be below the high end")
        if self.alpha is not None and not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"overlay alpha {self.alpha}: must be between 0 and 1")

    def unit(self, values: np.ndarray, centred: bool = False) -> np.ndarray:
        """Values to [0, 1]: the fixed range, else min-max (``centred``: 0 at 0.5, `norm01c`), where
        the top ``clip_percent`` % of the values (of their magnitudes, centred) saturate."""
        if self.value_range is None and self.clip_percent == 0.0:
            return norm01c(values, 0.0) if centred else norm01(values)
        if self.value_range is None:
            values = np.asarray(values, dtype=np.float64)
            if centred:
                top = float(np.percentile(np.abs(values), 100.0 - self.clip_percent))
                return np.clip(values / (2.0 * top + _EPS) + 0.5, 0.0, 1.0)
            low = float(values.min())
            top = float(np.percentile(values, 100.0 - self.clip_percent))
            return np.clip((values - low) / (top - low + _EPS), 0.0, 1.0)
        low, high = self.value_range
        return np.clip((np.asarray(values, dtype=np.float64) - low) / (high - low), 0.0, 1.0)


def back_view(grad_chw: np.ndarray, view: str, image: np.ndarray | None = None, blur_sigma: float = 4.0,
              colormap: str = "jet", scale: ViewScale = ViewScale()) -> np.ndarray:
    """A (C, H, W) back-projection (or a 1-channel map) shown as uint8 HxWx3 in one of ``BACK_VIEWS``; a
    float32 signal (the live path's) is drawn in float32."""
    grad = _as_float(grad_chw)
    if grad.ndim == 2:
        grad = grad[None]
    if grad.ndim != 3:
        raise ValueError(f"expected a (C, H, W) array, got shape {grad.shape}")
    if scale.absolute:
        grad = np.abs(grad)
    if view == "raw":
        shown = scale.unit(grad, centred=True).transpose(1, 2, 0)
        return to_uint8(shown if shown.shape[2] == 3 else _gray3(shown.mean(axis=2)))
    if view == "gray":
        return to_uint8(_gray3(scale.unit(grad.mean(axis=0), centred=True)))
    if view == "norm":
        return to_uint8(_gray3(scale.unit(np.linalg.norm(grad, axis=0))))
    if view == "normblur":
        return to_uint8(_gray3(_normblur(grad, blur_sigma, scale)))
    if view in ("overlay", "overlay_active"):
        return overlay(_normblur(grad, blur_sigma, scale), image, colormap, over_active=view == "overlay_active",
                       alpha=scale.alpha)
    if view == "sum_pos":
        return to_uint8(_gray3(scale.unit(np.maximum(grad.sum(axis=0), 0.0))))
    if view == "maxabs":
        return to_uint8(_gray3(scale.unit(np.abs(grad).max(axis=0))))
    if view == "histogram":
        return value_histogram(grad, grad.shape[1:])
    raise ValueError(f"unknown view '{view}' (choose from {', '.join(BACK_VIEWS)})")


def _as_float(values: np.ndarray) -> np.ndarray:
    """float32 and float64 arrays as they are, other values in the float that holds them (at least float32)."""
    array = np.asarray(values)
    return array.astype(np.result_type(array.dtype, np.float32), copy=False)


def _gray3(values: np.ndarray) -> np.ndarray:
    return np.repeat(values[..., None], 3, axis=2)


def _normblur(grad: np.ndarray, sigma: float, scale: ViewScale = ViewScale()) -> np.ndarray:
    norm = np.linalg.norm(grad, axis=0)
    if sigma > 0:
        norm = gaussian(norm, sigma=sigma, mode="nearest", preserve_range=True)
    return scale.unit(norm)


def overlay(values01: np.ndarray, image: np.ndarray | None, colormap: str = "jet",
            gamma: float = 0.8, over_active: bool = False, alpha: float | None = None) -> np.ndarray:
    """Colormapped ``values01`` blended over ``image`` (resized to the map): the colormap with opacity
    a = values ** gamma, or the fixed ``alpha`` (``over_active``: the image with opacity a, arik's other blend)."""
    colored = apply_colormap(values01, colormap).astype(np.float64)
    if image is None:
        return colored.astype(np.uint8)
    base = _rgb_float(image, values01.shape)
    if alpha is None:
        alpha = np.clip(values01, 0.0, 1.0)[..., None] ** gamma
    top, bottom = (base, colored) if over_active else (colored, base)
    return np.clip(np.rint(alpha * top + (1.0 - alpha) * bottom), 0, 255).astype(np.uint8)


def value_histogram(values: np.ndarray, shape: tuple[int, ...], bins: int = HISTOGRAM_BINS) -> np.ndarray:
    """A uint8 HxWx3 picture (H, W = ``shape``) of the histogram of ``values``: one grey bar per bin over
    [min, max], heights log(1 + count) scaled to the picture, a red line at the bin holding 0."""
    height, width = int(shape[0]), int(shape[1])
    picture = np.zeros((height, width, 3), np.uint8)
    flat = np.asarray(values, dtype=np.float64).ravel()
    low, high = float(flat.min()), float(flat.max())
    if high <= low:
        high = low + _EPS
    counts, _ = np.histogram(flat, bins=bins, range=(low, high))
    heights = np.log1p(counts) / max(np.log1p(counts.max()), _EPS)
    columns = np.minimum((np.arange(width) * bins) // max(width, 1), bins - 1)
    tops = height - np.rint(heights[columns] * height).astype(int)
    rows = np.arange(height)[:, None]
    picture[rows >= tops[None, :]] = (200, 200, 200)
    if low <= 0.0 <= high:
        zero_bin = min(int((0.0 - low) / (high - low) * bins), bins - 1)
        picture[:, columns == zero_bin] = (220, 40, 40)
    return picture


def _rgb_float(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    img = img[..., :3].astype(np.float64)
    if img.shape[:2] != tuple(shape):
        img = resize(img, shape, order=1, preserve_range=True, anti_aliasing=True)
    return img


def sign_colors(diffs: np.ndarray) -> np.ndarray:
    """(C, H, W) signed values to (C, H, W, 3) float colours: positive green, negative red, / max|x|."""
    values = np.asarray(diffs, dtype=np.float64)
    scaled = values / (np.abs(values).max() + _EPS)
    colors = np.zeros(values.shape + (3,), dtype=np.float64)
    colors[..., 0] = np.maximum(-scaled, 0.0)
    colors[..., 1] = np.maximum(scaled, 0.0)
    return colors


def grid_cols(count: int, aspect: float = 1.0) -> int:
    """Columns of the original's unit grid: ceil(sqrt(count * aspect)) (at least 1)."""
    return max(1, int(math.ceil(math.sqrt(max(1, count) * max(aspect, 1e-6)))))
