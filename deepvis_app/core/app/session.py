"""The Qt-free session the window drives: keys in, `Result`s out.

The window calls `handle_key`, `click`, `drag`, `set_pane_sizes`; each changes the frozen `ViewState`
(through the pure actions of `core.actions`) or the input, then posts a request (state + generation)
to the `Pipeline` and returns at once: no public method runs torch, so the UI thread never waits on
the model. The pipeline's compute thread gathers the panes' data of one frame and records the
snapshot the status line is written from; its render thread draws both into a `Result`
(`render_result`, a pure function). Every message for the status line goes through the session's one
`Notices`. A new frame or newly loaded unit images make the pipeline run the last request again. The
optimize-unit key is `OptimizeKey`'s; what a pointer position means is `pointer`'s.

``sync=True`` runs the same workers inline (in the thread that posts), for deterministic tests: the
window cannot tell. Threads (compute, render, unit-image loader) start in `start()`, never here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from deepvis_app.core.app import pointer
from deepvis_app.core.app.actions import JOB_ACTIONS, SESSION_ACTIONS, apply_action, select_layer, select_unit
from deepvis_app.core.app.engine import ComputeEngine
from deepvis_app.core.app.optimize_key import OptimizeKey
from deepvis_app.core.app.pane_source import PaneSource
from deepvis_app.core.app.panes import DEFAULT_PANE_SIZES
from deepvis_app.core.app.pipeline import Pipeline
from deepvis_app.core.app.render_result import RenderSetup, Request
from deepvis_app.core.app.result import Result
from deepvis_app.core.app.state import ModelInfo, ViewState, initial_state
from deepvis_app.core.app.unit_compute import unit_compute
from deepvis_app.core.app.unit_image_loader import UnitImageLoader
from deepvis_app.core.base.cache import ByteLRUCache
from deepvis_app.core.base.notices import Notices
from deepvis_app.core.imaging.display import BACK_VIEWS, COLORMAPS
from deepvis_app.core.methods.registry import METHOD_NAMES, METHODS, check_method_settings, settings_options
from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.core.nn.outputs import head_or_plain
from deepvis_app.core.unitvis.findmax.crops import unit_backprop_kind
from deepvis_app.core.unitvis.optimize.job import OptimizeJob, user_unit_vis_root
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout, unit_vis_root
from deepvis_app.io.sources import Frame, InputManager
from deepvis_app.keymap import help_rows, key_index
from deepvis_app.settings.defaults import Settings


class Session:
    """The app without its window (see the module docstring)."""

    def __init__(self, loaded: LoadedModel, settings: Settings, inputs: InputManager, *, sync: bool = False):
        check_method_settings(settings.method_options)
        self.loaded, self.settings, self.inputs, self.sync = loaded, settings, inputs, sync
        self.info = ModelInfo.create([(i.name, i.shape[0]) for i in loaded.layers], settings,
                                     back_methods=METHOD_NAMES, back_views=BACK_VIEWS, colormaps=COLORMAPS)
        self.state: ViewState = initial_state(self.info)
        self.should_quit = False
        self.notices = Notices(" · ".join(["h for help", *getattr(loaded, "notes", ()),
                                           *head_or_plain(loaded.module).hints()]))
        self._keys = key_index(settings.key_overrides)
        self._lock = threading.Lock()
        self._generation = 0
        self._sizes = dict(DEFAULT_PANE_SIZES)
        self._closing = threading.Event()
        self._started = False
        model_lock = threading.Lock()
        self.engine = ComputeEngine(loaded, model_lock)
        root, kind = unit_vis_root(settings), unit_backprop_kind(loaded)
        # Images the app optimized where the model's folder is read-only (`OptimizeKey`).
        self.user_layout = UnitVisLayout(user_unit_vis_root(settings.model), kind)
        # No folder (a torchvision model without model_dir): a path that holds nothing, so every read misses.
        self.loader = UnitImageLoader(UnitVisLayout(root or Path("/nonexistent-unit-vis"), kind),
                                      ByteLRUCache(settings.jpg_cache_mib << 20), self._on_unit_images,
                                      unit_compute(loaded, settings, model_lock, self._closing),
                                      synchronous=sync, overlay=self.user_layout,
                                      clear_inactive=settings.clear_negative_activations)
        options = {m.name: settings_options(m, settings.method_options) for m in METHODS}
        self._source = PaneSource(self.engine, inputs, self.loader, self.info, settings, options)
        setup = RenderSetup(self.info, settings, tuple(loaded.layers),
                            tuple(help_rows(settings.key_overrides, METHOD_NAMES)))
        self.pipeline = Pipeline(self._source, inputs, self.loader, setup, self.notices, sync=sync)
        self._optimize = OptimizeKey(loaded, settings, self.loader, self.user_layout, unit_vis_root=root,
                                     model_lock=model_lock, notices=self.notices,
                                     on_change=self.pipeline.invalidate)

    # --- the window's calls (never run torch, except inline in sync mode) ------------------------------
    def start(self) -> None:
        """Start the threads (compute, render, unit-image loader), listen to the inputs, post the first request."""
        if self._started:
            return
        self._started = True
        self.inputs.add_frame_listener(self._on_frame)
        self.inputs.add_message_listener(self._on_input_message)
        self.loader.start()
        self.pipeline.start()
        self._post()

    def stop(self) -> None:
        """Stop and join every thread the session uses: compute, render, unit-image loader, inputs, the
        optimize job (cancelled: it stops after its current step)."""
        self._closing.set()
        self._optimize.cancel()
        self.pipeline.stop()
        self.loader.close()
        self.inputs.close()
        self._optimize.join()

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
        """A click in the grid selects the tile under it; on the input pane, the detection box under it;
        pane "control": x is the layer index."""
        if pane == "control":
            self.select_layer(int(x))
        elif pane == "input":
            unit = pointer.box_unit(self.latest_result(), x, y)
            if unit is not None:
                self._select_output_unit(unit)
        elif pane == "layers" and (unit := pointer.unit_at(self.latest_result(), x, y)) is not None:
            self.state = select_unit(self.state, self.info, unit)
            self._post()

    def drag(self, pane: str, x0: float, y0: float, x1: float, y1: float) -> None:
        """A drag on the input pane (its pixels) sets a dense model's region (`output_overlay.drag_region`)
        and selects the output unit of the class most predicted in it; a tiny drag clears the region."""
        result = self.latest_result()
        if pane != "input" or result is None or self.engine.head.kind != "dense":
            return
        region, unit = pointer.dragged(result, (x0, y0, x1, y1), self.loaded.settings.input_size)
        self.state = self.state.replace(target_region=region)
        self._select_output_unit(unit) if unit is not None else self._post()

    def select_layer(self, index: int) -> None:
        self.state = select_layer(self.state, self.info, index)
        self._post()

    def hover_text(self, x: float, y: float) -> str | None:
        """"unit 12  max 3.41  label" for the tile under (x, y) of images["layers"], else None."""
        result = self.latest_result()
        unit = pointer.unit_at(result, x, y)
        if result is None or unit is None:
            return None
        on_labels = self.info.layers[self.state.layer_idx] in self._source.label_layers
        return pointer.hover_text(unit, result.activations, self.loaded.label(unit) if on_labels else None)

    def open_paths(self, paths: list[str]) -> None:
        self.inputs.open_paths(list(paths))
        self._post()

    @property
    def optimize_job(self) -> OptimizeJob | None:
        """The latest optimize job (running or ended), None before the first."""
        return self._optimize.job

    def toggle_optimize(self) -> None:
        """Start optimizing the selected unit in the background, or cancel the job that is running."""
        self._optimize.toggle(self.state, self.info, [info.pretty for info in self.loaded.layers])

    def set_on_result(self, callback: Callable[[], None]) -> None:
        """``callback()`` runs in the render thread (the posting thread in sync mode) whenever a new
        Result is ready."""
        self.pipeline.set_on_result(callback)

    @property
    def generation(self) -> int:
        """The generation of the latest posted request (a Result with it reflects every key so far)."""
        with self._lock:
            return self._generation

    def idle(self) -> bool:
        """Every posted request has its final Result and nothing is pending or computing (screenshots)."""
        return self.pipeline.answered(self.generation)

    def latest_result(self) -> Result | None:
        return self.pipeline.latest()

    def process_pending(self) -> None:
        """Sync mode: run what is pending, or the last request again when its input changed (a new
        frame); a no-op with the compute thread."""
        self.pipeline.run_pending()

    # --- plumbing -------------------------------------------------------------------------------------
    def _post(self) -> None:
        if not self._started:
            return
        with self._lock:
            self._generation += 1
            request = Request(self._generation, self.state, tuple(sorted(self._sizes.items())))
        self.pipeline.post(request)

    def _select_output_unit(self, unit: int) -> None:
        """The output head's layer, its ``unit`` selected (and so the back origin, unless frozen)."""
        name = self.engine.head.name
        index = self.info.layers.index(name) if name in self.info.layers else len(self.info.layers) - 1
        self.state = select_unit(select_layer(self.state, self.info, index), self.info, unit)
        self._post()

    def _on_frame(self, _frame: Frame) -> None:
        self.pipeline.invalidate()

    def _on_input_message(self) -> None:
        """A message with no frame after it (a missing camera) still reaches the status line."""
        self.notices.post_all(self.inputs.pop_messages())
        if not self.sync:
            self.pipeline.invalidate()

    def _on_unit_images(self, _key: object) -> None:
        self.pipeline.invalidate(cancel=True)   # a slow job resumes where it stopped
