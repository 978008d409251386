"""The Qt-free session the window drives: keys in, `Result`s out (the contract is helpers/GUI_SEAM.md).

The window calls `handle_key`, `click`, `set_pane_sizes`; each changes the frozen `ViewState`
(through the pure actions of `core.actions`) or the input, then posts a request (state +
generation) to the compute thread and returns at once: no public method runs torch, so the UI
thread never waits on the model. The compute thread answers with a `Result` holding every pane
as a read-only uint8 image plus the text the window draws. `sync=True` runs the same compute
inline in `process_pending()`, for deterministic tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepvis_app.core.actions import SESSION_ACTIONS, apply_action, select_layer, select_unit
from deepvis_app.core.attribution import ATTRIBUTION_METHODS
from deepvis_app.core.backprop import BACKPROP_METHODS
from deepvis_app.core.cache import ByteLRUCache
from deepvis_app.core.display import BACK_VIEWS, COLORMAPS
from deepvis_app.core.layers import LayerInfo
from deepvis_app.core.model import LoadedModel
from deepvis_app.core.render import DEFAULT_PANE_SIZES, PaneData, Panes, render_panes, status_line
from deepvis_app.core.state import ModelInfo, ViewState, initial_state
from deepvis_app.core.unit_image_loader import UnitImageLoader
from deepvis_app.core.unitvis.layout import UnitVisLayout
from deepvis_app.core.worker import ComputeEngine, PaneSource, Worker, unit_compute
from deepvis_app.keymap import help_rows, key_index
from deepvis_app.settings.defaults import Settings

PANE_IMAGES = ("input", "layers", "aux", "back", "unit_images")
FIRST_FRAME_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class LayerEntry:
    """One entry of the control strip (layer list)."""

    name: str
    pretty: str
    selected: bool
    back_origin: bool


@dataclass(frozen=True)
class Result:
    """Everything the window shows; arrays are read-only uint8 HxWx3 (see GUI_SEAM.md)."""

    generation: int
    images: dict[str, np.ndarray]
    stale: frozenset[str]
    layers: tuple[LayerEntry, ...]
    cursor_on_layer_list: bool
    top_labels: tuple[tuple[str, float], ...]
    aux_mode: str
    status: str
    message: str | None
    help_lines: tuple[tuple[str, str], ...] | None
    show_unit_images: bool
    grid_shape: tuple[int, int]
    tile_rects: tuple[tuple[int, int, int, int], ...]


@dataclass(frozen=True)
class Request:
    """What the compute thread renders: a view state, the pane sizes, a generation number."""

    generation: int
    state: ViewState
    sizes: tuple[tuple[str, tuple[int, int]], ...]


def unit_vis_root(settings: Settings) -> Path | None:
    """The per-unit image folder: unit_vis_dir, else <model_dir>/unit_vis."""
    if settings.unit_vis_dir:
        return Path(settings.unit_vis_dir)
    return Path(settings.model_dir) / "unit_vis" if settings.model_dir else None


class Session:
    """The app without its window (see the module docstring and GUI_SEAM.md)."""

    def __init__(self, loaded: LoadedModel, settings: Settings, inputs, *, sync: bool = False):
        self.loaded, self.settings, self.inputs, self.sync = loaded, settings, inputs, sync
        self.info = ModelInfo.create([(i.name, i.shape[0]) for i in loaded.layers], settings,
                                     back_methods=BACKPROP_METHODS + ATTRIBUTION_METHODS,
                                     back_views=BACK_VIEWS, colormaps=COLORMAPS)
        self.state: ViewState = initial_state(self.info)
        self.should_quit = False
        self._keys = key_index(settings.key_overrides)
        self._lock = threading.Lock()
        self._generation = 0
        self._sizes = dict(DEFAULT_PANE_SIZES)
        self._result: Result | None = None
        self._on_result: Callable[[], None] | None = None
        self._pending: Request | None = None
        self._last_request: Request | None = None
        self._message: str | None = "h for help"
        self._pretty = [info.pretty for info in loaded.layers]
        model_lock = threading.Lock()
        self._closing = threading.Event()
        self.engine = ComputeEngine(loaded, model_lock)
        root = unit_vis_root(settings)
        # No folder (a torchvision model without model_dir): a path that holds nothing, so every read misses.
        self.loader = UnitImageLoader(UnitVisLayout(root or Path("/nonexistent-unit-vis")),
                                      ByteLRUCache(settings.jpg_cache_mib << 20), self._on_unit_images,
                                      unit_compute(loaded, settings, model_lock, self._closing),
                                      synchronous=sync)
        self._source = PaneSource(self.engine, inputs, self.loader, self.info, settings)
        self._worker = Worker(self._compute, self._deliver, self._source.frame_changed)
        self._post()

    # --- the window's calls (never run torch) ---------------------------------------------------------
    def start(self) -> None:
        """Start the compute thread (no-op in sync mode)."""
        if not self.sync:
            self._worker.start()

    def stop(self) -> None:
        """Stop and join every thread the session uses: compute, unit-image loader, inputs."""
        self._closing.set()
        self._worker.stop()
        self.loader.close()
        self.inputs.close()

    def set_pane_sizes(self, sizes: dict[str, tuple[int, int]]) -> None:
        """(width, height) device pixels per pane; panes are rendered at these sizes."""
        with self._lock:
            self._sizes.update({k: (max(1, int(w)), max(1, int(h))) for k, (w, h) in sizes.items()})
        self._post()

    def handle_key(self, key: str) -> bool:
        """Run the action bound to ``key``; False when the key is not bound."""
        action = self._keys.get(key)
        if action is None:
            return False
        if action == "quit":
            self.should_quit = True
            return True
        if action in SESSION_ACTIONS:
            getattr(self.inputs, action)()
        else:
            self.state = apply_action(action, self.state, self.info)
        self._post()
        return True

    def click(self, pane: str, x: float, y: float) -> None:
        """A click in the grid selects the tile under it; pane "control": x is the layer index."""
        if pane == "control":
            self.select_layer(int(x))
            return
        unit = self._unit_at(x, y) if pane == "layers" else None
        if unit is not None:
            self.state = select_unit(self.state, self.info, unit)
            self._post()

    def select_layer(self, index: int) -> None:
        self.state = select_layer(self.state, self.info, index)
        self._post()

    def hover_text(self, x: float, y: float) -> str | None:
        """"unit 12  max 3.41  label" for the tile under (x, y) of images["layers"], else None."""
        unit = self._unit_at(x, y)
        if unit is None:
            return None
        text = f"unit {unit}"
        maxima = self._source.unit_max
        if maxima is not None and maxima[0] == self.state.layer_idx and unit < len(maxima[1]):
            text += f"  max {maxima[1][unit]:.2f}"
        if self.info.layers[self.state.layer_idx] == self.loaded.output_layer:
            text += f"  {self.loaded.label(unit)}"
        return text

    def open_paths(self, paths: list[str]) -> None:
        self.inputs.open_paths(list(paths))
        self._post()

    def set_on_result(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs in the compute thread whenever a new Result is ready."""
        self._on_result = callback

    @property
    def generation(self) -> int:
        """The generation of the latest posted request (a Result with it reflects every key so far)."""
        with self._lock:
            return self._generation

    def idle(self) -> bool:
        """Every posted request has its Result and nothing is pending or computing (screenshots)."""
        result = self.latest_result()
        with self._lock:
            answered = result is not None and result.generation >= self._generation
            pending = self._pending is not None
        return answered and not pending and not self._worker.busy

    def latest_result(self) -> Result | None:
        with self._lock:
            return self._result

    def process_pending(self) -> None:
        """Sync mode: compute the pending request inline (waiting for the first frame)."""
        with self._lock:
            request, self._pending = self._pending, None
        if request is None and self._source.frame_changed():
            request = self._last_request
        if request is not None:
            if self.inputs.latest() is None:
                self.inputs.wait_for_frame(timeout=FIRST_FRAME_TIMEOUT_S)
            self._deliver(self._compute(request))

    # --- plumbing -------------------------------------------------------------------------------------
    def _post(self) -> None:
        with self._lock:
            self._generation += 1
            request = Request(self._generation, self.state, tuple(sorted(self._sizes.items())))
            self._last_request = request
            if self.sync:
                self._pending = request
        if not self.sync:
            self._worker.post(request)

    def _on_unit_images(self, _key: object) -> None:
        if not self.sync:
            self._post()

    def _unit_at(self, x: float, y: float) -> int | None:
        result = self.latest_result()
        if result is None:
            return None
        for unit, (left, top, width, height) in enumerate(result.tile_rects):
            if left <= x < left + width and top <= y < top + height:
                return unit
        return None

    def _deliver(self, result: Result) -> None:
        with self._lock:
            if self._result is not None and result.generation < self._result.generation:
                return
            self._result = result
        if self._on_result is not None:
            self._on_result()

    def _compute(self, request: Request) -> Result:
        timings: dict[str, float] = {}
        try:
            data, labels = self._source.gather(request.state, timings, self._early(request))
            return self._render(request, data, labels, timings)
        except Exception as exc:  # the loop keeps running; the error goes to the status line
            self._message = f"error: {type(exc).__name__}: {exc}"
            return self._error_result(request)

    def _render(self, request: Request, data: PaneData, labels: tuple, timings: dict[str, float]) -> Result:
        start = time.perf_counter()
        panes = render_panes(data, request.state, self.info, self.settings, dict(request.sizes))
        timings["render"] = time.perf_counter() - start
        self._collect_messages(data, request.state)
        return self._result_from(request, panes, labels, timings)

    def _early(self, request: Request) -> Callable[[PaneData], None]:
        """Delivers a result with the back pane stale before a slow attribution method runs."""
        def deliver(data: PaneData) -> None:
            self._deliver(self._render(request, data, (), {}))
        return deliver

    def _collect_messages(self, data: PaneData, state: ViewState) -> None:
        messages = self.inputs.pop_messages() + self.loader.pop_messages()
        if state.pattern_mode and data.sprite == []:
            layer = self.info.layers[state.layer_idx]
            messages.append(f"no pattern images for {layer} (regularized_opt/{layer}/whole_layer.jpg)")
        if messages:
            self._message = messages[-1]

    def _result_from(self, request: Request, panes: Panes, labels: tuple, timings: dict[str, float]) -> Result:
        state = request.state
        images = {name: _read_only(img) for name, img in panes.images.items()}
        return Result(
            generation=request.generation, images=images, stale=frozenset(panes.stale),
            layers=layer_entries(self.loaded.layers, state), cursor_on_layer_list=state.cursor_area == "top",
            top_labels=labels if (panes.aux_mode == "labels" and state.show_label_predictions) else (),
            aux_mode=panes.aux_mode,
            status=status_line(state, self.info, self._pretty, self._source.fps(), self._message,
                               timings if state.debug_level else None),
            message=self._message, help_lines=tuple(help_rows(self.settings.key_overrides)) if state.show_help
            else None, show_unit_images=state.show_unit_jpgs, grid_shape=panes.grid_shape,
            tile_rects=panes.tile_rects)

    def _error_result(self, request: Request) -> Result:
        previous = self.latest_result()
        state = request.state
        return Result(request.generation, previous.images if previous else {}, frozenset(),
                      layer_entries(self.loaded.layers, state), state.cursor_area == "top", (), "labels",
                      status_line(state, self.info, self._pretty, self._source.fps(), self._message), self._message,
                      None, state.show_unit_jpgs, previous.grid_shape if previous else (1, 1),
                      previous.tile_rects if previous else ())


def layer_entries(layers: list[LayerInfo], state: ViewState) -> tuple[LayerEntry, ...]:
    """The control strip: every layer, the current one selected, the frozen origin's layer marked."""
    return tuple(LayerEntry(info.name, info.pretty, index == state.layer_idx,
                            state.backprop_selection_frozen and index == state.backprop_layer)
                 for index, info in enumerate(layers))


def _read_only(image: np.ndarray) -> np.ndarray:
    image = np.ascontiguousarray(image)
    image.flags.writeable = False
    return image
