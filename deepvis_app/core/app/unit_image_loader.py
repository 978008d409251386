"""Loads per-unit images (and pattern-mode sprites) in a background thread, through the cache.

The unit pane asks for the selected unit's images on every repaint; reading three JPEGs from
disk (or computing them on demand) takes far longer than a frame, and a whole-layer sprite of
a wide layer can take a second. So `request` answers only from the cache and otherwise queues
the load; only the latest request of each kind is kept (moving through units quickly never
builds a backlog), and `on_ready(key)` fires in the loader thread when a result is cached:
the GUI must hop to its own thread before repainting. Units with nothing on disk are cached as
an empty `UnitImages`, so they are not looked up again. Pattern mode's tiles come from one of
`state.PATTERN_SOURCES`, cached per source: "optimized" cuts the layer's whole_layer sprite (a tile
that is all black is a unit the pipeline never optimized: it comes back as None); "diversity",
"max_input" and "max_histogram" read each unit's diversity-set montage, top-1 crop or find-max
histogram through the layout (None for a unit without one), shrunk so a wide layer's tiles stay small
in the cache; "weights_histogram" draws each unit's weights (`unit_weights`, from the weights the
request brings: None for every unit of a layer without weights). A layer-level source
(`state.LAYER_PATTERN_SOURCES`) gives one tile, the layer's picture (None when there is none): the
weights' correlation matrix drawn here, or find-max's channels_correlation.png.
An optional second folder (`overlay`: the per-user folder where the app saves images it computed,
`unitvis.optimize_job`) is read too, and a unit image found there wins over the model's; `invalidate`
drops a unit from the cache after such a save, so the new image shows at once.
The thread starts with `start()` (or the first request), never in the constructor.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepvis_app.core.app.state import PATTERN_SOURCES, grid_cols
from deepvis_app.core.app.unit_weights import weight_histograms, weights_correlation_picture
from deepvis_app.core.base.cache import ByteLRUCache
from deepvis_app.core.nn.preprocess import resize_uint8
from deepvis_app.core.unitvis.store import inactive_images
from deepvis_app.core.unitvis.store.unit_layout import UnitImages, UnitVisLayout
from deepvis_app.io.images import ImageReadError, read_image

log = logging.getLogger("deepvis.core.unit_image_loader")

JOIN_TIMEOUT_S = 10.0
BLACK_TILE_MAX = 12  # JPEG noise on an all-black tile stays below this
EMPTY_UNIT_IMAGES = UnitImages(regularized_opt=None, max_im=None, max_deconv=None)
# Per-unit pattern tiles are shrunk so the layer's tiles side by side span at most this many pixels
# (never below / above the two bounds): the grid pane shows them smaller than that anyway.
SPRITE_SIDE_PX = 2048
TILE_PX_BOUNDS = (32, 256)

UnitKey = tuple[str, int]
SpriteKey = tuple[str, str, str, int]
ComputeUnitImages = Callable[[str, int], UnitImages | None]
# The layer's (units, fan_in) incoming weights (`unit_weights.unit_weight_matrix`), None when it has none;
# called in the loader thread, only when the pictures drawn from them are not cached.
WeightsOf = Callable[[], np.ndarray | None]


@dataclass(frozen=True, eq=False)
class SpriteTiles:
    """A layer's whole_layer sprite cut into per-unit tiles (views into one array)."""

    tiles: tuple[np.ndarray | None, ...]
    nbytes: int


def sprite_key(layer: str, count: int, source: str = PATTERN_SOURCES[0]) -> SpriteKey:
    """The cache key (and `on_ready` argument) of a layer's pattern tiles from `source`."""
    if source not in PATTERN_SOURCES:
        raise ValueError(f"unknown pattern source '{source}' (sources: {', '.join(PATTERN_SOURCES)})")
    return ("sprite", source, layer, count)


def tile_bound(count: int) -> int:
    """The largest side (px) of a per-unit pattern tile of a layer with `count` units."""
    low, high = TILE_PX_BOUNDS
    return min(high, max(low, SPRITE_SIDE_PX // grid_cols(count)))


def shrink_to(image: np.ndarray, side: int) -> np.ndarray:
    """`image` with its longer side at most `side` px (aspect kept; a contiguous copy either way)."""
    scale = side / max(image.shape[:2])
    if scale >= 1:
        return np.ascontiguousarray(image).copy()
    return resize_uint8(image, (max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale))))


