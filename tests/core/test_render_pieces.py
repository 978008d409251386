"""The drawing pieces of `core.app.render`, pixel by pixel: the input pane (centre crop, stretch, a pair's
views), a layer-level picture while it loads, the unit-images pane (its one-pane cache, placeholders, a
pane too small for images) and the captions of the top images.

Each test draws with the real functions and checks what a user sees: which colour is where, the scale a
click is mapped with, which pane is marked out of date.
"""

from __future__ import annotations

import numpy as np
import pytest

from deepvis_app.core.app.render import (
    UNIT_IMAGE_LABELS,
    PaneData,
    Panes,
    back_image,
    grid_values,
    input_pane,
    layers_pane,
    placeholder,
    unit_images_pane,
)
from deepvis_app.core.app.state import CursorArea, ModelInfo, ViewState
from deepvis_app.core.imaging.display import to_uint8
from deepvis_app.core.unitvis.store.montage import slot_box, unit_montage
from deepvis_app.core.unitvis.store.unit_layout import UnitImages
from deepvis_app.settings.defaults import Settings

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
PLACEHOLDER_BORDER = (150, 150, 150)


def _bytes(color) -> tuple[int, ...]:
    return tuple(int(v) for v in to_uint8(np.asarray(color)))


def _stripes(height: int, widths_colors: list[tuple[int, tuple[int, int, int]]]) -> np.ndarray:
    """An RGB frame of vertical stripes, left to right."""
    return np.concatenate([np.broadcast_to(np.asarray(c, np.uint8), (height, w, 3)) for w, c in widths_colors], axis=1)


def _is(pixels: np.ndarray, color) -> bool:
    return bool((pixels.reshape(-1, 3) == np.asarray(color, np.uint8)).all())


# --- the input pane ---------------------------------------------------------------------------------------

FRAME = _stripes(100, [(50, RED), (100, GREEN), (50, BLUE)])   # 2:1, the network's input is 1:1 (224 x 224)


def test_the_input_pane_shows_the_centre_crop_the_network_sees():
    settings = Settings()
    pane, scale = input_pane(FRAME, settings, stretch=False, size=(120, 90))
    assert pane.shape == (90, 120, 3)
    assert _is(pane[:, :90], GREEN), "the centre square of the frame, fitted to the pane's height"
    assert _is(pane[:, 90:], _bytes(settings.window_background))
    assert scale == pytest.approx(90 / 224), "pane pixels per network input pixel"


def test_stretched_the_whole_frame_is_squeezed_to_the_networks_shape():
    settings = Settings()
    pane, scale = input_pane(FRAME, settings, stretch=True, size=(120, 90))
    assert scale == pytest.approx(90 / 224)
    shown = pane[:, :90]
    assert _is(shown[:, 2:20], RED) and _is(shown[:, 26:64], GREEN) and _is(shown[:, 70:], BLUE)
    assert _is(pane[:, 90:], _bytes(settings.window_background))


def test_stretching_averages_the_frame_down():
    """A frame of one-pixel stripes shrunk 4x stays mid-grey (area averaging), not stripes of samples."""
    stripes = np.zeros((100, 400, 3), np.uint8)
    stripes[:, ::2] = 255
    shown = input_pane(stripes, Settings(), stretch=True, size=(90, 90))[0]
    assert 80 <= shown.min() and shown.max() <= 175


def test_a_one_pixel_pane_maps_clicks_by_its_own_scale():
    pane, scale = input_pane(FRAME, Settings(), stretch=True, size=(1, 1))
    assert pane.shape == (1, 1, 3) and scale == pytest.approx(1 / 224)


PAIR = _stripes(100, [(100, RED), (100, BLUE)])   # a two-input network's frame: first | second


