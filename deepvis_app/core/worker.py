"""The compute side of the app: the torch work (`ComputeEngine`) and the thread that runs it (`Worker`).

One thread owns the `nn.Module`: it is the only one that runs forwards, backwards and hooks
(the unit-image loader borrows the model through `model_lock`). Work is driven by a mailbox that
holds only the latest request: requests posted while the thread is busy replace each other and
are never queued, and frames the input produced meanwhile are skipped (the original's
CaffeProcThread took only the newest frame too). The engine keeps the last forward and the last
backward and reruns them only when their inputs changed: the forward when the frame, the
stretch mode or the backward rule changed; the backward when the origin, the method or the
layer whose diffs the grid shows changed. Backprop methods record the forward once with the
method's ReLU rule and keep the graph, so moving the origin costs one backward, no forward.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from deepvis_app.core.attribution import CAM_METHODS, attribute
from deepvis_app.core.backprop import BACKPROP_METHODS, backward_rules, make_seed
from deepvis_app.core.backprop.taps import tapping
from deepvis_app.core.classify import top_classes
from deepvis_app.core.model import LoadedModel
from deepvis_app.core.render import PaneData
from deepvis_app.core.state import ModelInfo, ViewState
from deepvis_app.core.unit_image_loader import ComputeUnitImages
from deepvis_app.io.images import SAMPLE_NAMES, sample_image

JOIN_TIMEOUT_S = 10.0
POLL_S = 0.005


@dataclass
class ForwardData:
    """One forward pass: the fitted input, every shown layer's output, the top-5 classes."""

    key: tuple
    fitted: np.ndarray
    x: torch.Tensor
    outputs: dict[str, torch.Tensor]
    top_labels: tuple[tuple[str, float], ...]
    graph: torch.Tensor | None = None       # the input leaf of a recorded graph (backprop methods)
    _numpy: dict[str, np.ndarray] = field(default_factory=dict)

    def activation(self, layer: str) -> np.ndarray:
        """The layer's output for the single image, as float32 numpy (converted once)."""
        if layer not in self._numpy:
            self._numpy[layer] = self.outputs[layer].detach()[0].float().cpu().numpy()
        return self._numpy[layer]


@dataclass
class BackData:
    """One backward pass: the signal at the input (C, H, W) and at the grid's layer (or None)."""

    key: tuple
    input_grad: np.ndarray
    layer_grad: np.ndarray | None


