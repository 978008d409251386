"""The torch work of the app: forward and backward passes with one-entry caches (`ComputeEngine`).

Only the compute thread calls it (the unit-image loader borrows the model through ``lock``). The
engine keeps the last forward and the last backward and reruns them only when their inputs
changed: the forward when the frame, the stretch mode or the backward rule changed; the backward
when the origin, the method or the layer whose diffs the grid shows changed. Backprop methods
record the forward once with the method's ReLU rule and keep the graph, so moving the origin costs
one backward, no forward. Any other method of the registry (`core.methods.registry`) runs on the cached
input; a progressive one gets a `Progress` whose memo the engine keeps for the current job, so a
job abandoned by a newer request resumes where it stopped when it is asked for again.

A forward taps (hooks and clones, `core.nn.hooks`) only the layers the panes read from the previous
forward, plus the output layer: on a live video that is the shown layer and, with backprop on, the
back origin and the layer whose diffs the grid shows, not every layer of the model. A read of a layer
that was not tapped (the user moved to another layer) runs this frame's forward again, with every
layer tapped and the same backprop rule, so the next layer changes on a still image cost nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from deepvis_app.core.base.progress import NO_PROGRESS, Progress, cancel_points
from deepvis_app.core.methods.attribution.faithfulness import deletion_insertion
from deepvis_app.core.methods.attribution.objective import make_objective, unit_seed
from deepvis_app.core.methods.backprop import backward_rules, reversed_net_rules
from deepvis_app.core.methods.registry import MapKind, Method
from deepvis_app.core.nn.classify import top_classes
from deepvis_app.core.nn.hooks import tapping
from deepvis_app.core.nn.model import LoadedModel, cam_layer_below, replica
from deepvis_app.core.nn.outputs import Region, head_or_plain
from deepvis_app.core.nn.pairs import side_by_side
from deepvis_app.core.nn.threads import ThreadChoice, choose_threads

FAITHFULNESS_STEPS = 16   # points of the app's deletion / insertion curves after the first


# Runs the forward of a `ForwardData` again with every layer tapped: (outputs, graph leaf or None).
Retap = Callable[[], tuple[dict[str, torch.Tensor], "torch.Tensor | None"]]


@dataclass
class ForwardData:
    """One forward pass: the fitted input, the tapped layers' outputs, the top-5 classes; the layers
    read from it (`output`, `activation`) are the ones the next frame's forward taps."""

    key: tuple
    fitted: np.ndarray
    x: torch.Tensor
    outputs: dict[str, torch.Tensor]
    top_labels: tuple[tuple[str, float], ...]
    graph: torch.Tensor | None = None       # the input leaf of a recorded graph (backprop methods)
    retap: Retap | None = None              # how to get a layer that was not tapped (None: it is an error)
    read: set[str] = field(default_factory=set)
    _numpy: dict[str, np.ndarray] = field(default_factory=dict)

    def output(self, layer: str) -> torch.Tensor:
        """The layer's tapped output (in the graph when one was recorded); a layer not tapped makes
        the forward run again with every layer tapped (same input, same rule)."""
        self.require([layer])
        return self.outputs[layer]

    def require(self, layers: Iterable[str]) -> None:
        """Every layer of ``layers`` tapped, together (one graph), and counted as read."""
        wanted = list(layers)
        self.read.update(wanted)
        if self.retap is not None and any(name not in self.outputs for name in wanted):
            self.outputs, self.graph = self.retap()

    def activation(self, layer: str) -> np.ndarray:
        """The layer's output for the single image, as float32 numpy (converted once)."""
        if layer not in self._numpy:
            self._numpy[layer] = self.output(layer).detach()[0].float().cpu().numpy()
        else:
            self.read.add(layer)
        return self._numpy[layer]


@dataclass
class BackData:
    """One backward pass: the signal at the input (C, H, W) and at the grid's layer (or None)."""

    key: tuple
    input_grad: np.ndarray
    layer_grad: np.ndarray | None


@dataclass(frozen=True)
class OutputTarget:
    """What the output head measures, from the view state: the region of a dense prediction (a box in
    input pixels, None: the predicted pixels) and how often the reference was pinned (odd: pinned)."""

    region: tuple[int, int, int, int] | None = None
    pins: int = 0


NO_TARGET = OutputTarget()


def back_key(fwd: ForwardData, method: Method, origin: str, unit: int, view_layer: str | None) -> tuple:
    """What identifies one backward job (its cache and memo key)."""
    return (fwd.key, method.name, origin, unit, view_layer)


