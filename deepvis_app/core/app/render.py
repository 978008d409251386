"""The drawing under the panes: uint8 HxWx3 images at the size the window gave.

Runs in the render thread (`core.app.render_result`) on the data of a forward/backward, numpy arrays
only, so the UI thread just blits. `core.panes` declares which panes exist and draws each with these
pieces: the input as the network sees it, the unit grid (or its zoomed forms) with the selection
borders, the per-unit images column, and a labelled placeholder for any image that is not on disk (a
unit never optimized, say), never a black tile. The status line is `core.app.status`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from deepvis_app.core.app.state import LAYER_PATTERN_SOURCES, ModelInfo, ViewState, ZoomMode
from deepvis_app.core.app.status import LayerGeometry
from deepvis_app.core.imaging import tiles
from deepvis_app.core.imaging.display import back_view
from deepvis_app.core.imaging.output_overlay import OutputOverlay
from deepvis_app.core.nn.pairs import frame_size, shown_part
from deepvis_app.core.nn.preprocess import center_crop_to_aspect
from deepvis_app.core.unitvis.store.montage import montage_side, slot_box
from deepvis_app.core.unitvis.store.unit_layout import UnitImages
from deepvis_app.settings.defaults import Settings

# A line of text drawn over a pane, with a value in [0, 1] that sets its colour (a probability).
TextLine = tuple[str, float]


@dataclass
class PaneData:
    """What the panes are drawn from (numpy only; None where not computed)."""

    frame: np.ndarray | None = None          # the input frame at its own size
    frame_seq: int | None = None             # its number in its source
    fitted: np.ndarray | None = None         # the network's input image (uint8)
    activations: np.ndarray | None = None    # current layer's output, (C,) or (C, H, W)
    layer_grads: np.ndarray | None = None    # back diffs at the current layer
    input_grad: np.ndarray | None = None     # back signal at the input (C, H, W)
    back_stale: bool = False                 # input_grad, if any, is a partial map
    sprite: list[np.ndarray | None] | None = None  # pattern-mode tiles of the state's pattern source
    #                                               ([] none on disk, None loading; a None tile: that unit
    #                                               has no image; a layer-level source: one tile, the
    #                                               layer's picture)
    unit_images: UnitImages | None = None    # selected unit's images (None: loading)
    unit_images_wanted: bool = False
    top_labels: tuple[TextLine, ...] = ()    # the best classes: (label, probability)
    faithfulness: tuple[float, float] | None = None  # deletion / insertion AUC of the back map
    unit_class: tuple[str, float | None] | None = None  # the selected unit's (label, probability)
    #                                                     on a label layer, cursor in the grid
    layer_geometry: LayerGeometry | None = None  # the current layer's shape and receptive field
    overlay: OutputOverlay | None = None     # what the input pane draws of the output: mask, boxes, region


@dataclass
class Panes:
    """The drawn panes and the grid geometry of images["layers"]."""

    images: dict[str, np.ndarray] = field(default_factory=dict)
    stale: set[str] = field(default_factory=set)
    grid_shape: tuple[int, int] = (1, 1)
    tile_rects: tuple[tuple[int, int, int, int], ...] = ()
    aux_mode: str = "labels"                 # "labels" (top-5), "unit" (enlarged), "class" (its label)
    text: dict[str, tuple[TextLine, ...]] = field(default_factory=dict)
    input_scale: float = 1.0                 # input pixels -> pixels of images["input"]


@dataclass(frozen=True)
class RenderContext:
    """What every pane's render function reads (the grid colours and back image are shared)."""

    data: PaneData
    state: ViewState
    info: ModelInfo
    settings: Settings
    values: np.ndarray | None     # `grid_values`
    back: np.ndarray | None       # `back_image`


# Draws one pane at (width, height) into `Panes` (images, stale marks, text).
PaneRenderer = Callable[[RenderContext, tuple[int, int], "Panes"], None]


def blank(size: tuple[int, int], color: tuple[float, float, float]) -> np.ndarray:
    """A read-only (width, height) pane filled with ``color`` (RGB in [0, 1]); cached."""
    return _blank((int(size[0]), int(size[1])), tuple(float(c) for c in color))


@lru_cache(maxsize=32)
def _blank(size: tuple[int, int], color: tuple[float, ...]) -> np.ndarray:
    pane = np.empty((max(size[1], 1), max(size[0], 1), 3), dtype=np.uint8)
    pane[:] = np.rint(np.asarray(color) * 255).astype(np.uint8)
    pane.flags.writeable = False
    return pane


