"""numpy uint8 images -> QImage without copying, and colours from settings -> QColor.

A QImage built on a numpy buffer does not own the memory: the array must outlive it. `PaneImage`
keeps both together so a pane can never hold a QImage whose buffer was freed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QColor, QImage


@dataclass(frozen=True, eq=False)
class PaneImage:
    """A QImage and the array whose memory it points into (kept alive together)."""

    array: np.ndarray
    qimage: QImage

    @property
    def width(self) -> int:
        return self.qimage.width()

    @property
    def height(self) -> int:
        return self.qimage.height()


def to_pane_image(array: np.ndarray) -> PaneImage:
    """An HxWx3 (or HxW) uint8 array as a QImage sharing its memory."""
    if array.dtype != np.uint8:
        raise ValueError(f"pane image must be uint8, got {array.dtype}")
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"pane image must be HxWx3, got shape {array.shape}")
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    qimage = QImage(array.data, width, height, array.strides[0], QImage.Format.Format_RGB888)
    return PaneImage(array, qimage)


def qcolor(rgb: tuple[float, float, float], alpha: float = 1.0) -> QColor:
    """A settings colour (RGB floats in [0, 1]) as a QColor."""
    r, g, b = (min(max(float(c), 0.0), 1.0) for c in rgb)
    return QColor.fromRgbF(r, g, b, alpha)


def mix(rgb0: tuple[float, float, float], rgb1: tuple[float, float, float], t: float) -> QColor:
    """Linear interpolation between two settings colours (t clipped to [0, 1])."""
    t = min(max(float(t), 0.0), 1.0)
    return qcolor(tuple(a + (b - a) * t for a, b in zip(rgb0, rgb1, strict=True)))