class ComputeEngine:
    """Forward and backward passes with one-entry caches (see the module docstring)."""

    def __init__(self, loaded: LoadedModel, model_lock: threading.Lock | None = None):
        self.loaded = loaded
        self.lock = model_lock or threading.Lock()
        self.names = [info.name for info in loaded.layers]
        self.head = head_or_plain(loaded.module)
        self._pins = 0          # `OutputTarget.pins` last seen
        self._reference = reference_embedding(loaded)   # the similar_to setting's, or None
        self.head.reference_embedding = self._reference
        self._forward: ForwardData | None = None
        self._back: BackData | None = None
        self._memo_key: tuple | None = None
        self._memo: dict[Hashable, Any] = {}
        self._faithfulness: tuple[tuple, tuple[float, float]] | None = None
        self.threads: ThreadChoice | None = None   # the compute thread's torch threads, once it chose them

    def choose_threads(self) -> None:
        """Time the model at a few torch thread counts and keep the fastest for the calling thread (the
        compute thread, as it starts: `core.nn.threads`)."""
        with self.lock:
            self.threads = choose_threads(self.loaded)

    def replica(self) -> ComputeEngine:
        """An engine of its own on a replica of the model (weights shared, `core.nn.model.replica`) with the
        same thread choice: the compute thread of a second frame in flight. Copied under the model lock, so
        no tap of a running forward is copied with it."""
        with self.lock:
            loaded = replica(self.loaded)
        twin = ComputeEngine(loaded)
        twin.threads = self.threads
        return twin

    def forward(self, frame_seq: int, image: np.ndarray, stretch: bool, graph_rule: str | None,
                options: Any = None, target: OutputTarget = NO_TARGET) -> ForwardData:
        """The forward for this frame (cached); ``graph_rule`` records that backprop rule's graph, with
        the reversed nets' rules in the method's ``options`` (`reversed_net_rules`: unpool, lrn). The
        output head (`core.outputs`) scores with ``target``'s region and reference, and records the
        frame's prediction as its reference."""
        rules = reversed_net_rules(options)
        self._configure_head(target)
        key = (frame_seq, stretch, graph_rule, tuple(sorted(rules.items())), target.region, target.pins)
        if self._forward is not None and self._forward.key == key:
            return self._forward
        taps = self.taps_after(self._forward)
        self._forward = self._back = None
        pre = self.loaded.preprocessor
        fitted = pre.fit_frame(image, stretch=stretch)
        x = torch.from_numpy(pre.to_array(fitted))[None].to(self.loaded.device)
        with self.lock:
            if target.pins != self._pins:
                self._pin_reference(x, target.pins)
            with self.head.recording():
                outputs, scores, leaf = self._run_forward(x, graph_rule, rules, taps)
        labels = tuple((c["label"], c["prob"]) for c in top_classes(self.loaded, scores[0], 5))

        def retap() -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
            with self.lock, self.head.recording():
                every, _scores, graph = self._run_forward(x, graph_rule, rules, self.names)
            return every, graph

        self._forward = ForwardData(key, fitted, x, outputs, labels, leaf, retap)
        return self._forward

    def taps_after(self, previous: ForwardData | None) -> list[str]:
        """The layers a forward taps after ``previous``: those read from it and the output layer (the
        aux pane's class probability); every layer for the first forward."""
        if previous is None:
            return list(self.names)
        return [name for name in self.names if name in previous.read or name == self.loaded.output_layer]

    def _run_forward(self, x: torch.Tensor, graph_rule: str | None, rules: dict[str, str], taps: list[str]):
        if graph_rule is None:
            with tapping(self.loaded.module, taps) as tapped, torch.no_grad():
                scores = self.loaded.module(x)
            return dict(tapped), scores, None
        leaf = x.detach().requires_grad_(True)
        with torch.enable_grad(), tapping(self.loaded.module, taps) as tapped, backward_rules(graph_rule, **rules):
            scores = self.loaded.module(leaf)
        return dict(tapped), scores.detach(), leaf

    def backward(self, fwd: ForwardData, method: Method, origin: str, unit: int, view_layer: str | None,
                 options: Any = None, progress: Progress = NO_PROGRESS) -> BackData:
        """The back signal from ``unit`` of ``origin`` (cached); ``view_layer``: also its diffs
        (backprop methods). A progressive method reports through ``progress`` and raises
        `Cancelled` when its token is set; what it finished is kept for the next try."""
        key = back_key(fwd, method, origin, unit, view_layer)
        if self._back is not None and self._back.key == key:
            return self._back
        if method.is_backprop:   # before the lock: a layer not tapped runs the forward again
            fwd.require([origin] + ([view_layer] if view_layer else []))
        with self.lock:
            if method.is_backprop:
                input_grad, layer_grad = self._backprop(fwd, origin, unit, view_layer)
            else:
                input_grad, layer_grad = self._attribution(fwd, method, origin, unit, options, key, progress), None
        self._back = BackData(key, _first_as_numpy(input_grad),
                              None if layer_grad is None else _first_as_numpy(layer_grad))
        self._memo_key, self._memo = None, {}
        return self._back

    def _configure_head(self, target: OutputTarget) -> None:
        region = None if target.region is None else Region(box=target.region)
        if region != self.head.region:
            self.head.region = region

    def _pin_reference(self, x: torch.Tensor, pins: int) -> None:
        """An odd number of pins: this frame's embedding becomes the reference; even: none (unpinned)."""
        self._pins = pins
        if pins % 2 and self.head.kind == "embedding":
            self.head.set_reference_image(self.loaded.module, x)
        else:
            self.head.reference_embedding = self._reference

    @property
    def last_forward(self) -> ForwardData | None:
        return self._forward

    def has_backward(self, key: tuple) -> bool:
        """Whether the backward ``back_key(...)`` is cached."""
        return self._back is not None and self._back.key == key

    def _backprop(self, fwd: ForwardData, origin: str, unit: int,
                  view_layer: str | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        if fwd.graph is None:
            raise RuntimeError("internal: backprop needs a forward recorded with graph_rule")
        top = fwd.outputs[origin]
        with torch.enable_grad():   # the seed "activation": the gradient of half the unit's squared norm
            values = unit_seed(origin, torch.full((top.shape[0],), unit), "activation")({origin: top})
        targets = [fwd.graph] + ([fwd.outputs[view_layer]] if view_layer else [])
        grads = torch.autograd.grad(values.sum(), targets, retain_graph=True, allow_unused=True,
                                    materialize_grads=True)
        return grads[0], (grads[1] if view_layer else None)

    def _attribution(self, fwd: ForwardData, method: Method, origin: str, unit: int, options: Any,
                     key: tuple, progress: Progress) -> torch.Tensor:
        if key != self._memo_key:
            self._memo_key, self._memo = key, {}
        if progress is not NO_PROGRESS:
            progress.memo = self._memo
        module = self.loaded.module
        cam_layer = self.cam_layer(origin) if method.map_kind(options) is MapKind.LAYER else None
        objective = make_objective(module, fwd.x, None, origin, unit)
        with cancel_points(module, progress):
            return method.compute(module, fwd.x, objective, options, cam_layer=cam_layer, progress=progress)

    def faithfulness(self, fwd: ForwardData, back: BackData, origin: str, unit: int,
                     progress: Progress = NO_PROGRESS) -> tuple[float, float]:
        """(deletion AUC, insertion AUC) of the back map ``back`` for the unit's objective (RISE's
        curves, `FAITHFULNESS_STEPS` steps; cached with the back map; cancellable)."""
        if self._faithfulness is not None and self._faithfulness[0] == back.key:
            return self._faithfulness[1]
        module = self.loaded.module
        saliency = torch.from_numpy(back.input_grad)[None].to(fwd.x.device)
        with self.lock, cancel_points(module, progress):
            objective = make_objective(module, fwd.x, None, origin, unit)
            curves = deletion_insertion(module, fwd.x, objective, saliency, steps=FAITHFULNESS_STEPS,
                                        batch_size=FAITHFULNESS_STEPS + 1)
        areas = (float(curves.deletion_auc[0]), float(curves.insertion_auc[0]))
        self._faithfulness = (back.key, areas)
        return areas

    def input_map(self, signal: np.ndarray) -> np.ndarray:
        """A map at the network input as the input pane shows it (a pair's maps side by side)."""
        settings = self.loaded.settings
        return side_by_side(signal, settings.input_channels) if settings.two_inputs else signal

    def cam_layer(self, origin: str) -> str:
        return cam_layer_below(self.loaded, origin)


def reference_embedding(loaded: LoadedModel) -> torch.Tensor | None:
    """The embedding of the ``similar_to`` setting's image (an embedding model's reference), or None."""
    head = head_or_plain(loaded.module)
    path = loaded.settings.similar_to
    if path is None or head.kind != "embedding":
        return None
    from deepvis_app.io.images import load_input

    image = load_input(path, loaded.settings.max_image_pixels)
    head.set_reference_image(loaded.module, loaded.preprocessor.to_tensor(image, loaded.device))
    return head.reference_embedding


def _first_as_numpy(signal: torch.Tensor) -> np.ndarray:
    """The first batch item of a back signal as a float32 numpy array."""
    return signal.detach()[0].float().cpu().numpy()
