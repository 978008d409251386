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
    PATTERN_PLACEHOLDERS,
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
from deepvis_app.core.app.state import PATTERN_SOURCES, CursorArea, ModelInfo, ViewState
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


def test_a_single_input_network_ignores_a_pair_view():
    signal = np.ones((3, 8, 8), np.float32)
    shown = back_image(PaneData(input_grad=signal), ViewState(pair_view="second"), Settings(input_size=(8, 8)))
    assert shown.shape == (8, 8, 3)


def test_a_pair_view_of_a_back_signal_without_an_input_image():
    settings = Settings(two_inputs="width", input_size=(8, 8))
    data = PaneData(input_grad=_pair_signal().input_grad)
    assert (back_image(data, ViewState(pair_view="second"), settings) == 0).all()


# --- the grid pane's forms ----------------------------------------------------------------------------------

GRID = (120, 100)


def _grid(state: ViewState, data: PaneData, settings: Settings | None = None, back=None) -> Panes:
    settings = settings or Settings()
    info = ModelInfo.create([("conv", 4)], settings)
    panes = Panes()
    layers_pane(data, state, info, settings, GRID, grid_values(data, state, info), back, panes)
    return panes


def _units() -> PaneData:
    """Four 2x2 units: unit k is all k (so unit 3 is the brightest)."""
    return PaneData(activations=np.arange(4, dtype=np.float32).repeat(4).reshape(4, 2, 2))


def test_the_back_zoom_fills_the_grid_pane_with_the_back_image_once_there_is_one():
    back = np.zeros((10, 12, 3), np.uint8)
    back[:] = BLUE
    zoomed = _grid(ViewState(layers_pane_zoom_mode=2), _units(), back=back)
    assert zoomed.images["layers"].shape == (100, 120, 3) and _is(zoomed.images["layers"], BLUE)
    assert not zoomed.stale
    waiting = _grid(ViewState(layers_pane_zoom_mode=2), _units())
    assert waiting.grid_shape == (2, 2), "no back image yet: the grid"


@pytest.mark.parametrize("selected, level", [(2, 170), (9, 255)])
def test_the_unit_zoom_fills_the_grid_pane_with_the_selected_unit(selected, level):
    zoomed = _grid(ViewState(layers_pane_zoom_mode=1, selected_unit=selected), _units())
    image = zoomed.images["layers"]
    assert image.shape == (100, 120, 3) and _is(image[:, :100], (level,) * 3), "a unit past the last: the last"
    assert _is(image[:, 100:], _bytes(Settings().window_background))


def test_the_grid_has_its_shape_and_each_unit_its_tile():
    settings = Settings(window_background=(0.4, 0.0, 0.0), layer_clr_back_background=(0.0, 0.4, 0.0))
    panes = _grid(ViewState(), _units(), settings)
    assert panes.grid_shape == (2, 2) and len(panes.tile_rects) == 4
    image = panes.images["layers"]
    for unit, (x, y, w, h) in enumerate(panes.tile_rects):
        assert _is(image[y + 1:y + h - 1, x + 1:x + w - 1], (round(unit * 255 / 3),) * 3)   # inside: rects are rounded
    x, y, w, h = panes.tile_rects[0]
    assert _is(image[:y - 1, :x + w], _bytes(settings.window_background)), "activations padded in the window's colour"


def test_every_pattern_source_has_its_placeholder_words():
    assert set(PATTERN_SOURCES) <= set(PATTERN_PLACEHOLDERS)


def test_a_grid_without_activations_yet_is_an_out_of_date_pane():
    settings = Settings(stale_background=(0.6, 0.1, 0.1))
    panes = _grid(ViewState(), PaneData(), settings)
    assert panes.stale == {"layers"} and _is(panes.images["layers"], (153, 26, 26))


def test_the_individual_boost_reaches_the_grid():
    plain = grid_values(_units(), ViewState(), ModelInfo.create([("conv", 4)], Settings()))
    boosted = grid_values(_units(), ViewState(boost_indiv_idx=4), ModelInfo.create([("conv", 4)], Settings()))
    assert list(plain[:, 0, 0]) == [0, 85, 170, 255] and list(boosted[1:, 0, 0]) == [255, 255, 255]


@pytest.mark.parametrize("frozen, layer, outlined", [(True, 0, True), (False, 0, False), (True, 1, False)])
def test_a_frozen_back_origin_on_this_layer_is_outlined_in_its_colour(frozen, layer, outlined):
    settings = Settings()
    state = ViewState(backprop_selection_frozen=frozen, backprop_layer=layer, backprop_unit=2)
    panes = _grid(state, _units(), settings)
    x, y, w, h = panes.tile_rects[2]
    ring = panes.images["layers"][y - 1:y + h + 1, x - 1:x + w + 1]
    assert (ring == _bytes(settings.layer_clr_back_sel)).all(axis=2).any() == outlined


def test_back_diffs_not_computed_yet_are_tiles_of_the_back_padding_unless_out_of_date():
    settings = Settings(layer_clr_back_background=(0.0, 0.4, 0.0), window_background=(0.4, 0.0, 0.0))
    state = ViewState(layers_show_back=True)
    panes = _grid(state, PaneData(activations=_units().activations), settings)
    assert not panes.stale and panes.grid_shape == (2, 2)
    assert _is(panes.images["layers"][:, :100], _bytes(settings.layer_clr_back_background))
    assert _is(panes.images["layers"][:, 100:], _bytes(settings.window_background)), "outside the grid"
    stale = _grid(state, PaneData(activations=_units().activations, back_stale=True), settings)
    assert stale.stale == {"layers"}