class UnitImageLoader:
    """Background loader of `UnitImages` keyed by (layer, unit); see the module docstring.

    `compute(layer, unit)` is an optional fallback, called in the loader thread when nothing is
    on disk; its exceptions become messages (`pop_messages`) and the unit counts as empty.
    `synchronous=True` runs every load inline in `request` (same code, for deterministic tests).
    `overlay`: a second folder whose unit images win over `layout`'s (see the module docstring).
    """

    def __init__(self, layout: UnitVisLayout, cache: ByteLRUCache,
                 on_ready: Callable[[Hashable], None] | None = None,
                 compute: ComputeUnitImages | None = None, *, synchronous: bool = False,
                 overlay: UnitVisLayout | None = None, clear_inactive: bool = False):
        self.layout = layout
        self.clear_inactive = clear_inactive   # the clear_negative_activations setting (`inactive_images`)
        self.overlay = overlay if overlay is None or overlay.root != layout.root else None
        self.cache = cache
        self._on_ready = on_ready
        self._compute = compute
        self._synchronous = synchronous
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending_unit: UnitKey | None = None
        self._pending_sprite: tuple[SpriteKey, WeightsOf | None] | None = None
        self._stopping = False
        self._messages: list[str] = []
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the loader thread (idempotent; a synchronous loader has none)."""
        with self._lock:
            if self._synchronous or self._thread is not None or self._stopping:
                return
            self._thread = threading.Thread(target=self._run, name="deepvis-unit-images", daemon=True)
            self._thread.start()

    def request(self, layer: str, unit: int) -> UnitImages | None:
        """The unit's images if cached (possibly empty: nothing found); else queue a load, None."""
        key = (layer, int(unit))
        cached = self.cache.get(key)
        if cached is not None or self._stopping:
            return cached
        if self._synchronous:
            self._load_unit(key)
            return self.cache.get(key)
        with self._lock:
            self._pending_unit = key
        self.start()
        self._wake.set()
        return None

    def request_sprite(self, layer: str, count: int, source: str = PATTERN_SOURCES[0],
                       weights: WeightsOf | None = None) -> list[np.ndarray | None] | None:
        """The layer's first `count` pattern tiles from `source` if cached ([] when the layer has no
        sprite on disk; None for a unit without an image; one tile, the layer's picture, for a layer-level
        source); else queue a load and return None. `weights`: the layer's weights, for the weight sources."""
        key = sprite_key(layer, count, source)
        cached = self.cache.get(key)
        if cached is None and not self._stopping:
            if self._synchronous:
                self._load_sprite(key, weights)
                cached = self.cache.get(key)
            else:
                with self._lock:
                    self._pending_sprite = (key, weights)
                self.start()
                self._wake.set()
        return None if cached is None else list(cached.tiles)

    def invalidate(self, layer: str, unit: int) -> None:
        """Forget the unit's cached images (a new file was saved): the next `request` reads them again,
        and `on_ready` tells the view to ask."""
        self.cache.pop((layer, int(unit)))
        if self._on_ready is not None:
            self._on_ready((layer, int(unit)))

    def pop_messages(self) -> list[str]:
        """Errors from `compute` since the last call."""
        with self._lock:
            messages, self._messages = self._messages, []
        return messages

    def close(self) -> None:
        """Stop the loader thread and join it (a running `compute` is allowed to finish)."""
        with self._lock:
            self._stopping = True
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(JOIN_TIMEOUT_S)

    def __enter__(self) -> UnitImageLoader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the loader thread ------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait()
            self._wake.clear()
            while not self._stopping and self._load_pending_safely():
                pass

    def _load_pending_safely(self) -> bool:
        try:
            return self._load_pending()
        except Exception as exc:  # e.g. a permission error on disk: report, keep the thread alive
            log.exception("loading unit images failed")
            self._message(f"loading unit images failed: {exc}")
            return True

    def _load_pending(self) -> bool:
        """Load one pending request (units first); False when nothing was pending."""
        with self._lock:
            unit, self._pending_unit = self._pending_unit, None
            sprite = None if unit is not None else self._pending_sprite
            if unit is None:
                self._pending_sprite = None
        if unit is not None:
            self._load_unit(unit)
        elif sprite is not None:
            self._load_sprite(*sprite)
        return unit is not None or sprite is not None

    def _load_unit(self, key: UnitKey) -> None:
        if key in self.cache:
            return
        images = self.layout.read_unit_images(*key)
        if self.clear_inactive and images.present():
            images = inactive_images.clear_inactive(self.layout, images, *key)
        if not images.present():
            images = self._computed(key) or EMPTY_UNIT_IMAGES
        self._store(key, self._with_overlay(images, *key))

    def _with_overlay(self, images: UnitImages, layer: str, unit: int) -> UnitImages:
        """``images`` with the overlay folder's images of the unit in place of theirs."""
        if self.overlay is None:
            return images
        mine = self.overlay.read_unit_images(layer, unit)
        newer: dict[str, Any] = {kind: img for kind, img in mine.present() if kind != "max_deconv"
                                 or mine.backprop_kind == images.backprop_kind}
        return dataclasses.replace(images, **newer) if newer else images

    def _computed(self, key: UnitKey) -> UnitImages | None:
        if self._compute is None:
            return None
        try:
            return self._compute(*key)
        except Exception as exc:  # a failing fallback must not end the loader thread
            log.exception("computing unit images for %s:%s failed", key[0], key[1])
            self._message(f"unit images for {key[0]}:{key[1]}: {exc}")
            return None

    def _message(self, text: str) -> None:
        with self._lock:
            self._messages.append(text)

    def _load_sprite(self, key: SpriteKey, weights: WeightsOf | None = None) -> None:
        if key in self.cache:
            return
        _, source, layer, count = key
        tiles: list[np.ndarray | None]
        if source == "optimized":
            tiles = [None if int(tile.max()) <= BLACK_TILE_MAX else tile
                     for tile in self.layout.read_sprite_tiles(layer, count) or []]
        elif source in ("weights_histogram", "weights_correlation"):
            matrix = None if weights is None else weights()
            if matrix is None:
                tiles = [None] * (count if source == "weights_histogram" else 1)
            elif source == "weights_histogram":
                tiles = list(weight_histograms(matrix[:count], tile_bound(count)))
            else:
                tiles = [weights_correlation_picture(matrix[:count], layer)]
        elif source == "activations_correlation":
            tiles = [self._first_on_disk(lambda layout: self._read_picture(layout.channels_correlation(layer)))]
        else:
            side = tile_bound(count)
            tiles = [None if (img := self._unit_tile(source, layer, unit)) is None else shrink_to(img, side)
                     for unit in range(count)]
        self._store(key, SpriteTiles(tuple(tiles), sum(tile.nbytes for tile in tiles if tile is not None)))

    def _unit_tile(self, source: str, layer: str, unit: int) -> np.ndarray | None:
        """The unit's diversity set, top-1 crop or max-activation histogram, the overlay folder's first
        (as for the unit pane)."""
        if source == "diversity":
            return self._first_on_disk(lambda layout: layout.read_diversity_set(layer, unit))
        if source == "max_histogram":
            return self._first_on_disk(lambda layout: self._read_picture(layout.max_histogram(layer, unit)))
        return self._first_on_disk(lambda layout: layout.read_top_crop(layer, unit))

    def _first_on_disk(self, read: Callable[[UnitVisLayout], np.ndarray | None]) -> np.ndarray | None:
        for layout in (self.overlay, self.layout):
            if layout is not None and (found := read(layout)) is not None:
                return found
        return None

    def _read_picture(self, path: Path) -> np.ndarray | None:
        """A picture find-max wrote, None when absent; one that cannot be read is reported, not raised."""
        if not path.is_file():
            return None
        try:
            return read_image(path)
        except ImageReadError as exc:
            self._message(f"pattern mode: cannot read {path}: {exc}")
            return None

    def _store(self, key: Hashable, value: object) -> None:
        self.cache.put(key, value)
        if self._on_ready is not None:
            self._on_ready(key)
