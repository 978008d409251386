"""Layer grid math: tiling, whole-layer normalisation, boosts, highlight borders, sign colours, fitting."""

from __future__ import annotations

import numpy as np
import pytest

from deepvis_app.core.imaging import tiles
from deepvis_app.core.imaging.display import norm01, to_uint8

BG = (0.2, 0.2, 0.2)
CURSOR = (0.5, 1.0, 0.5)
ORIGIN = (0.2, 0.2, 1.0)


def _maps(seed=0, shape=(7, 5, 4)):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_forward_normalisation_is_whole_layer_min_max():
    maps = _maps()
    values = tiles.layer_values(maps, back=False, boost_indiv=0.0, boost_gamma=1.0)
    assert values.dtype == np.uint8 and values.shape == maps.shape   # gray
    expected = (maps - maps.min()) / (maps.max() - maps.min())
    assert np.abs(values.astype(int) - np.rint(expected * 255)).max() <= 1
    # global, not per channel: exactly one channel reaches 255, one reaches 0
    assert sum(int(values[c].max() == 255) for c in range(len(maps))) == 1
    assert sum(int(values[c].min() == 0) for c in range(len(maps))) == 1


def test_boosted_forward_values_equal_the_float_boosts():
    maps = _maps(2)
    values = tiles.layer_values(maps, back=False, boost_indiv=0.5, boost_gamma=0.7)
    expected = tiles.apply_boosts(norm01(maps), 0.5, 0.7)
    assert values.shape == maps.shape and np.abs(values.astype(int) - np.rint(expected * 255)).max() <= 1


def test_tile_pixels_equal_the_normalised_channel():
    maps = _maps()
    values = tiles.layer_values(maps, back=False, boost_indiv=0.0, boost_gamma=1.0)
    mosaic = tiles.layer_grid(values, 1.0, BG)
    assert mosaic.grid_shape == (3, 3)                     # ceil(sqrt(7)) = 3 columns
    normed = (maps - maps.min()) / (maps.max() - maps.min())
    for unit, (x, y, w, h) in enumerate(mosaic.tile_rects):
        assert (w, h) == (4, 5)
        tile = mosaic.image[y:y + h, x:x + w]
        for channel in range(3):
            assert np.abs(tile[..., channel].astype(int) - np.rint(normed[unit] * 255)).max() <= 1
    # 1-px padding on each side of every tile: cells are 7 px high, 6 px wide
    assert mosaic.image.shape == (3 * 7, 3 * 6, 3)
    assert mosaic.tile_rects[4] == (1 * 6 + 1, 1 * 7 + 1, 4, 5)
    assert (mosaic.image[-7:, -6:] == to_uint8(np.asarray(BG))).all()   # empty cell


def _border(image, rect):
    x, y, w, h = rect
    cell = image[y - 1:y + h + 1, x - 1:x + w + 1]
    return np.concatenate([cell[0], cell[-1], cell[:, 0], cell[:, -1]])


def test_selected_tile_border_and_frozen_origin_border():
    values = tiles.layer_values(_maps(), False, 0.0, 1.0)
    marks = tiles.selection_highlights(7, selected=2, origin=5, cursor_color=CURSOR, origin_color=ORIGIN)
    mosaic = tiles.layer_grid(values, 1.0, BG, marks)
    for unit, color in ((2, CURSOR), (5, ORIGIN), (0, BG)):
        assert (_border(mosaic.image, mosaic.tile_rects[unit]) == to_uint8(np.asarray(color))).all()
    same = tiles.selection_highlights(7, selected=3, origin=3, cursor_color=CURSOR, origin_color=ORIGIN)
    assert same == {3: ORIGIN}


def test_boost_individual_fills_every_channel():
    values = np.repeat(norm01(np.abs(_maps()))[..., None], 3, axis=3)
    boosted = tiles.apply_boosts(values, 1.0, 1.0)
    np.testing.assert_allclose(boosted.reshape(7, -1).max(axis=1), 1.0, atol=1e-5)
    half = tiles.apply_boosts(values, 0.5, 1.0)
    chan_max = values.reshape(7, -1).max(axis=1)
    np.testing.assert_allclose(half.reshape(7, -1).max(axis=1), np.sqrt(chan_max), rtol=1e-5)


