"""The per-unit pane lays its three images out stacked or side by side (`unit_images_stack_vertical`)."""

from __future__ import annotations

import numpy as np
import pytest

from deepvis_app.core.render import unit_images_pane
from deepvis_app.core.unitvis.layout import UnitImages
from deepvis_app.settings.defaults import Settings

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def solid(color: tuple[int, int, int], side: int = 50) -> np.ndarray:
    img = np.zeros((side, side, 3), np.uint8)
    img[:] = color
    return img


@pytest.fixture
def images() -> UnitImages:
    return UnitImages(regularized_opt=solid(RED), max_im=solid(GREEN), max_deconv=solid(BLUE))


def where(pane: np.ndarray, color: tuple[int, int, int]) -> tuple[slice, slice]:
    """The bounding box (rows, columns) of the pixels of exactly `color`."""
    ys, xs = np.nonzero(np.all(pane == color, axis=2))
    assert ys.size, f"{color} is not in the pane"
    return slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)


def test_stacked_vertically_by_default(images):
    pane = unit_images_pane(images, (100, 300), Settings())
    assert pane.shape == (300, 100, 3)
    # each square image fills a 100 x 100 third of the height, one below the other
    assert where(pane, RED) == (slice(0, 100), slice(0, 100))
    assert where(pane, GREEN) == (slice(100, 200), slice(0, 100))
    assert where(pane, BLUE) == (slice(200, 300), slice(0, 100))


def test_side_by_side_when_not_stacked(images):
    pane = unit_images_pane(images, (300, 100), Settings(unit_images_stack_vertical=False))
    assert pane.shape == (100, 300, 3)
    assert where(pane, RED) == (slice(0, 100), slice(0, 100))
    assert where(pane, GREEN) == (slice(0, 100), slice(100, 200))
    assert where(pane, BLUE) == (slice(0, 100), slice(200, 300))


def test_the_same_unit_and_size_follow_a_changed_arrangement(images):
    """The one-pane cache must not hand the stacked pane back for the side-by-side setting."""
    size = (300, 300)
    stacked = unit_images_pane(images, size, Settings())
    side = unit_images_pane(images, size, Settings(unit_images_stack_vertical=False))
    # stacked: slots of 300 x 100, each image 100 x 100 at the slot's top-left; side by side: 100 x 300 slots
    assert where(stacked, GREEN) == (slice(100, 200), slice(0, 100))
    assert where(side, GREEN) == (slice(0, 100), slice(100, 200))
    background = np.rint(np.asarray(Settings().window_background) * 255).astype(np.uint8)
    assert (side[150:, :] == background).all(), "below the row of images is background"
