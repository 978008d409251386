"""The layer grid: every unit of a layer as one tile, normalised and boosted as the original did.

Follows `caffevis/app.py _draw_layer_pane` and `image_misc.py` of the original toolbox: a
(C, H, W) blob (an FC layer's (C,) becomes (C, 1, 1), shown as 3x3 px squares) is laid out
row-major in ``cols = ceil(sqrt(C * aspect))`` columns; each tile is padded by 1 px; forward
values are min-max normalised over the whole layer (not per channel); the individual boost b
multiplies each channel by ``(channel max + 1e-10) ** -b`` and the gamma boost raises to ``g``;
back diffs are divided by max|x| and coloured green (+) / red (-). The 1-px border of the
selected tile takes the cursor colour, that of a frozen backprop origin the origin colour.
Unlike the original, the outer border is kept so that a highlighted edge tile shows all four
sides. The mosaic is fitted to the pane (nearest when enlarging, linear when shrinking, aspect
kept, top-left anchored). Pure numpy + OpenCV resize; everything returned is uint8.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from deepvis_app.core.imaging.display import grid_cols, norm01, sign_colors, to_uint8

Color = tuple[float, float, float]
Rect = tuple[int, int, int, int]
_EPS = 1e-10
FC_TILE_PX = 3


@dataclass(frozen=True)
class Mosaic:
    """A grid of tiles: the RGB image (uint8 from uint8 tiles, float in [0, 1] from float ones) and each
    tile's (x, y, w, h) inside it."""

    image: np.ndarray
    grid_shape: tuple[int, int]
    tile_rects: tuple[Rect, ...]


def as_maps(data: np.ndarray) -> np.ndarray:
    """A layer's values as (C, H, W): an FC layer's (C,) becomes (C, 1, 1)."""
    values = np.asarray(data, dtype=np.float32)
    if values.ndim == 1:
        return values[:, None, None]
    if values.ndim != 3:
        raise ValueError(f"expected a (C,), or (C, H, W) layer output, got shape {values.shape}")
    return values


def back_diff_colors(maps: np.ndarray) -> np.ndarray:
    """(C, H, W) diffs as (C, H, W, 3) colours in [0, 1]: / max|x|, positive green, negative red."""
    return sign_colors(maps).astype(np.float32)


def apply_boosts(values: np.ndarray, boost_indiv: float, boost_gamma: float) -> np.ndarray:
    """The original's boosts on (C, ...) values in [0, 1]: per-channel max ** -b, then ** g."""
    out = values
    if boost_indiv:
        chan_max = out.reshape(out.shape[0], -1).max(axis=1)
        scale = (chan_max + _EPS) ** -boost_indiv
        out = out * scale.reshape((-1,) + (1,) * (out.ndim - 1)).astype(out.dtype)
    if boost_gamma != 1.0:
        out = np.clip(out, 0.0, None) ** boost_gamma
    return out


def layer_values(data: np.ndarray, back: bool, boost_indiv: float, boost_gamma: float) -> np.ndarray:
    """A layer's activations as boosted (C, H, W) uint8 gray tiles, or its back diffs (``back``) as
    (C, H, W, 3) uint8 colours. Activations are min-max normalised over the whole layer (one range for all
    channels, as the original's `tile_images_normalize`); without boosts (the default) they go to bytes
    in one pass and stay one channel until `make_mosaic` places them: the live loop draws this every frame."""
    maps = as_maps(data)
    if back:
        return as_uint8(apply_boosts(back_diff_colors(maps), boost_indiv, boost_gamma))
    if boost_indiv or boost_gamma != 1.0:
        return as_uint8(apply_boosts(norm01(maps), boost_indiv, boost_gamma))
    return _norm01_bytes(maps)


def _norm01_bytes(maps: np.ndarray) -> np.ndarray:
    """``to_uint8(norm01(maps))`` without the float image in between (OpenCV finds the range in one pass,
    then scales, rounds and saturates)."""
    flat = np.ascontiguousarray(maps, dtype=np.float32).reshape(-1, maps.shape[-1])
    low, high = cv2.minMaxLoc(flat)[:2]
    alpha = 255.0 / (high - low + _EPS)
    return cv2.convertScaleAbs(flat, alpha=alpha, beta=-low * alpha).reshape(maps.shape)


def fc_squares(values: np.ndarray) -> np.ndarray:
    """(C, 1, 1) or (C, 1, 1, 3) values repeated to FC_TILE_PX squares; other shapes unchanged."""
    if values.shape[1:3] == (1, 1):
        return np.repeat(np.repeat(values, FC_TILE_PX, axis=1), FC_TILE_PX, axis=2)
    return values