@pytest.mark.parametrize("view, color, scale", [("first", RED, 90 / 224), ("second", BLUE, 90 / 224)])
def test_a_pair_view_shows_one_image_of_the_pair(view, color, scale):
    settings = Settings(two_inputs="width")
    pane, shown_scale = input_pane(PAIR, settings, stretch=False, size=(120, 90), pair_view=view)
    assert _is(pane[:, :90], color) and _is(pane[:, 90:], _bytes(settings.window_background))
    assert shown_scale == pytest.approx(scale)


def test_both_images_of_a_pair_show_side_by_side_by_default():
    settings = Settings(two_inputs="width")
    pane, scale = input_pane(PAIR, settings, stretch=False, size=(120, 90))
    assert _is(pane[:60, :60], RED) and _is(pane[:60, 60:], BLUE), "the 2:1 pair uncropped, 120 x 60"
    assert _is(pane[60:], _bytes(settings.window_background))
    assert scale == pytest.approx(120 / 448)
    assert np.array_equal(input_pane(PAIR, settings, False, (120, 90), pair_view="both")[0], pane)


# --- the back pane ------------------------------------------------------------------------------------------

def _pair_signal() -> PaneData:
    """A pair's back signal: positive on the first image, negative on the second; the pair's input red | blue."""
    signal = np.ones((3, 8, 16), np.float32)
    signal[:, :, 8:] = -1.0
    return PaneData(input_grad=signal, fitted=_stripes(8, [(8, RED), (8, BLUE)]))


@pytest.mark.parametrize("view, level", [("first", 255), ("second", 0)])
def test_a_pair_view_shows_the_back_signal_of_one_image(view, level):
    settings = Settings(two_inputs="width", input_size=(8, 8))
    shown = back_image(_pair_signal(), ViewState(pair_view=view), settings)
    assert shown.shape == (8, 8, 3) and (shown == level).all(), "raw: +1 white, -1 black, the other half gone"
    both = back_image(_pair_signal(), ViewState(), settings)
    assert both.shape == (8, 16, 3) and (both[:, :8] == 255).all() and (both[:, 8:] == 0).all()


def test_an_overlay_of_one_image_of_a_pair_is_drawn_over_that_image():
    settings = Settings(two_inputs="width", input_size=(8, 8), grad_norm_blur_radius=0.0)
    signal = np.zeros((3, 8, 16), np.float32)
    signal[:, 0, 0] = signal[:, 0, 8] = 1.0          # one hot pixel in each image: elsewhere the image shows
    data = PaneData(input_grad=signal, fitted=_stripes(8, [(8, RED), (8, BLUE)]))
    for view, color in (("first", RED), ("second", BLUE)):
        shown = back_image(data, ViewState(pair_view=view, back_view="overlay", colormap="gray"), settings)
        assert shown.shape == (8, 8, 3) and _is(shown[4:], color) and tuple(shown[0, 0]) == (255, 255, 255)


def test_the_back_pane_follows_the_colormap():
    signal = np.zeros((3, 6, 6), np.float32)
    signal[:, 3, 3] = 1.0
    data, settings = PaneData(input_grad=signal), Settings(grad_norm_blur_radius=0.0)
    gray, jet = (back_image(data, ViewState(back_view="overlay", colormap=name), settings) for name in ("gray", "jet"))
    assert tuple(gray[3, 3]) == (255, 255, 255) and tuple(jet[3, 3]) != (255, 255, 255)


# --- the unit grid ------------------------------------------------------------------------------------------

def test_the_grid_shows_back_diffs_when_asked_and_activations_otherwise():
    activations = np.arange(4, dtype=np.float32).reshape(4, 1, 1)
    diffs = np.array([1.0, -1.0, 0.0, 0.5], np.float32).reshape(4, 1, 1)
    data = PaneData(activations=activations, layer_grads=diffs)
    info = ModelInfo.create([("conv", 4)], Settings())
    forward = grid_values(data, ViewState(), info)
    assert forward.shape == (4, 1, 1) and list(forward.ravel()) == [0, 85, 170, 255]
    back = grid_values(data, ViewState(layers_show_back=True), info)
    assert back.shape == (4, 1, 1, 3) and tuple(back[0, 0, 0]) == (0, 255, 0) and tuple(back[1, 0, 0]) == (255, 0, 0)