def input_pane(frame: np.ndarray, settings: Settings, stretch: bool, size: tuple[int, int],
               pair_view: str = "both") -> tuple[np.ndarray, float]:
    """(The frame as the network sees it (centre crop unless stretched) at pane resolution, the scale from
    input pixels to pane pixels); of a two-input network's pair, the ``pair_view`` part."""
    height, width = frame_size(settings.input_size, settings.two_inputs)
    if stretch:
        scale = tiles.fit_scale((height, width), size)
        shown = cv2.resize(frame, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
    else:
        shown = center_crop_to_aspect(frame, width / height)
    if settings.two_inputs and pair_view != "both":
        shown, width = shown_part(shown, pair_view), width // 2
    pane, scale = tiles.fit_to_pane(shown, size, settings.window_background)
    return pane, scale * shown.shape[1] / width


def back_image(data: PaneData, state: ViewState, settings: Settings) -> np.ndarray | None:
    """The back signal through the current view filter (uint8 at input resolution), or None."""
    if data.input_grad is None:
        return None
    signal, image = data.input_grad, data.fitted
    if settings.two_inputs:
        signal = shown_part(signal, state.pair_view, axis=2)
        image = None if image is None else shown_part(image, state.pair_view)
    return back_view(signal, state.back_view, image=image, blur_sigma=settings.grad_norm_blur_radius,
                     colormap=state.colormap)


def grid_values(data: PaneData, state: ViewState, info: ModelInfo) -> np.ndarray | None:
    """The current layer's tiles (`tiles.layer_values`): activations gray, or back diffs in colour."""
    source = data.layer_grads if state.layers_show_back else data.activations
    if source is None:
        return None
    return tiles.layer_values(source, state.layers_show_back, state.boost_indiv(info), state.boost_gamma(info))


def layers_pane(data: PaneData, state: ViewState, info: ModelInfo, settings: Settings,
                size: tuple[int, int], values: np.ndarray | None, back: np.ndarray | None, panes: Panes) -> None:
    """The unit grid (or its zoomed forms) into ``panes``."""
    background = settings.window_background
    if state.layers_pane_zoom_mode is ZoomMode.BACK and back is not None:
        panes.images["layers"] = tiles.fit_to_pane(back, size, background)[0]
        return
    if state.layers_pane_zoom_mode is ZoomMode.UNIT and values is not None:
        unit = values[min(state.selected_unit, len(values) - 1)]
        panes.images["layers"] = tiles.fit_to_pane(unit, size, background)[0]
        return
    if state.pattern_mode and state.pattern_source in LAYER_PATTERN_SOURCES:
        _layer_picture(data, state, settings, size, panes)
        return
    mosaic = _grid_mosaic(data, state, info, settings, size, values, panes)
    if mosaic is None:
        panes.images["layers"] = blank(size, settings.stale_background)
        panes.stale.add("layers")
        return
    image, scale = tiles.fit_to_pane(mosaic.image, size, background)
    panes.images["layers"] = image
    panes.grid_shape = mosaic.grid_shape
    panes.tile_rects = tiles.scaled_rects(mosaic.tile_rects, scale)


def _layer_picture(data: PaneData, state: ViewState, settings: Settings, size: tuple[int, int],
                   panes: Panes) -> None:
    """A layer-level pattern source: its one picture fitted to the pane (no tiles: a click selects nothing),
    a labelled placeholder when there is none."""
    if data.sprite is None:
        panes.images["layers"] = blank(size, settings.stale_background)
        panes.stale.add("layers")
        return
    picture = data.sprite[0] if data.sprite else None
    if picture is None:
        panes.images["layers"] = placeholder(size, PATTERN_PLACEHOLDERS[state.pattern_source], settings)
    else:
        panes.images["layers"] = tiles.fit_to_pane(picture, size, settings.window_background)[0]


def _grid_mosaic(data: PaneData, state: ViewState, info: ModelInfo, settings: Settings,
                 size: tuple[int, int], values: np.ndarray | None, panes: Panes) -> tiles.Mosaic | None:
    count = info.units[state.layer_idx]
    cols = info.cols[state.layer_idx]
    highlights = tiles.selection_highlights(
        count, state.selected_unit if state.in_grid else None,
        state.backprop_unit if state.backprop_selection_frozen and state.backprop_layer == state.layer_idx else None,
        settings.layer_clr_cursor, settings.layer_clr_back_sel)
    if state.pattern_mode:
        if data.sprite is None:             # still loading
            panes.stale.add("layers")
            return None
        side = max(4, min(size) // cols - 2)
        label = PATTERN_PLACEHOLDERS[state.pattern_source]
        sprite = data.sprite or [None] * count     # nothing on disk: every unit says so (not stale: final)
        images = [img if img is not None else placeholder((side, side), label, settings)
                  for img in sprite[:count]]
        return tiles.make_mosaic(tiles.as_uint8(tiles.pattern_tiles(images, side)), cols,
                                 settings.window_background, highlights)
    pad = settings.layer_clr_back_background if state.layers_show_back else settings.window_background
    if values is None:
        if state.layers_show_back and not data.back_stale:
            values = np.zeros((count, 1, 1, 3), np.float32) + np.asarray(pad, np.float32)
        else:
            return None
    return tiles.make_mosaic(tiles.as_uint8(tiles.fc_squares(values)), cols, pad, highlights)


# The placeholder of a unit (a layer, for `state.LAYER_PATTERN_SOURCES`) without an image, per pattern source.
PATTERN_PLACEHOLDERS = {"optimized": "no image", "diversity": "no diversity set", "max_input": "no top image",
                        "weights_histogram": "no weights", "max_histogram": "no histogram",
                        "weights_correlation": "no weights",
                        "activations_correlation": "no channels_correlation.png (find-max --summaries)"}
UNIT_IMAGE_LABELS = {"regularized_opt": "no optimized image", "max_im": "no top-9 images",
                     "max_deconv": "no deconv images"}


def placeholder(size: tuple[int, int], label: str, settings: Settings) -> np.ndarray:
    """A read-only (width, height) tile saying ``label``: what stands for an image not on disk (cached)."""
    return _placeholder((max(1, int(size[0])), max(1, int(size[1]))), label, tuple(settings.window_background))


@lru_cache(maxsize=64)
def _placeholder(size: tuple[int, int], label: str, background: tuple[float, ...]) -> np.ndarray:
    width, height = size
    tile = np.empty((height, width, 3), np.uint8)
    tile[:] = np.rint(np.asarray(background) * 255 * 1.4).clip(0, 255).astype(np.uint8)
    grey = (150, 150, 150)
    cv2.rectangle(tile, (0, 0), (width - 1, height - 1), grey, 1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    (text_w, text_h), _ = cv2.getTextSize(label, font, 1.0, 1)
    scale = min(0.5, 0.9 * width / max(text_w, 1), 0.5 * height / max(text_h, 1))
    if scale >= 0.2:
        (text_w, text_h), _ = cv2.getTextSize(label, font, scale, 1)
        cv2.putText(tile, label, ((width - text_w) // 2, (height + text_h) // 2), font, scale, grey, 1, cv2.LINE_AA)
    else:
        cv2.line(tile, (0, 0), (width - 1, height - 1), grey, 1)
        cv2.line(tile, (0, height - 1), (width - 1, 0), grey, 1)
    tile.flags.writeable = False
    return tile


_last_unit_pane: list[tuple[UnitImages, tuple[int, int], bool, bool, np.ndarray]] = []   # render thread only


def unit_images_pane(images: UnitImages, size: tuple[int, int], settings: Settings,
                     scores: bool = False) -> np.ndarray:
    """regularized-opt, top-9 max images and their deconvs stacked vertically (side by side when
    `settings.unit_images_stack_vertical` is False), a labelled placeholder for each one not on disk;
    ``scores``: each top image captioned with its find-max value (arik's score overlays). The last pane
    is reused while the unit, size and arrangement stay."""
    vertical = settings.unit_images_stack_vertical
    if _last_unit_pane and _last_unit_pane[0][0] is images and _last_unit_pane[0][1:4] == (size, vertical, scores):
        return _last_unit_pane[0][4]
    width, height = size
    background = settings.window_background
    pane = blank(size, background).copy()
    slot_w, slot_h = (width, height // 3) if vertical else (width // 3, height)
    slots = UNIT_IMAGE_LABELS.items() if min(slot_w, slot_h) > 0 else ()   # a pane under 3 px: background
    for index, (kind, label) in enumerate(slots):
        img = getattr(images, kind)
        if img is None:                                # a 2:1 box, as large as the slot holds
            box_w = min(slot_w, 2 * slot_h)
            img = placeholder((box_w, box_w // 2), label, settings)
        part, scale = tiles.fit_to_pane(img, (slot_w, slot_h), background)
        if scores and kind == "max_im" and images.max_im is not None and images.scores:
            part = _captioned(part, images.max_im.shape, images.scores, images.slots, scale)
        x, y = (0, index * slot_h) if vertical else (index * slot_w, 0)
        pane[y:y + slot_h, x:x + slot_w] = part
    pane.flags.writeable = False
    _last_unit_pane[:] = [(images, size, vertical, scores, pane)]
    return pane


def _captioned(part: np.ndarray, montage_shape: tuple[int, ...], scores: tuple[float, ...], slots: int,
               scale: float) -> np.ndarray:
    """The fitted top-image montage with each tile's score at its bottom left (white on a dark band);
    unchanged when the montage's grid cannot be told from its shape."""
    side = montage_side(montage_shape, (slots, len(scores)))
    if side is None:
        return part
    out = part.copy()
    font = cv2.FONT_HERSHEY_SIMPLEX
    for index, value in enumerate(scores[:side * side]):
        top, left, height, width = (int(v * scale) for v in slot_box(montage_shape, index, side * side))
        text = f"{value:.2f}"
        size = max(0.3, min(0.6, height / 80))
        (text_w, text_h), base = cv2.getTextSize(text, font, size, 1)
        band = out[max(top, top + height - text_h - base - 2):top + height, left:left + min(width, text_w + 4)]
        band[:] = band // 3
        cv2.putText(out, text, (left + 2, top + height - base - 1), font, size, (255, 255, 255), 1, cv2.LINE_AA)
    return out