def make_mosaic(tiles: np.ndarray, cols: int, pad_color: Color,
                highlights: dict[int, Color] | None = None, pad: int = 1) -> Mosaic:
    """Tiles (C, h, w, 3), or gray (C, h, w), in row-major ``cols`` columns, each padded by ``pad`` px of
    ``pad_color`` (or of its highlight colour); empty cells are ``pad_color``. uint8 tiles give a uint8
    RGB mosaic (colours scaled to 0..255), float tiles a float one."""
    count, height, width = tiles.shape[:3]
    rows = -(-count // cols)
    cell_h, cell_w = height + 2 * pad, width + 2 * pad
    image = np.empty((rows * cell_h, cols * cell_w, 3), dtype=tiles.dtype)
    image[0] = _pixel(pad_color, tiles.dtype)
    image[1:] = image[0]   # row by row: far faster than broadcasting one 3-value pixel over the image
    cells = image.reshape(rows, cell_h, cols, cell_w, 3)   # a view: tiles are written in place
    for index, color in (highlights or {}).items():
        if 0 <= index < count:
            cells[index // cols, :, index % cols] = _pixel(color, tiles.dtype)
    rgb = _as_rgb(tiles)
    for index in range(count):   # one block copy per tile (row-contiguous: faster than one strided copy)
        cells[index // cols, pad:pad + height, index % cols, pad:pad + width] = rgb[index]
    rects = tuple(((i % cols) * cell_w + pad, (i // cols) * cell_h + pad, width, height) for i in range(count))
    return Mosaic(image, (rows, cols), rects)


def _as_rgb(tiles: np.ndarray) -> np.ndarray:
    """(C, h, w, 3) tiles unchanged; gray (C, h, w) ones as RGB, in one call for all (per tile, a wide
    layer's thousand calls cost more than the copy)."""
    if tiles.ndim == 4:
        return tiles
    if tiles.dtype == np.uint8:
        flat = np.ascontiguousarray(tiles).reshape(-1, tiles.shape[-1])
        return cv2.cvtColor(flat, cv2.COLOR_GRAY2RGB).reshape(*tiles.shape, 3)
    return np.repeat(tiles[..., None], 3, axis=3)


def _into(view: np.ndarray, written: np.ndarray) -> None:
    """After an OpenCV call given ``dst=view``: copy its output into ``view`` if OpenCV allocated its own."""
    if written.ctypes.data != view.ctypes.data:
        view[...] = written


def selection_highlights(count: int, selected: int | None, origin: int | None,
                         cursor_color: Color, origin_color: Color) -> dict[int, Color]:
    """{tile: border colour}: the selected unit (cursor in the grid), then the frozen origin over it."""
    marks: dict[int, Color] = {}
    if selected is not None and 0 <= selected < count:
        marks[selected] = cursor_color
    if origin is not None and 0 <= origin < count:
        marks[origin] = origin_color
    return marks


def fit_scale(shape: tuple[int, int], size: tuple[int, int]) -> float:
    """Scale that fits an (h, w) image into a (width, height) pane, aspect kept."""
    height, width = shape
    return min(size[0] / max(width, 1), size[1] / max(height, 1))


def _pixel(color: Color, dtype: np.dtype) -> np.ndarray:
    values = np.asarray(color, dtype=np.float32)
    return to_uint8(values) if dtype == np.uint8 else values.astype(dtype)


def as_uint8(image: np.ndarray) -> np.ndarray:
    """uint8 unchanged; non-negative floats in [0, 1] (any shape) scaled by 255, rounded and
    saturated by OpenCV (several times faster than numpy's rint/clip on a pane-sized image)."""
    if image.dtype == np.uint8:
        return image
    flat = np.ascontiguousarray(image, dtype=np.float32).reshape(image.shape[0], -1)
    return cv2.convertScaleAbs(flat, alpha=255.0).reshape(image.shape)


def fit_to_pane(image: np.ndarray, size: tuple[int, int], background: Color) -> tuple[np.ndarray, float]:
    """An HxWx3 image (uint8, or float in [0, 1]) resized into a (width, height) pane of
    ``background``, top-left anchored; returns (uint8 pane, scale). An RGB uint8 image is resized
    straight into the pane (the live loop fits two or three panes a frame)."""
    width, height = max(size[0], 1), max(size[1], 1)
    scale = fit_scale(image.shape[:2], (width, height))
    new_w = max(1, min(width, int(round(image.shape[1] * scale))))
    new_h = max(1, min(height, int(round(image.shape[0] * scale))))
    interp = cv2.INTER_NEAREST if scale >= 1.0 else cv2.INTER_AREA
    pane = np.empty((height, width, 3), np.uint8)
    fill = [int(v) for v in to_uint8(np.asarray(background, dtype=np.float32))]
    for x0, y0 in ((new_w, 0), (0, new_h)):   # the margins right and below (OpenCV fills far faster than numpy)
        if x0 < width and y0 < height:
            cv2.rectangle(pane, (x0, y0), (width - 1, height - 1), fill, thickness=-1)
    inside = pane[:new_h, :new_w]
    source = np.ascontiguousarray(image)
    if source.dtype == np.uint8 and source.ndim == 3 and source.shape[2] == 3:
        _into(inside, cv2.resize(source, (new_w, new_h), dst=inside, interpolation=interp))
        return pane, scale
    resized = as_uint8(cv2.resize(source, (new_w, new_h), interpolation=interp))
    if resized.ndim == 2:
        resized = cv2.cvtColor(resized, cv2.COLOR_GRAY2RGB)
    inside[...] = resized[..., :3]
    return pane, scale


def scaled_rects(rects: Sequence[Rect], scale: float) -> tuple[Rect, ...]:
    """Tile rectangles in the fitted pane's pixel coordinates."""
    return tuple((int(round(x * scale)), int(round(y * scale)), max(1, int(round(w * scale))),
                  max(1, int(round(h * scale)))) for x, y, w, h in rects)


def layer_grid(values: np.ndarray, aspect: float, pad_color: Color,
               highlights: dict[int, Color] | None = None) -> Mosaic:
    """`layer_values` tiles as the original's grid (FC layers as small squares)."""
    return make_mosaic(fc_squares(values), grid_cols(values.shape[0], aspect), pad_color, highlights)


def pattern_tiles(images: Sequence[np.ndarray], max_side: int) -> np.ndarray:
    """Per-unit uint8 images (pattern mode) as one (C, s, s, 3) float array, each shrunk to at
    most ``max_side`` px so a wide layer's sprite does not make a huge mosaic."""
    side = max(1, min(max_side, min(min(img.shape[:2]) for img in images)))
    tiles = np.empty((len(images), side, side, 3), dtype=np.float32)
    for index, img in enumerate(images):
        rgb = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
        tiles[index] = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA) / np.float32(255.0)
    return tiles