def test_boost_gamma():
    values = np.linspace(0, 1, 24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_allclose(tiles.apply_boosts(values, 0.0, 0.5), np.sqrt(values), atol=1e-6)


def test_back_diffs_are_sign_coloured():
    diffs = np.zeros((2, 1, 3), np.float32)
    diffs[0, 0] = [2.0, -4.0, 0.0]
    colors = tiles.layer_values(diffs, back=True, boost_indiv=0.0, boost_gamma=1.0)
    assert colors.dtype == np.uint8
    np.testing.assert_allclose(colors[0, 0, 0], [0, 128, 0], atol=1)   # positive: green, / max|x|
    np.testing.assert_array_equal(colors[0, 0, 1], [255, 0, 0])         # negative: red
    np.testing.assert_array_equal(colors[1], 0)


def test_fc_layer_is_small_squares():
    values = tiles.layer_values(np.arange(10, dtype=np.float32), False, 0.0, 1.0)
    mosaic = tiles.layer_grid(values, 1.0, BG)
    assert mosaic.grid_shape == (3, 4)
    x, y, w, h = mosaic.tile_rects[9]
    assert (w, h) == (3, 3)
    assert (mosaic.image[y:y + h, x:x + w] == 255).all()


@pytest.mark.parametrize("size", [(100, 60), (20, 50)])
def test_fit_to_pane_keeps_aspect_top_left(size):
    image = np.zeros((10, 20, 3), np.uint8)
    image[:, 10:] = 200
    pane, scale = tiles.fit_to_pane(image, size, (0.0, 0.0, 1.0))
    assert pane.shape == (size[1], size[0], 3) and pane.dtype == np.uint8
    assert scale == pytest.approx(min(size[0] / 20, size[1] / 10))
    width, height = round(20 * scale), round(10 * scale)
    assert (pane[height:, :, 2] == 255).all() and (pane[:, width:, 2] == 255).all()   # background
    if scale >= 1:   # nearest when enlarging: the halves stay exact
        assert (pane[:height, : width // 2] == 0).all() and (pane[:height, width // 2:width, 0] == 200).all()


@pytest.mark.parametrize("size", [(47, 20), (40, 26)])
@pytest.mark.parametrize("kind", ["uint8", "float", "gray", "rgba"])
def test_fit_to_pane_takes_every_image_kind(kind, size):
    base = np.zeros((10, 20, 3), np.uint8)
    base[:, 10:] = (200, 100, 50)
    image = {"uint8": base, "float": base / np.float32(255), "gray": base[..., 0],
             "rgba": np.dstack([base, np.full((10, 20), 7, np.uint8)])}[kind]
    pane, scale = tiles.fit_to_pane(image, size, (0.0, 0.0, 1.0))
    assert pane.shape == (size[1], size[0], 3) and scale == 2.0
    expected = base[..., :1].repeat(3, axis=2) if kind == "gray" else base
    np.testing.assert_array_equal(pane[:20, :40], np.repeat(np.repeat(expected, 2, axis=0), 2, axis=1))
    assert (pane[20:] == (0, 0, 255)).all() and (pane[:, 40:] == (0, 0, 255)).all()


def test_scaled_rects_follow_the_fit():
    assert tiles.scaled_rects([(1, 1, 4, 5)], 2.0) == ((2, 2, 8, 10),)


def test_pattern_tiles_shrink_to_a_common_size():
    imgs = [np.full((40, 40, 3), v, np.uint8) for v in (0, 255)]
    out = tiles.pattern_tiles(imgs, 10)
    assert out.shape == (2, 10, 10, 3)
    np.testing.assert_allclose(out[1], 1.0)


def test_uint8_mosaic_matches_the_float_one():
    values = np.repeat(tiles.apply_boosts(norm01(_maps(3)), 0.3, 0.7)[..., None], 3, axis=3)
    marks = {1: CURSOR}
    as_float = tiles.layer_grid(values, 1.0, BG, marks)
    as_bytes = tiles.make_mosaic(tiles.as_uint8(values), 3, BG, marks)
    assert as_bytes.image.dtype == np.uint8 and as_bytes.tile_rects == as_float.tile_rects
    assert np.abs(as_bytes.image.astype(int) - np.rint(as_float.image * 255)).max() <= 1


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_gray_tiles_make_the_mosaic_of_their_rgb(dtype):
    gray = np.random.default_rng(4).integers(0, 256, (5, 6, 3)).astype(np.uint8)
    gray = gray if dtype == np.uint8 else gray / np.float32(255)
    marks = {2: CURSOR}
    as_gray = tiles.make_mosaic(gray, 2, BG, marks)
    as_rgb = tiles.make_mosaic(np.repeat(gray[..., None], 3, axis=3), 2, BG, marks)
    assert as_gray.image.dtype == as_rgb.image.dtype and as_gray.tile_rects == as_rgb.tile_rects
    np.testing.assert_array_equal(as_gray.image, as_rgb.image)
