"""The per-unit pane lays its three images out stacked or side by side (`unit_images_stack_vertical`)."""

from __future__ import annotations

import numpy as np
import pytest

from deepvis_app.core.app.render import unit_images_pane
from deepvis_app.core.unitvis.store.unit_layout import UnitImages
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


def test_scores_caption_each_top_image_with_its_find_max_value():
    """arik's score overlays (`r`): each tile of the top-9 montage gets its value, white, at its bottom left;
    the other images and the tiles' upper parts stay as they were."""
    from deepvis_app.core.unitvis.store.montage import slot_box, unit_montage

    crops = [solid((40, 120 + 10 * i, 60), 30) for i in range(4)]
    montage = unit_montage(crops, slots=4, tile=60)
    scores = (3.25, 2.5, 1.0, -0.5)
    images = UnitImages(regularized_opt=solid(RED), max_im=montage, max_deconv=solid(BLUE), scores=scores, slots=4)
    plain = unit_images_pane(images, (121, 363), Settings())
    shown = unit_images_pane(images, (121, 363), Settings(), scores=True)
    assert not np.array_equal(plain, shown)
    assert np.array_equal(plain[:121], shown[:121]) and np.array_equal(plain[242:], shown[242:])
    for index in range(4):
        top, left, height, width = slot_box(montage.shape, index, 4)
        tile_plain, tile_shown = (pane[121 + top:121 + top + height, left:left + width] for pane in (plain, shown))
        bottom = tile_shown[height // 2:]
        assert (bottom == 255).all(axis=2).any(), f"no white caption on tile {index}"
        assert np.array_equal(tile_plain[:height // 3], tile_shown[:height // 3])
    without = UnitImages(regularized_opt=solid(RED), max_im=montage, max_deconv=solid(BLUE))
    assert np.array_equal(unit_images_pane(without, (121, 363), Settings(), scores=True), plain)