@pytest.mark.parametrize("area", [CursorArea.LAYER_LIST, CursorArea.GRID])
def test_the_selected_unit_is_outlined_only_with_the_cursor_in_the_grid(area):
    settings = Settings()
    info = ModelInfo.create([("conv", 4)], settings)
    state = ViewState(cursor_area=area, selected_unit=1)
    data = PaneData(activations=np.zeros((4, 5, 5), np.float32))
    panes = Panes()
    layers_pane(data, state, info, settings, (200, 200), grid_values(data, state, info), None, panes)
    image = panes.images["layers"]
    x, y, w, h = panes.tile_rects[1]
    cursor = (image[y - 1:y + h + 1, x - 1:x + w + 1] == _bytes(settings.layer_clr_cursor)).all(axis=2)
    assert cursor.any() == (area is CursorArea.GRID)


# --- a layer-level picture (pattern mode) -------------------------------------------------------------------

def _layer_picture(sprite, settings: Settings) -> Panes:
    state = ViewState(pattern_mode=True, pattern_source="weights_correlation")
    info = ModelInfo.create([("conv", 4)], settings)
    panes = Panes()
    layers_pane(PaneData(sprite=sprite), state, info, settings, (80, 60), None, None, panes)
    return panes


def test_a_layer_picture_still_loading_is_an_out_of_date_pane():
    settings = Settings(stale_background=(0.6, 0.1, 0.1))
    panes = _layer_picture(None, settings)
    assert panes.stale == {"layers"}
    assert panes.images["layers"].shape == (60, 80, 3) and _is(panes.images["layers"], (153, 26, 26))


def test_a_layer_without_a_picture_says_so_and_is_not_out_of_date():
    settings = Settings()
    panes = _layer_picture([], settings)
    image = panes.images["layers"]
    assert not panes.stale and image.shape == (60, 80, 3)
    assert (image == PLACEHOLDER_BORDER).all(axis=2).any(), "a labelled placeholder, not an empty pane"


def test_a_layer_picture_fills_the_pane():
    picture = np.zeros((30, 40, 3), np.uint8)
    picture[:] = GREEN
    panes = _layer_picture([picture], Settings())
    assert not panes.stale and _is(panes.images["layers"], GREEN), "40 x 30 doubled to 80 x 60"


# --- the unit-images pane ----------------------------------------------------------------------------------

def _solid(color, side: int = 50) -> np.ndarray:
    img = np.empty((side, side, 3), np.uint8)
    img[:] = color
    return img


def test_the_unit_pane_is_drawn_once_per_unit_size_and_arrangement():
    images = UnitImages(regularized_opt=_solid(RED), max_im=_solid(GREEN), max_deconv=_solid(BLUE))
    settings = Settings()
    first = unit_images_pane(images, (100, 300), settings)
    assert not first.flags.writeable, "the pane is shared with the window: nobody may draw on it"
    assert unit_images_pane(images, (100, 300), settings) is first
    assert unit_images_pane(images, (100, 301), settings) is not first
    other = UnitImages(regularized_opt=_solid(RED), max_im=_solid(GREEN), max_deconv=_solid(BLUE))
    assert unit_images_pane(other, (100, 300), settings) is not first


def _box(slot: np.ndarray) -> tuple[int, int]:
    """(height, width) of the placeholder's grey frame inside a slot."""
    ys, xs = np.nonzero((slot == PLACEHOLDER_BORDER).all(axis=2))
    assert ys.size, "no placeholder in the slot"
    assert ys.min() == 0 and xs.min() == 0, "placeholders sit at the slot's top left"
    return int(ys.max()) + 1, int(xs.max()) + 1


