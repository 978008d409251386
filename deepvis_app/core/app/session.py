"""The Qt-free session the window drives: keys in, `Result`s out.

The window calls `handle_key`, `click`, `set_pane_sizes`; each changes the frozen `ViewState`
(through the pure actions of `core.actions`) or the input, then posts a request (state +
generation) to the compute `Worker` and returns at once: no public method runs torch, so the UI
thread never waits on the model. The compute thread gathers the panes' data (forward, backward) and
hands a drawing to a second worker, the render thread, which draws every pane as a read-only uint8
image plus the text the window draws (a `Result`, `core.result`) while the compute thread already runs the next
frame's forward: drawing (about 10 ms for a wide layer's grid) no longer lowers the frame rate. Both
are latest-wins mailboxes, so a slow drawing skips to the newest data. A slow method sends partial
results first. A new frame or newly loaded unit images make the worker run the last request again.
The optimize-unit key starts a background `OptimizeJob` for the selected unit (pressing it again
cancels it; moving on to other layers and units does not: the job names its unit in the status
line, and its image is saved for when the user comes back); its progress is in the status line.

``sync=True`` runs the same two workers inline (in the thread that posts), for deterministic tests:
the window cannot tell. Threads (compute, render, unit-image loader) start in `start()`, never here.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deepvis_app.core.app.actions import JOB_ACTIONS, SESSION_ACTIONS, apply_action, select_layer, select_unit
from deepvis_app.core.app.engine import ComputeEngine
from deepvis_app.core.app.pane_source import PaneSource
from deepvis_app.core.app.panes import DEFAULT_PANE_SIZES, hidden_panes, render_panes
from deepvis_app.core.app.render import (
    LayerGeometry,
    MethodProgress,
    PaneData,
    Panes,
    status_line,
)
from deepvis_app.core.app.result import Result, StatusMessages, input_status, layer_entries
from deepvis_app.core.app.state import ModelInfo, ViewState, initial_state
from deepvis_app.core.app.unit_class import label_layers, unit_class
from deepvis_app.core.app.unit_compute import unit_compute
from deepvis_app.core.app.unit_image_loader import UnitImageLoader
from deepvis_app.core.app.worker import Worker
from deepvis_app.core.base.cache import ByteLRUCache
from deepvis_app.core.base.notices import pop_notices
from deepvis_app.core.base.progress import CancelToken
from deepvis_app.core.imaging.display import BACK_VIEWS, COLORMAPS
from deepvis_app.core.imaging.output_overlay import box_at, drag_region
from deepvis_app.core.methods.registry import METHOD_NAMES, METHODS, check_method_settings, settings_options
from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.core.nn.outputs import head_or_plain
from deepvis_app.core.unitvis.findmax.crops import unit_backprop_kind
from deepvis_app.core.unitvis.optimize.job import (
    OptimizeJob,
    can_write,
    check_optimize_settings,
    user_unit_vis_root,
)
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout, unit_vis_root
from deepvis_app.io.image_arrays import read_only
from deepvis_app.io.sources import Frame, InputManager
from deepvis_app.keymap import help_rows, key_index
from deepvis_app.settings.defaults import Settings

FIRST_FRAME_TIMEOUT_S = 10.0
# What the compute thread hands the render thread: `_render` or `_error_result` with its request first.
Drawing = functools.partial

log = logging.getLogger("deepvis.session")


@dataclass(frozen=True)
class Request:
    """What the compute thread renders: a view state, the pane sizes, a generation number."""

    generation: int
    state: ViewState
    sizes: tuple[tuple[str, tuple[int, int]], ...]


class Session:
    """The app without its window (see the module docstring)."""

    def __init__(self, loaded: LoadedModel, settings: Settings, inputs: InputManager, *, sync: bool = False):
        check_method_settings(settings.method_options)
        self._optimize_config = check_optimize_settings(settings)
        self.loaded, self.settings, self.inputs, self.sync = loaded, settings, inputs, sync
        self.info = ModelInfo.create([(i.name, i.shape[0]) for i in loaded.layers], settings,
                                     back_methods=METHOD_NAMES, back_views=BACK_VIEWS, colormaps=COLORMAPS)
        self.state: ViewState = initial_state(self.info)
        self.should_quit = False
        self._keys = key_index(settings.key_overrides)
        self._help = tuple(help_rows(settings.key_overrides, METHOD_NAMES))
        self._lock = threading.Lock()
        self._generation = 0
        self._sizes = dict(DEFAULT_PANE_SIZES)
        self._result: Result | None = None
        self._on_result: Callable[[], None] | None = None
        self._messages = StatusMessages(" · ".join(["h for help", *getattr(loaded, "notes", ()),
                                                    *head_or_plain(loaded.module).hints()]))
        self._pretty = [info.pretty for info in loaded.layers]
        self._label_layers = label_layers(loaded)
        self._closing = threading.Event()
        self._started = False
        model_lock = threading.Lock()
        self.engine = ComputeEngine(loaded, model_lock)
        self._model_lock = model_lock
        self._unit_vis_root = unit_vis_root(settings)
        kind = unit_backprop_kind(loaded)
        # Images the app optimized where the model's folder is read-only (`optimize_job`).
        self.user_layout = UnitVisLayout(user_unit_vis_root(settings.model), kind)
        self._job: OptimizeJob | None = None
        # No folder (a torchvision model without model_dir): a path that holds nothing, so every read misses.
        self.loader = UnitImageLoader(UnitVisLayout(self._unit_vis_root or Path("/nonexistent-unit-vis"), kind),
                                      ByteLRUCache(settings.jpg_cache_mib << 20), self._on_unit_images,
                                      unit_compute(loaded, settings, model_lock, self._closing),
                                      synchronous=sync, overlay=self.user_layout,
                                      clear_inactive=settings.clear_negative_activations)
        options = {m.name: settings_options(m, settings.method_options) for m in METHODS}
        self._source = PaneSource(self.engine, inputs, self.loader, self.info, settings, options)
        self._renderer: Worker[Drawing, Result] = Worker(lambda draw, _token: draw(), self._deliver,
                                                         self._drawing_failed, inline=sync, name="deepvis-render")
        self._worker: Worker[Request, Drawing] = Worker(self._compute, self._renderer.post, self._error_drawing,
                                                        inline=sync)

    # --- the window's calls (never run torch, except inline in sync mode) ------------------------------
    def start(self) -> None:
        """Start the threads (compute, unit-image loader), listen to the inputs, post the first request."""
        if self._started:
            return
        self._started = True
        self.inputs.add_frame_listener(self._on_frame)
        if not self.sync:   # a message with no frame after it (a missing camera) still reaches the status line
            self.inputs.add_message_listener(self._worker.invalidate)
        self.loader.start()
        self._renderer.start()
        self._worker.start()
        self._post()

    def stop(self) -> None:
        """Stop and join every thread the session uses: compute, unit-image loader, inputs, the
        optimize job (cancelled: it stops after its current step)."""
        self._closing.set()
        job = self._job
        if job is not None:
            job.cancel()
        self._worker.stop()
        self._renderer.stop()
        self.loader.close()
        self.inputs.close()
        if job is not None and not job.join():
            log.warning("the optimize job did not stop in time")

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
        if action in JOB_ACTIONS:
            self.toggle_optimize()
        elif action in SESSION_ACTIONS:
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
        if pane == "input":
            self._click_input(x, y)
            return
        unit = self._unit_at(x, y) if pane == "layers" else None
        if unit is not None:
            self.state = select_unit(self.state, self.info, unit)
            self._post()

    def _click_input(self, x: float, y: float) -> None:
        """A click on a detection box (input-pane pixels) selects the output unit that explains it."""
        result = self.latest_result()
        unit = None if result is None else box_at(result.overlay, x / result.input_scale, y / result.input_scale)
        if unit is not None:
            self._select_output_unit(unit)

    def drag(self, pane: str, x0: float, y0: float, x1: float, y1: float) -> None:
        """A drag on the input pane (its pixels) sets a dense model's region (`output_overlay.drag_region`)
        and selects the output unit of the class most predicted in it; a tiny drag clears the region."""
        result = self.latest_result()
        if pane != "input" or result is None or self.engine.head.kind != "dense":
            return
        region, unit = drag_region(result.overlay, (x0, y0, x1, y1), result.input_scale,
                                   self.loaded.settings.input_size)
        self.state = self.state.replace(target_region=region)
        self._select_output_unit(unit) if unit is not None else self._post()

    def _select_output_unit(self, unit: int) -> None:
        """The output head's layer, its ``unit`` selected (and so the back origin, unless frozen)."""
        name = self.engine.head.name
        index = self.info.layers.index(name) if name in self.info.layers else len(self.info.layers) - 1
        self.state = select_unit(select_layer(self.state, self.info, index), self.info, unit)
        self._post()

    @property
    def optimize_job(self) -> OptimizeJob | None:
        """The latest optimize job (running or ended), None before the first."""
        return self._job

    def toggle_optimize(self) -> None:
        """Start optimizing the selected unit in the background, or cancel the job that is running."""
        job = self._job
        if job is not None and job.running:
            job.cancel()
            self._messages.add(f"cancelling: {job.status_text()}")
            return
        if self._closing.is_set():
            return
        index = self.state.layer_idx
        shown = self.info.layers[index]
        layer = self.settings.jpgvis_remap.get(shown, shown)   # the layer whose images the pane shows
        if layer not in self.loaded.layer_names:
            layer = shown
        writable = can_write(self._unit_vis_root)
        layout = self.loader.layout if writable else self.user_layout
        self._job = OptimizeJob(self.loaded, layout, layer, self.state.selected_unit, self._optimize_config,
                                self.settings.optimize_on_request_preset, self._model_lock,
                                label=self._pretty[index] if layer == shown else layer,
                                on_progress=self._worker.invalidate, on_done=self._on_job_done,
                                superseded=self.user_layout if writable else None)
        self._job.start()

    def _on_job_done(self, job: OptimizeJob) -> None:
        """In the job thread: say how it ended and show the new image (the loader reads it again)."""
        if self._closing.is_set():
            return
        self._messages.add(job.message)
        if job.outcome == "saved":
            self.loader.invalidate(job.layer, job.unit)
        else:
            self._worker.invalidate()

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
        if self.info.layers[self.state.layer_idx] in self._label_layers:
            text += f"  {self.loaded.label(unit)}"
        return text

    def open_paths(self, paths: list[str]) -> None:
        self.inputs.open_paths(list(paths))
        self._post()

    def set_on_result(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs in the compute thread (the posting thread in sync mode) whenever a new
        Result is ready."""
        self._on_result = callback

    @property
    def generation(self) -> int:
        """The generation of the latest posted request (a Result with it reflects every key so far)."""
        with self._lock:
            return self._generation

    def idle(self) -> bool:
        """Every posted request has its final Result and nothing is pending or computing (screenshots)."""
        result = self.latest_result()
        with self._lock:
            answered = result is not None and result.generation >= self._generation and result.progress is None
        return answered and not self._worker.busy and not self._renderer.busy

    def latest_result(self) -> Result | None:
        with self._lock:
            return self._result

    def process_pending(self) -> None:
        """Sync mode: run what is pending, or the last request again when its input changed (a new
        frame); a no-op with the compute thread."""
        self._worker.run_pending()

    # --- plumbing -------------------------------------------------------------------------------------
    def _post(self) -> None:
        if not self._started:
            return
        with self._lock:
            self._generation += 1
            request = Request(self._generation, self.state, tuple(sorted(self._sizes.items())))
        self._worker.post(request)

    def _on_frame(self, _frame: Frame) -> None:
        self._worker.invalidate()

    def _on_unit_images(self, _key: object) -> None:
        self._worker.invalidate(cancel=True)   # a slow job resumes where it stopped

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

    def _compute(self, request: Request, token: CancelToken) -> Drawing:
        """The compute thread: the panes' data for `request`, as a drawing for the render thread."""
        if self.sync and self.inputs.latest() is None:
            self.inputs.wait_for_frame(timeout=FIRST_FRAME_TIMEOUT_S)
        timings: dict[str, float] = {}

        def partial(data: PaneData, progress: MethodProgress) -> None:
            self._renderer.post(self._drawing(request, data, {}, progress))

        data, _labels = self._source.gather(request.state, timings, token, partial)
        return self._drawing(request, data, timings)

    def _drawing(self, request: Request, data: PaneData, timings: dict[str, float],
                 progress: MethodProgress | None = None) -> Drawing:
        # The classes come from the engine's last forward: read it here, before the next frame's.
        self._add_classes(data, request.state)
        return functools.partial(self._render, request, data, timings, progress)

    def _render(self, request: Request, data: PaneData, timings: dict[str, float],
                progress: MethodProgress | None = None) -> Result:
        """The render thread: every pane drawn."""
        start = time.perf_counter()
        panes = render_panes(data, request.state, self.info, self.settings, dict(request.sizes))
        timings["render"] = time.perf_counter() - start
        self._collect_messages(data, request.state)
        return self._result_from(request, panes, data, timings, progress)

    def _add_classes(self, data: PaneData, state: ViewState) -> None:
        """The top-5 classes of the shown forward and, on a label layer, the selected unit's class."""
        fwd = self.engine.last_forward
        if fwd is None or data.frame is None:
            return
        data.top_labels = fwd.top_labels
        layer = self.info.layers[state.layer_idx]
        if state.in_grid and layer in self._label_layers:
            data.unit_class = unit_class(self.loaded, fwd, state.selected_unit)

    def _collect_messages(self, data: PaneData, state: ViewState) -> None:
        for message in self.inputs.pop_messages() + self.loader.pop_messages() + pop_notices():
            self._messages.add(message)
        if state.pattern_mode and data.sprite == []:
            layer = self.info.layers[state.layer_idx]
            self._messages.add(f"no pattern images for {layer} (regularized_opt/{layer}/whole_layer.jpg)")

    def _status(self, state: ViewState, message: str | None, timings: dict[str, float] | None = None,
                progress: MethodProgress | None = None, faithfulness: tuple[float, float] | None = None,
                layer: LayerGeometry | None = None) -> str:
        job = self._job
        if job is not None and job.running:
            message = f"{job.status_text()} | {message}" if message else job.status_text()
        return status_line(state, self.info, self._pretty, self._source.fps(), message,
                           timings if state.debug_level else None, input_status(self.inputs, self.loaded), progress,
                           faithfulness, layer)

    def _result_from(self, request: Request, panes: Panes, data: PaneData, timings: dict[str, float],
                     progress: MethodProgress | None) -> Result:
        state = request.state
        message = self._messages.current()
        return Result(
            generation=request.generation,
            images={name: read_only(img) for name, img in panes.images.items()},
            stale=frozenset(panes.stale),
            layers=layer_entries(self.loaded.layers, state),
            cursor_on_layer_list=not state.in_grid,
            top_labels=data.top_labels if (panes.aux_mode == "labels" and state.show_label_predictions) else (),
            aux_mode=panes.aux_mode,
            text=dict(panes.text),
            status=self._status(state, message, timings, progress, data.faithfulness, data.layer_geometry),
            message=message,
            help_lines=self._help if state.show_help else None,
            hidden_panes=hidden_panes(state),
            grid_shape=panes.grid_shape,
            tile_rects=panes.tile_rects,
            progress=progress,
            frame_seq=data.frame_seq,
            input_scale=panes.input_scale,
            overlay=data.overlay)

    def _error_drawing(self, request: Request, exc: Exception) -> Drawing:
        return functools.partial(self._error_result, request, exc)

    def _drawing_failed(self, draw: Drawing, exc: Exception) -> Result:
        """Drawing itself failed (the render worker logged it): that request's error result."""
        return self._error_result(draw.args[0], exc)

    def _error_result(self, request: Request, exc: Exception) -> Result:
        """The previous images with the error in the status line (the worker logged the traceback)."""
        error = f"{type(exc).__name__}: {exc}"
        self._messages.add(f"error: {error}")
        message = self._messages.current()
        state = request.state
        previous = self.latest_result() or Result(generation=request.generation)
        return dataclasses.replace(
            previous, generation=request.generation, layers=layer_entries(self.loaded.layers, state),
            cursor_on_layer_list=not state.in_grid, top_labels=(), aux_mode="labels", text={},
            status=self._status(state, message), message=message, help_lines=None,
            hidden_panes=hidden_panes(state), error=error, progress=None)
