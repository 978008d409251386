"""Montages of a unit's top crops (the 3x3 images the app's per-unit pane shows), and their geometry.

The original toolbox shipped no script that built these (issues #25, #58); here they are
`skimage.util.montage` grids of equal-size tiles, blank where a unit has fewer than k images.
`slot_box` and `montage_side` read the geometry back (one tile, a montage's grid).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from skimage.util import montage

from deepvis_app.core.imaging.display import grid_cols
from deepvis_app.core.nn.preprocess import resize_uint8
from deepvis_app.io.image_arrays import as_rgb_uint8

MONTAGE_FILL = (32, 32, 32)  # padding and empty-slot colour, dark like the app's background


def unit_montage(crops: list[np.ndarray], slots: int = 9, tile: int = 96, padding: int = 1) -> np.ndarray:
    """`crops` (best first) resized to tile x tile, in a square grid with `slots` places, as uint8 RGB."""
    side = grid_cols(slots)  # a square grid: 3 for the top-9
    tiles = np.empty((side * side, tile, tile, 3), dtype=np.uint8)
    tiles[:] = np.asarray(MONTAGE_FILL, dtype=np.uint8)
    for index, crop in enumerate(crops[:side * side]):
        tiles[index] = resize_uint8(as_rgb_uint8(crop), (tile, tile))
    grid = montage(tiles, grid_shape=(side, side), padding_width=padding, fill=MONTAGE_FILL, channel_axis=-1)
    return np.ascontiguousarray(grid, dtype=np.uint8)


def slot_box(shape: tuple[int, ...], index: int, slots: int = 9, padding: int = 1) -> tuple[int, int, int, int]:
    """(top, left, height, width) of tile `index` (row-major) of a `unit_montage` of `slots` places."""
    side = grid_cols(slots)
    height = (shape[0] - (side + 1) * padding) // side
    width = (shape[1] - (side + 1) * padding) // side
    if not 0 <= index < side * side or height < 1 or width < 1:
        raise ValueError(f"no tile {index} in a {shape[1]}x{shape[0]} montage of {slots} places")
    row, col = divmod(index, side)
    return padding + row * (height + padding), padding + col * (width + padding), height, width


def montage_side(shape: tuple[int, ...], counts: Sequence[int], padding: int = 1) -> int | None:
    """The grid side of a square `unit_montage` made for one of `counts` slots, judged by its shape."""
    height, width = shape[:2]
    for count in counts:
        side = grid_cols(max(count, 1))
        if height == width and (height - padding) % side == 0 and (height - padding) // side > padding:
            return side
    return None

