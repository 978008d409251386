"""Pattern-mode tests' pictures and tile checks: solid-quadrant images, seeded palettes, a grid tile of a
`Result` and its mismatch with the image it should show (resized to the tile independently of the app)."""

from __future__ import annotations

import cv2
import numpy as np

LAYER = "0"          # the tiny model's first conv: 8 units
UNITS = 8
TRIM = 3             # tile edges: rounding of the scaled rectangles, resampling at the border


def blocks(colors: list[tuple[int, int, int]], size: int = 48) -> np.ndarray:
    """A size x size image of four solid quadrants (top-left, top-right, bottom-left, bottom-right)."""
    image = np.empty((size, size, 3), np.uint8)
    half = size // 2
    for index, color in enumerate(colors):
        row, col = divmod(index, 2)
        image[row * half:(row + 1) * half, col * half:(col + 1) * half] = color
    return image


def palette(seed: int, count: int = 4) -> list[tuple[int, int, int]]:
    rng = np.random.default_rng(seed)
    return [tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(count)]


def grid_tile(result, unit: int) -> np.ndarray:
    x, y, w, h = result.tile_rects[unit]
    return result.images["layers"][y:y + h, x:x + w]


def mismatch(tile: np.ndarray, source: np.ndarray) -> float:
    """Mean absolute difference of the tile and the source resized to it, edges left out."""
    height, width = tile.shape[:2]
    expected = cv2.resize(source, (width, height), interpolation=cv2.INTER_AREA)
    inner = (slice(TRIM, height - TRIM), slice(TRIM, width - TRIM))
    return float(np.abs(tile[inner].astype(int) - expected[inner].astype(int)).mean())