class ComputeEngine:
    """Forward and backward passes with one-entry caches (see the module docstring)."""

    def __init__(self, loaded: LoadedModel, model_lock: threading.Lock | None = None):
        self.loaded = loaded
        self.lock = model_lock or threading.Lock()
        self.names = [info.name for info in loaded.layers]
        self._forward: ForwardData | None = None
        self._back: BackData | None = None

    def forward(self, frame_seq: int, image: np.ndarray, stretch: bool, graph_method: str | None) -> ForwardData:
        """The forward for this frame (cached); ``graph_method`` records that backprop rule's graph."""
        key = (frame_seq, stretch, graph_method)
        if self._forward is not None and self._forward.key == key:
            return self._forward
        self._forward = self._back = None
        pre = self.loaded.preprocessor
        fitted = pre.fit_frame(image, stretch=stretch)
        x = torch.from_numpy(pre.to_array(fitted))[None].to(self.loaded.device)
        with self.lock:
            outputs, scores, leaf = self._run_forward(x, graph_method)
        labels = tuple((c["label"], c["prob"]) for c in top_classes(self.loaded, scores[0], 5))
        self._forward = ForwardData(key, fitted, x, outputs, labels, leaf)
        return self._forward

    def _run_forward(self, x: torch.Tensor, graph_method: str | None):
        if graph_method is None:
            with tapping(self.loaded.module, self.names) as taps, torch.no_grad():
                scores = self.loaded.module(x)
            return dict(taps), scores, None
        leaf = x.detach().requires_grad_(True)
        with torch.enable_grad(), tapping(self.loaded.module, self.names) as taps, backward_rules(graph_method):
            scores = self.loaded.module(leaf)
        return dict(taps), scores.detach(), leaf

    def backward(self, fwd: ForwardData, method: str, origin: str, unit: int, view_layer: str | None,
                 options: dict[str, Any]) -> BackData:
        """The back signal from ``unit`` of ``origin`` (cached); ``view_layer``: also its diffs."""
        key = (fwd.key, method, origin, unit, view_layer)
        if self.has_backward(key):
            return self._back
        with self.lock:
            if method in BACKPROP_METHODS:
                grads = self._backprop(fwd, origin, unit, view_layer)
            else:
                grads = (self._attribution(fwd, method, origin, unit, options), None)
        arrays = [None if g is None else g.detach()[0].float().cpu().numpy() for g in grads]
        self._back = BackData(key, arrays[0], arrays[1])
        return self._back

    @property
    def last_forward(self) -> ForwardData | None:
        return self._forward

    def has_backward(self, key: tuple) -> bool:
        """Whether the backward ``(fwd.key, method, origin, unit, view_layer)`` is cached."""
        return self._back is not None and self._back.key == key

    def _backprop(self, fwd: ForwardData, origin: str, unit: int, view_layer: str | None):
        if fwd.graph is None:
            raise RuntimeError("internal: backprop needs a forward recorded with graph_method")
        top = fwd.outputs[origin]
        seed = make_seed(top.detach(), torch.tensor([unit]), "activation")
        targets = [fwd.graph] + ([fwd.outputs[view_layer]] if view_layer else [])
        grads = torch.autograd.grad(top, targets, grad_outputs=seed, retain_graph=True, allow_unused=True,
                                    materialize_grads=True)
        return grads[0], (grads[1] if view_layer else None)

    def _attribution(self, fwd: ForwardData, method: str, origin: str, unit: int,
                     options: dict[str, Any]) -> torch.Tensor:
        opts = dict(options.get(method, {}))
        if method in CAM_METHODS:
            opts["cam_layer"] = self.cam_layer(origin)
        return attribute(self.loaded.module, fwd.x, method, layer=origin, unit=unit, **opts)

    def cam_layer(self, origin: str) -> str:
        """Grad-CAM's layer: the last spatial layer below the origin (the map at the origin itself
        would just be the unit's own activation), else the origin when it is spatial."""
        index = self.names.index(origin)
        for info in reversed(self.loaded.layers[:index]):
            if info.is_spatial:
                return info.name
        if self.loaded.layers[index].is_spatial:
            return origin
        raise ValueError(f"no spatial layer at or below '{origin}' for Grad-CAM")


def attribution_options(settings: Any) -> dict[str, dict[str, Any]]:
    """Per-method options of the back pane's attribution methods, from the settings."""
    return {
        "occlusion": {"window": settings.occlusion_window, "stride": settings.occlusion_stride,
                      "baseline": settings.occlusion_baseline,
                      "perturbations_per_eval": settings.perturbations_per_eval},
        "smoothgrad": {"samples": settings.smoothgrad_samples, "noise_level": settings.smoothgrad_sigma},
        "integrated_gradients": {"steps": settings.ig_steps},
    }


class Worker:
    """A thread that runs ``compute(request)`` for the latest posted request, again whenever
    ``has_new_input()`` says the input changed, and hands each result to ``deliver``."""

    def __init__(self, compute: Callable[[Any], Any], deliver: Callable[[Any], None],
                 has_new_input: Callable[[], bool]):
        self._compute, self._deliver, self._has_new_input = compute, deliver, has_new_input
        self._cond = threading.Condition()
        self._pending: Any = None
        self._last: Any = None
        self._stopping = False
        self._computing = False
        self._thread: threading.Thread | None = None

    def post(self, request: Any) -> None:
        """Replace the pending request (latest wins) and wake the thread."""
        with self._cond:
            self._pending = request
            self._cond.notify()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="deepvis-compute", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(JOIN_TIMEOUT_S)

    @property
    def busy(self) -> bool:
        """A request is pending or being computed."""
        with self._cond:
            return self._pending is not None or self._computing

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _next(self) -> Any:
        with self._cond:
            while not self._stopping:
                if self._pending is not None:
                    self._last, self._pending = self._pending, None
                    self._computing = True
                    return self._last
                if self._last is not None and self._has_new_input():
                    self._computing = True
                    return self._last
                self._cond.wait(POLL_S)
        return None

    def _run(self) -> None:
        while True:
            request = self._next()
            if request is None:
                return
            try:
                self._deliver(self._compute(request))
            finally:
                with self._cond:
                    self._computing = False


