"""What the panes of one view state are drawn from: frame, forward, backward, unit images.

`PaneSource.gather` runs in the compute thread: for the frame it is given (the one the status line
will name), the (cached) forward with its top classes, the unit images and pattern tiles (through the
loader, never blocking; the weight sources get the model's weights from here, read in the loader
thread) and, when the back pane is on, the backward of the chosen method. Before a method that is
not cached runs, a first version of the panes goes out with the back pane stale (showing the partial
map of an earlier, abandoned try of the same job, if any), so keys keep answering; a progressive
method then sends its running map after each batch (at most `MAX_PARTIALS_PER_S` a second) with its
progress.
The current layer's shape and receptive field go to the status line; a layer's receptive field is
composed (one traced partial forward, under the model lock) the first time the layer is shown and
kept for the session's model, never recomputed per frame.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from deepvis_app.core.app.engine import ComputeEngine, ForwardData, OutputTarget, back_key
from deepvis_app.core.app.render import PaneData
from deepvis_app.core.app.state import ModelInfo, ViewState
from deepvis_app.core.app.status import LayerGeometry, MethodProgress
from deepvis_app.core.app.unit_class import label_layers, unit_class
from deepvis_app.core.app.unit_image_loader import WeightsOf
from deepvis_app.core.app.unit_weights import unit_weight_matrix
from deepvis_app.core.base.progress import CancelToken, Progress
from deepvis_app.core.imaging.output_overlay import output_overlay
from deepvis_app.core.methods.registry import Method, get_method
from deepvis_app.core.unitvis.findmax.receptive_field import receptive_field
from deepvis_app.core.unitvis.store.unit_layout import UnitImages
from deepvis_app.io.sources import Frame
from deepvis_app.settings.defaults import Settings

MAX_PARTIALS_PER_S = 10.0

log = logging.getLogger("deepvis.core.pane_source")

# Gets the panes' data with the back pane stale (possibly a partial map) and the method's progress.
OnPartial = Callable[[PaneData, MethodProgress], None]


class FrameSource(Protocol):
    """What the panes need from the inputs: whether newer frames wait behind a slow method."""

    def latest(self) -> Frame | None: ...

    def peek(self) -> Frame | None: ...


class UnitImageSource(Protocol):
    """What the panes need from the unit-image loader (answers from its cache, never blocks)."""

    def request(self, layer: str, unit: int) -> UnitImages | None: ...

    def request_sprite(self, layer: str, count: int, source: str = ...,
                       weights: WeightsOf | None = ...) -> list[np.ndarray | None] | None: ...


@dataclasses.dataclass(frozen=True)
class _Request:
    """One gathering's givens: the frame, the view state, where times go, its cancel token, its partials' way out."""

    frame: Frame
    state: ViewState
    timings: dict[str, float]
    token: CancelToken
    on_partial: OnPartial


@dataclasses.dataclass
class _Partial:
    """The running map of the current slow job (kept when the job is abandoned, to resume)."""

    key: tuple
    started: float
    fraction: float = 0.0
    input_grad: np.ndarray | None = None


class FrameRate:
    """The frame rate the status line shows: 1 / (time between the last two forwards), as the original,
    0 when none in the last 2 s. With n frames in flight their forwards end in bunches, so the rate is
    taken over the last 2n forwards; the compute threads of all of them tick one `FrameRate`."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._times: deque[float] = deque(maxlen=2)

    def frames_in_flight(self, count: int) -> None:
        with self._lock:
            self._times = deque(self._times, maxlen=2 * max(1, count))

    def tick(self) -> None:
        """A forward of a new frame ended."""
        with self._lock:
            self._times.append(self._clock())

    def fps(self) -> float:
        with self._lock:
            times = list(self._times)
        if len(times) < 2 or self._clock() - times[-1] > 2.0:
            return 0.0
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9)


