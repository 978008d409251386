"""From a request to the `Result` on screen: the compute thread records, the render thread draws.

The compute thread takes the newest frame once per request, gathers the panes' data for it
(`PaneSource`: forward, backward, unit images) and records a `Snapshot` of what the status line says
of that same frame (its name and number, its place in the list, the frame rate, the notices, a
running method's progress). It hands the three values to the render thread, which only calls
`render_result` on them while the compute thread already runs the next frame's forward: drawing
(about 10 ms for a wide layer's grid) no longer lowers the frame rate, and the status line always
describes the frame the panes show. Both threads are latest-wins mailboxes (`Worker`), so a slow
drawing skips to the newest data; a slow method sends partial pictures first. The newest `Result`
is kept (older generations are dropped) and ``on_result()`` says it is there.

Notices raised while computing (a method's "this is the plain gradient") are routed to the session's
`Notices`; the inputs' and the unit-image loader's messages are moved there as the snapshot is taken.
Frames in flight: when the compute thread's timing found that two frames side by side beat one frame
split over the threads (`core.nn.threads`), it adds a second compute thread with an engine of its own
on a replica of the model (weights shared) as it starts. That lane takes a request only while the
first computes, and only a light one (`runs_beside`: no slow method, whose memo and partial map live
in the first engine, no pinned reference); on a video it computes the newest frame while the first
lane finishes the one before. Frames may finish out of order, so the render thread gets a frame's
drawing only if no newer one of the same or a newer request went first.

``sync=True`` runs the same two workers inline, one lane, for deterministic tests.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from deepvis_app.core.app.pane_source import PaneSource
from deepvis_app.core.app.render import PaneData
from deepvis_app.core.app.render_result import RenderSetup, Request, error_result, render_result
from deepvis_app.core.app.result import Result
from deepvis_app.core.app.state import ViewState
from deepvis_app.core.app.status import MethodProgress, Snapshot, StatusInput
from deepvis_app.core.app.unit_image_loader import UnitImageLoader
from deepvis_app.core.app.worker import Worker
from deepvis_app.core.base.notices import Notices, routed_to
from deepvis_app.core.base.progress import CancelToken
from deepvis_app.core.methods.registry import get_method
from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.io.sources import Frame, InputManager

FIRST_FRAME_TIMEOUT_S = 10.0

log = logging.getLogger("deepvis.pipeline")


@dataclass(frozen=True)
class Drawing:
    """What a compute thread hands the render thread: a call of `render_result` or `error_result` with
    every argument bound, the request it answers and, for a frame's panes, their place in the order of
    what is shown (request generation, frame number)."""

    request: Request
    draw: Callable[[], Result]
    order: tuple[int, int] | None = None


def runs_beside(request: Request) -> bool:
    """Whether a second frame in flight may compute ``request`` on its own engine: nothing the first engine
    keeps across frames is needed (a slow method's memo and partial map, faithfulness curves, a pinned
    reference embedding). Backprop methods are light: one forward with the graph and one backward."""
    state = request.state
    if state.reference_pins % 2:
        return False
    if state.back_what_to_disp() != "normal":
        return True
    return get_method(state.back_method).is_backprop and not state.show_faithfulness


class Pipeline:
    """The compute and render threads of a session (see the module docstring)."""

    def __init__(self, source: PaneSource, inputs: InputManager, loader: UnitImageLoader, setup: RenderSetup,
                 notices: Notices, *, sync: bool = False):
        self.source, self.inputs, self.loader, self.setup, self.notices = source, inputs, loader, setup, notices
        self.sync = sync
        self._lock = threading.Lock()
        self._result: Result | None = None
        self._shown: tuple[int, int] = (-1, -1)   # the order of the last frame's drawing handed over
        self._on_result: Callable[[], None] | None = None
        self._renderer: Worker[Drawing, Result] = Worker(lambda drawing, _token: drawing.draw(), self._deliver,
                                                         self._drawing_failed, inline=sync, name="deepvis-render")
        self._worker: Worker[Request, Drawing] = Worker(functools.partial(self._compute, source), self._hand_over,
                                                        self._error_drawing, inline=sync, on_start=self._start_lanes)

    def start(self) -> None:
        self._renderer.start()
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()
        self._renderer.stop()

    def post(self, request: Request) -> None:
        self._worker.post(request)

    def invalidate(self, cancel: bool = False) -> None:
        """The last request's input changed (a frame, unit images, a notice): compute it again."""
        self._worker.invalidate(cancel)

    def run_pending(self) -> None:
        """Sync mode: run what is pending, or the last request again when invalidated."""
        self._worker.run_pending()

    def set_on_result(self, callback: Callable[[], None]) -> None:
        self._on_result = callback

    def latest(self) -> Result | None:
        with self._lock:
            return self._result

    def answered(self, generation: int) -> bool:
        """The final Result of ``generation`` (or a newer one) is here and nothing is pending."""
        result = self.latest()
        done = result is not None and result.generation >= generation and result.progress is None
        return done and not self._worker.busy and not self._renderer.busy

    def alive(self) -> bool:
        return self._worker.is_alive()

    @property
    def frames_in_flight(self) -> int:
        """How many frames the compute threads run at a time (1 until the first one has chosen)."""
        return self._worker.lanes

    # --- the compute threads --------------------------------------------------------------------------
    def _start_lanes(self) -> None:
        """The first compute thread, as it starts: choose torch's threads and the frames in flight
        (`core.nn.threads`), and add a compute thread with a replica's engine for each frame beyond one."""
        engine = self.source.engine
        engine.choose_threads()
        choice = engine.threads
        if choice is None:      # nothing chosen: one frame at a time
            return
        for _ in range(1, choice.frames_in_flight):
            try:
                source = self.source.beside(engine.replica())
            except Exception:  # a model that cannot be copied: one frame at a time, as before
                log.exception("no second frame in flight: the model could not be replicated")
                return
            if self._worker.add_lane(functools.partial(self._compute, source), runs_beside, on_start=choice.apply):
                self.source.rate.frames_in_flight(self._worker.lanes)

    def _compute(self, source: PaneSource, request: Request, token: CancelToken) -> Drawing:
        """The panes' data of the newest frame for ``request`` (from ``source``, this lane's) and the
        snapshot of that frame."""
        if self.sync and self.inputs.peek() is None:
            self.inputs.wait_for_frame(timeout=FIRST_FRAME_TIMEOUT_S)
        frame = self.inputs.latest()
        shown = input_status(self.inputs, source.engine.loaded, frame)   # read with the frame, not later
        timings: dict[str, float] = {}

        def partial(data: PaneData, progress: MethodProgress) -> None:
            self._hand_over(self._drawing(source, request, shown, data, {}, progress))

        with routed_to(self.notices):
            data = source.gather(frame, request.state, timings, token, partial)
        return self._drawing(source, request, shown, data, timings)

    def _drawing(self, source: PaneSource, request: Request, shown: StatusInput, data: PaneData,
                 timings: dict[str, float], progress: MethodProgress | None = None) -> Drawing:
        snapshot = self._snapshot(source, request.state, shown, data, timings, progress)
        order = (request.generation, -1 if data.frame_seq is None else data.frame_seq)
        return Drawing(request, functools.partial(render_result, self.setup, request, data, snapshot), order)

    def _snapshot(self, source: PaneSource, state: ViewState, shown: StatusInput, data: PaneData,
                  timings: dict[str, float], progress: MethodProgress | None) -> Snapshot:
        """What the status line will say of the frame ``shown`` describes, recorded in the compute thread."""
        self.notices.post_all(self.inputs.pop_messages() + self.loader.pop_messages())
        if state.pattern_mode and data.sprite == []:
            layer = self.setup.info.layers[state.layer_idx]
            self.notices.post(f"no pattern images for {layer} (regularized_opt/{layer}/whole_layer.jpg)")
        return Snapshot(input=shown, fps=source.fps(),
                        job=self.notices.held(), message=self.notices.current(), progress=progress,
                        faithfulness=data.faithfulness, layer=data.layer_geometry, timings=tuple(timings.items()))

    def _error_drawing(self, request: Request, exc: Exception) -> Drawing:
        return Drawing(request, functools.partial(self._error_result, request, exc))

    def _hand_over(self, drawing: Drawing) -> None:
        """To the render thread, unless a frame drawing of the same or a newer request with a newer frame
        went first (frames in flight end out of order); an error always goes."""
        if drawing.order is not None:
            with self._lock:
                if drawing.order < self._shown:
                    return
                self._shown = drawing.order
        self._renderer.post(drawing)

    # --- the render thread ----------------------------------------------------------------------------
    def _drawing_failed(self, drawing: Drawing, exc: Exception) -> Result:
        """Drawing itself failed (the render worker logged it): that request's error result."""
        return self._error_result(drawing.request, exc)

    def _error_result(self, request: Request, exc: Exception) -> Result:
        """The previous picture with the error in the status line (the worker logged the traceback)."""
        error = f"{type(exc).__name__}: {exc}"
        self.notices.post(f"error: {error}")
        return error_result(self.setup, request, self.latest(), error)

    def _deliver(self, result: Result) -> None:
        with self._lock:
            if self._result is not None and result.generation < self._result.generation:
                return
            self._result = result
        if self._on_result is not None:
            self._on_result()


def input_status(inputs: InputManager, loaded: LoadedModel, frame: Frame | None) -> StatusInput:
    """What the status line says of ``frame`` (the one the panes show): its name, its place in the list,
    frozen, its ground-truth label (a list file's second column; a class index is named)."""
    if frame is None:
        return StatusInput()
    mode = inputs.mode
    truth = inputs.ground_truth(frame)
    if truth is not None and truth.isdigit() and loaded.labels:
        truth = f"{truth} {loaded.label(int(truth))}"   # a class index, named
    if mode == "files":
        index, count = inputs.position()
        return StatusInput(frame.name, f"{index + 1} of {count}" if count > 1 else None, truth=truth, seq=frame.seq)
    name = f"{frame.name} #{frame.seq}" if mode == "camera" else frame.name
    return StatusInput(name, None, inputs.frozen, truth, frame.seq)