class PaneSource:
    """Gathers what the panes of one view state are drawn from: the frame, the (cached) forward
    and backward, the unit images and pattern sprite (through the loader, never blocking)."""

    def __init__(self, engine: ComputeEngine, inputs: Any, loader: Any, info: ModelInfo, settings: Any):
        self.engine, self.inputs, self.loader, self.info, self.settings = engine, inputs, loader, info, settings
        self.options = attribution_options(settings)
        self.seen_seq = -1
        self.forward_times: list[float] = []
        self.unit_max: tuple[int, np.ndarray] | None = None

    def frame_changed(self) -> bool:
        frame = self.inputs.latest()
        return frame is not None and frame.seq != self.seen_seq

    def fps(self) -> float:
        """1 / (time between the last two forwards), 0 when none in the last 2 s (as the original)."""
        times = self.forward_times
        if len(times) < 2 or time.perf_counter() - times[-1] > 2.0:
            return 0.0
        return 1.0 / max(times[-1] - times[-2], 1e-9)

    def gather(self, state: ViewState, timings: dict[str, float],
               early: Callable[[PaneData], None] | None = None) -> tuple[PaneData, tuple]:
        """(PaneData, top-5 labels) for ``state``; ``early(data)`` gets a back-stale version first
        when a slow attribution method must be computed."""
        frame = self.inputs.latest()
        if frame is None:
            return PaneData(back_stale=True), ()
        self.seen_seq = frame.seq
        layer = self.info.layers[state.layer_idx]
        need_back = state.back_what_to_disp() == "normal"
        method = state.back_method
        graph = method if need_back and method in BACKPROP_METHODS else None
        start = time.perf_counter()
        previous = self.engine.last_forward
        fwd = self.engine.forward(frame.seq, frame.image, state.stretch_mode, graph)
        if fwd is not previous:
            self.forward_times = (self.forward_times + [time.perf_counter()])[-2:]
        timings["forward"] = time.perf_counter() - start
        data = PaneData(frame=frame.image, fitted=fwd.fitted, activations=fwd.activation(layer))
        self.unit_max = (state.layer_idx, data.activations.reshape(len(data.activations), -1).max(axis=1))
        if need_back:
            self._add_back(data, fwd, state, layer, timings, early)
        self._add_unit_images(data, state, layer)
        return data, fwd.top_labels

    def _add_back(self, data: PaneData, fwd: ForwardData, state: ViewState, layer: str,
                  timings: dict[str, float], early: Callable[[PaneData], None] | None) -> None:
        method = state.back_method
        origin, unit = self.info.layers[state.backprop_layer], state.backprop_unit
        view_layer = layer if state.layers_show_back and method in BACKPROP_METHODS else None
        if early is not None and method not in BACKPROP_METHODS and \
                not self.engine.has_backward((fwd.key, method, origin, unit, view_layer)):
            early(dataclasses.replace(data, back_stale=True))
        start = time.perf_counter()
        back = self.engine.backward(fwd, method, origin, unit, view_layer, self.options)
        timings["back"] = time.perf_counter() - start
        data.input_grad, data.layer_grads = back.input_grad, back.layer_grad

    def _add_unit_images(self, data: PaneData, state: ViewState, layer: str) -> None:
        if state.pattern_mode:
            data.sprite = self.loader.request_sprite(layer, self.info.units[state.layer_idx])
        wanted = self.settings.jpgvis_layers
        key_layer = self.settings.jpgvis_remap.get(layer, layer)
        data.unit_images_wanted = (state.show_unit_jpgs and state.cursor_area == "bottom"
                                   and (wanted is None or key_layer in wanted))
        if data.unit_images_wanted:
            data.unit_images = self.loader.request(key_layer, state.selected_unit)


def unit_compute(loaded: LoadedModel, settings: Any, model_lock: threading.Lock,
                 cancel: threading.Event | None = None) -> ComputeUnitImages | None:
    """The loader's on-demand fallback (top-9 and deconv montages from the sample images), run under
    the model lock so it never overlaps the compute thread's hooks; None when switched off. Once
    ``cancel`` is set, computations not yet started return None (closing the window does not wait
    for them)."""
    if not settings.unit_images_on_demand:
        return None
    try:
        from deepvis_app.core.unitvis.ondemand import compute_unit_images
    except ImportError:
        return None
    images: list[np.ndarray] = []

    def compute(layer: str, unit: int):
        if cancel is not None and cancel.is_set():
            return None
        if not images:
            images.extend(sample_image(name) for name in SAMPLE_NAMES)
        with model_lock:
            if cancel is not None and cancel.is_set():
                return None
            return compute_unit_images(loaded, layer, unit, images)
    return compute