class PaneSource:
    """Gathers `PaneData` for a view state (see the module docstring)."""

    def __init__(self, engine: ComputeEngine, inputs: FrameSource, loader: UnitImageSource, info: ModelInfo,
                 settings: Settings, method_options: dict[str, Any]):
        self.engine, self.inputs, self.loader, self.info, self.settings = engine, inputs, loader, info, settings
        self.method_options = method_options
        self.rate = FrameRate()
        self._partial: _Partial | None = None
        self._receptive: dict[str, tuple[int, int] | None] = {}   # layer -> RF (height, width), per model
        self.label_layers = label_layers(engine.loaded)   # layers whose units are classes (`unit_class`)

    def beside(self, engine: ComputeEngine) -> PaneSource:
        """A source on ``engine`` (a replica's) for a second frame in flight: the same inputs, loader and
        options, the same frame rate and receptive fields; a slow method's partial map of its own."""
        twin = PaneSource(engine, self.inputs, self.loader, self.info, self.settings, self.method_options)
        twin.rate, twin._receptive = self.rate, self._receptive
        return twin

    def fps(self) -> float:
        return self.rate.fps()

    def gather(self, frame: Frame | None, state: ViewState, timings: dict[str, float], token: CancelToken,
               on_partial: OnPartial) -> PaneData:
        """The PaneData of ``frame`` for ``state``; see the module docstring for ``on_partial``."""
        if frame is None:
            return PaneData(back_stale=True)
        layer = self.info.layers[state.layer_idx]
        need_back = state.back_what_to_disp() == "normal"
        method = get_method(state.back_method)
        graph = method.rule if need_back and method.is_backprop else None
        start = time.perf_counter()
        previous = self.engine.last_forward
        fwd = self.engine.forward(frame.seq, frame.image, state.stretch_mode, graph,
                                  self.method_options.get(method.name),
                                  OutputTarget(state.target_region, state.reference_pins))
        if fwd is not previous:
            self.rate.tick()
        timings["forward"] = time.perf_counter() - start
        activations = fwd.activation(layer)
        data = PaneData(frame=frame.image, frame_seq=frame.seq, fitted=fwd.fitted, activations=activations,
                        layer_geometry=LayerGeometry(tuple(activations.shape), self.receptive_size(layer)),
                        top_labels=fwd.top_labels)
        if state.in_grid and layer in self.label_layers:
            data.unit_class = unit_class(self.engine.loaded, fwd, state.selected_unit)
        data.overlay = output_overlay(self.engine.head, state.target_region, self._head_selection(state),
                                      self.engine.loaded.label)
        self._add_unit_images(data, state, layer)
        if need_back:
            self._add_back(data, fwd, method, layer, _Request(frame, state, timings, token, on_partial))
        return data

    def _head_selection(self, state: ViewState) -> int | None:
        """The selected unit of the output head's layer (a detection to outline), else None."""
        if self.info.layers[state.layer_idx] == self.engine.head.name and state.in_grid:
            return state.selected_unit
        return None

    def _add_back(self, data: PaneData, fwd: ForwardData, method: Method, layer: str, request: _Request) -> None:
        state, timings, token = request.state, request.timings, request.token
        origin, unit = self.info.layers[state.backprop_layer], state.backprop_unit
        view_layer = layer if state.layers_show_back and method.is_backprop else None
        key = back_key(fwd, method, origin, unit, view_layer)
        progress = None
        if not method.is_backprop and not self.engine.has_backward(key):
            partial = self._partial if self._partial is not None and self._partial.key == key else None
            self._partial = partial = partial or _Partial(key, time.monotonic())
            request.on_partial(dataclasses.replace(data, back_stale=True, input_grad=partial.input_grad),
                               self._progress(method, partial, request.frame))
            progress = Progress(token, self._reporter(data, method, partial, request))
        start = time.perf_counter()
        back = self.engine.backward(fwd, method, origin, unit, view_layer, self.method_options.get(method.name),
                                    progress or Progress(token))
        timings["back"] = time.perf_counter() - start
        self._partial = None
        data.input_grad, data.layer_grads = self.engine.input_map(back.input_grad), back.layer_grad
        if state.show_faithfulness:
            start = time.perf_counter()
            data.faithfulness = self.engine.faithfulness(fwd, back, origin, unit, Progress(token))
            timings["faithfulness"] = time.perf_counter() - start

    def _reporter(self, data: PaneData, method: Method, partial: _Partial, request: _Request):
        last_emit: list[float] = []

        def report(fraction: float, make_partial: Callable[[], Any]) -> None:
            now = time.monotonic()
            if fraction >= 1.0 or (last_emit and now - last_emit[-1] < 1.0 / MAX_PARTIALS_PER_S):
                return          # done: the finished map follows at once as the result (no "100 %" partial)
            last_emit[:] = [now]
            partial.fraction = fraction
            partial.input_grad = self.engine.input_map(make_partial().detach()[0].float().cpu().numpy())
            request.on_partial(dataclasses.replace(data, back_stale=True, input_grad=partial.input_grad),
                               self._progress(method, partial, request.frame))
        return report

    def _progress(self, method: Method, partial: _Partial, frame: Frame) -> MethodProgress:
        latest = self.inputs.peek()   # not taken: a slow method must not make the video decode
        behind = latest is not None and latest.seq != frame.seq
        return MethodProgress(method.name, partial.fraction, time.monotonic() - partial.started,
                              frame.name if behind else None)

    def receptive_size(self, layer: str) -> tuple[int, int] | None:
        """(height, width) in input pixels of one position's receptive field in `layer` (the input size for
        a layer without positions); None where the graph cannot be followed. Composed once per layer."""
        if layer not in self._receptive:
            self._receptive[layer] = self._compose_receptive_field(layer)
        return self._receptive[layer]

    def _compose_receptive_field(self, layer: str) -> tuple[int, int] | None:
        loaded = self.engine.loaded
        shape = loaded.preprocessor.network_shape
        try:
            with self.engine.lock:
                rf = receptive_field(loaded.module, shape, layer, loaded.device)
        except Exception:  # an op the tracer trips on: the status line just leaves the RF out
            log.exception("receptive field of %s", layer)
            return None
        return None if rf is None else rf.size

    def _add_unit_images(self, data: PaneData, state: ViewState, layer: str) -> None:
        if state.pattern_mode:
            count = self.info.units[state.layer_idx]
            weights = functools.partial(unit_weight_matrix, self.engine.loaded.module, layer, count, self.engine.lock)
            data.sprite = self.loader.request_sprite(layer, count, state.pattern_source, weights)
        wanted = self.settings.jpgvis_layers
        key_layer = self.settings.jpgvis_remap.get(layer, layer)
        data.unit_images_wanted = (state.show_unit_jpgs and state.in_grid
                                   and (wanted is None or key_layer in wanted))
        if data.unit_images_wanted:
            data.unit_images = self.loader.request(key_layer, state.selected_unit)