def test_back_diffs_are_padded_in_the_back_padding_colour():
    settings = Settings(layer_clr_back_background=(0.0, 0.4, 0.0))
    data = PaneData(activations=_units().activations, layer_grads=np.ones((4, 2, 2), np.float32))
    panes = _grid(ViewState(layers_show_back=True), data, settings)
    x, y, w, h = panes.tile_rects[0]
    image = panes.images["layers"]
    assert _is(image[y + 1:y + h - 1, x + 1:x + w - 1], GREEN)
    assert _is(image[:y - 1, :x + w], _bytes(settings.layer_clr_back_background))


# --- pattern mode: one picture per unit ---------------------------------------------------------------------

def test_unit_pictures_still_loading_leave_the_grid_out_of_date():
    panes = _grid(ViewState(pattern_mode=True, pattern_source="optimized"), PaneData(sprite=None))
    assert panes.stale == {"layers"}


@pytest.mark.parametrize("source", ["optimized", "max_input"])
def test_units_without_pictures_each_show_the_sources_placeholder(source):
    settings = Settings()
    panes = _grid(ViewState(pattern_mode=True, pattern_source=source), PaneData(sprite=[]), settings)
    assert not panes.stale and panes.grid_shape == (2, 2)
    image = panes.images["layers"]
    tiles_ = [image[y:y + h, x:x + w] for x, y, w, h in panes.tile_rects]
    assert all(np.array_equal(tiles_[0], t) for t in tiles_[1:]), "every unit says the same"
    labels = {"optimized": "no image", "max_input": "no top image"}
    distance = {label: np.abs(tiles_[0].astype(int) - placeholder(tiles_[0].shape[1::-1], label, settings)).mean()
                for label in labels.values()}
    assert min(distance, key=distance.get) == labels[source], "the source's own words"
    assert (tiles_[0] == PLACEHOLDER_BORDER).all(axis=2).any()


def test_unit_pictures_fill_their_tiles_and_missing_ones_say_so():
    picture = _solid(GREEN, 40)
    panes = _grid(ViewState(pattern_mode=True, pattern_source="optimized", cursor_area="bottom"),
                  PaneData(sprite=[picture, None, picture, picture]))
    image = panes.images["layers"]
    x, y, w, h = panes.tile_rects[0]
    assert w == h >= 40 and _is(image[y + 1:y + h - 1, x + 1:x + w - 1], GREEN)
    x, y, w, h = panes.tile_rects[1]
    missing = image[y + 1:y + h - 1, x + 1:x + w - 1]
    assert not _is(missing, missing[0, 0]) and not (missing == GREEN).all(axis=2).any(), "a placeholder"
    x, y, w, h = panes.tile_rects[0]
    assert (image[y - 1, x:x + w] == _bytes(Settings().layer_clr_cursor)).all(), "the selection outlined"
    background = _bytes(Settings().window_background)
    x, y, w, h = panes.tile_rects[3]
    assert (image[y - 1, x:x + w] == background).all(), "other tiles padded in the window's colour"


def _caption_box(montage: np.ndarray, shown: np.ndarray, index: int, scale: int = 1) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the pixels tile ``index``'s caption changed, in tile coordinates."""
    top, left, height, width = (scale * v for v in slot_box(montage.shape, index, 4))
    original = np.repeat(np.repeat(montage, scale, axis=0), scale, axis=1)[top:top + height, left:left + width]
    changed = (shown[top:top + height, left:left + width] != original).any(axis=2)
    ys, xs = np.nonzero(changed)
    assert ys.size, f"tile {index} has no caption"
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1 - height, int(xs.max()) + 1


def test_captions_follow_the_tiles_when_the_montage_is_enlarged():
    scores = (3.25, 2.5, 1.0, -0.5)
    crops = [_solid((90, 180, 120), 30) for _ in scores]
    montage = unit_montage(crops, slots=4, tile=30)
    side = montage.shape[0]
    images = UnitImages(regularized_opt=_solid(RED), max_im=montage, max_deconv=_solid(BLUE), scores=scores, slots=4)
    pane = unit_images_pane(images, (2 * side, 6 * side), Settings(), scores=True)[2 * side:4 * side]
    for index in range(4):
        top, left, bottom, _right = _caption_box(montage, pane, index, scale=2)
        assert left == 0 and bottom == 0, "each caption sits at its own (enlarged) tile's bottom left"


def test_a_caption_is_smaller_on_a_small_tile_and_stays_small_on_a_big_one():
    small = _caption_box(*_captioned_montage((3.25, 2.5, 1.0, 3.25), tile=24), 0)
    big = _caption_box(*_captioned_montage((3.25, 2.5, 1.0, 3.25), tile=160), 0)
    small_h, big_h = -small[0] + 24, -big[0] + 160
    assert small_h < big_h <= 160 // 6, "the text grows with the tile up to a cap"
    assert small[3] < big[3] < 160 // 2