@pytest.mark.parametrize("size, vertical, box", [
    ((900, 100), False, (100, 200)),    # slots 300 x 100: a 2:1 box as high as the slot
    ((100, 300), True, (50, 100)),      # slots 100 x 100: a 2:1 box as wide as the slot
])
def test_a_missing_image_is_a_labelled_two_to_one_box_filling_its_slot(size, vertical, box):
    settings = Settings(unit_images_stack_vertical=vertical)
    pane = unit_images_pane(UnitImages(None, None, None), size, settings)
    width, height = size
    slots = [pane[i * height // 3:(i + 1) * height // 3] if vertical else pane[:, i * width // 3:(i + 1) * width // 3]
             for i in range(3)]
    assert [_box(slot) for slot in slots] == [box] * 3
    background = _bytes(settings.window_background)
    texts = [slot[1:box[0] - 1, 1:box[1] - 1] for slot in slots]
    for text in texts:
        assert not _is(text, text[0, 0]), "the box carries its label"
        assert _is(text[:, :1], text[0, 0]) and not _is(text[0, 0][None], background)
    assert len({text.tobytes() for text in texts}) == len(UNIT_IMAGE_LABELS), "each kind says what is missing"


def test_a_pane_too_small_for_three_images_is_background():
    settings = Settings()
    pane = unit_images_pane(UnitImages(_solid(RED), None, None), (100, 2), settings)
    assert pane.shape == (2, 100, 3) and _is(pane, _bytes(settings.window_background))
    three = unit_images_pane(UnitImages(_solid(RED), None, None), (100, 3), settings)
    assert _is(three[0, :1], RED), "three pixels high: one row per image"


@pytest.mark.parametrize("size, shape", [((0, 0), (1, 1, 3)), ((1, 1), (1, 1, 3)), ((1, 3), (3, 1, 3)),
                                         ((5, 1), (1, 5, 3))])
def test_a_placeholder_is_the_size_asked_for_at_least_a_pixel(size, shape):
    tile = placeholder(size, "no image", Settings())
    assert tile.shape == shape and not tile.flags.writeable


# --- captions of the top images ----------------------------------------------------------------------------

def _captioned_montage(scores: tuple[float, ...], tile: int = 60):
    crops = [_solid((90, 180, 120), 30) for _ in scores]
    montage = unit_montage(crops, slots=4, tile=tile)
    images = UnitImages(regularized_opt=_solid(RED), max_im=montage, max_deconv=_solid(BLUE), scores=scores, slots=4)
    side = montage.shape[0]
    pane = unit_images_pane(images, (side, 3 * side), Settings(), scores=True)
    return montage, pane[side:2 * side]


def test_each_caption_darkens_a_band_at_its_tiles_bottom_left_and_writes_the_value_in_white():
    montage, shown = _captioned_montage((3.25, 2.5, 1.0, 3.25))
    captions = []
    for index in range(4):
        top, left, height, width = slot_box(montage.shape, index, 4)
        tile = shown[top:top + height, left:left + width].astype(int)
        original = montage[top:top + height, left:left + width].astype(int)
        changed = (tile != original).any(axis=2)
        ys, xs = np.nonzero(changed)
        assert ys.max() == height - 1 and xs.min() == 0, "the band ends at the tile's bottom left"
        assert ys.min() > height // 2 and xs.max() < width - 1, "the band is a corner, not the tile"
        band = tile[ys.min():, :xs.max() + 1]
        dark = (band == original[ys.min():, :xs.max() + 1] // 3).all(axis=2)
        white = (band == 255).all(axis=2)
        assert dark.mean() > 0.4 and white.any(), "a third as bright, with white text"
        assert (changed[ys.min():, :xs.max() + 1] & ~dark & ~white).any(), "the text is anti-aliased"
        assert not white[:, :1].any() and not white[-1:].any(), "the text keeps off the band's edges"
        captions.append(band)
    assert np.array_equal(captions[0], captions[3]), "the same value, the same caption"
    assert not any(np.array_equal(captions[0], other) for other in captions[1:3])
