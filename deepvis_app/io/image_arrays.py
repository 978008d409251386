"""Image arrays as every layer hands them on: HxWx3 uint8 RGB, and read-only once shared.

Readers (files, video, camera) and the network's preprocessing both normalize whatever they get
(gray, RGBA, uint16, float in [0, 1]) to one format, and frames or pane images seen by several threads
are made read-only so an accidental in-place edit is an error instead of a torn image. These helpers
live here, at the bottom of io, because io is the lower layer: core imports io, io never imports core.
"""

from __future__ import annotations

import numpy as np

from deepvis_app.errors import DeepvisError


class ImageShapeError(DeepvisError, ValueError):
    """An array that is no image (wrong number of dimensions or channels)."""


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Any HxW, HxWx1, HxWx3 or HxWx4 image (uint8, uint16 or float in [0, 1]) as HxWx3 uint8."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ImageShapeError(f"expected an HxW or HxWxC image with 1, 3 or 4 channels, got shape {img.shape}")
    img = img[:, :, :3] if img.shape[2] == 4 else img
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if img.dtype == np.uint8:
        return np.ascontiguousarray(img)
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if np.issubdtype(img.dtype, np.floating):
        return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.clip(img, 0, 255).astype(np.uint8)


def read_only(image: np.ndarray) -> np.ndarray:
    """``image`` as a contiguous array (copied only when it is not) that no consumer can modify."""
    image = np.ascontiguousarray(image)
    image.flags.writeable = False
    return image
