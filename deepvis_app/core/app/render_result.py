"""A `Result` as a pure function of what the compute thread recorded: the request, the panes' data, the snapshot.

The render thread draws every pane and writes the status line from these three values and the
session's fixed facts (`RenderSetup`) only: it reads no live object (not the inputs' latest frame,
not the frame rate, not the optimize job), so the status line always describes the frame whose
pixels the input pane shows, and a test can render without a thread, a model or a source.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from deepvis_app.core.app.panes import hidden_panes, render_panes
from deepvis_app.core.app.render import PaneData
from deepvis_app.core.app.result import LayerEntry, Result, layer_entries
from deepvis_app.core.app.state import ModelInfo, ViewState
from deepvis_app.core.app.status import Snapshot, status_line
from deepvis_app.core.nn.layers import LayerInfo
from deepvis_app.io.image_arrays import read_only
from deepvis_app.settings.defaults import Settings


@dataclass(frozen=True)
class Request:
    """What the compute thread renders: a view state, the pane sizes, a generation number."""

    generation: int
    state: ViewState
    sizes: tuple[tuple[str, tuple[int, int]], ...]


@dataclass(frozen=True)
class RenderSetup:
    """What stays for a session's life: the model facts, the settings, the layers' names, the help."""

    info: ModelInfo
    settings: Settings
    layers: tuple[LayerInfo, ...]
    help_lines: tuple[tuple[str, str], ...]

    @property
    def pretty(self) -> tuple[str, ...]:
        return tuple(layer.pretty for layer in self.layers)

    def entries(self, state: ViewState) -> tuple[LayerEntry, ...]:
        return layer_entries(list(self.layers), state)


def render_result(setup: RenderSetup, request: Request, data: PaneData, snapshot: Snapshot) -> Result:
    """Every shown pane of ``data`` for the request's state and sizes, with the status line of ``snapshot``."""
    state = request.state
    start = time.perf_counter()
    panes = render_panes(data, state, setup.info, setup.settings, dict(request.sizes))
    if state.debug_level:
        snapshot = dataclasses.replace(snapshot, timings=(*snapshot.timings, ("render", time.perf_counter() - start)))
    labels_shown = panes.aux_mode == "labels" and state.show_label_predictions
    return Result(
        generation=request.generation,
        images={name: read_only(img) for name, img in panes.images.items()},
        stale=frozenset(panes.stale),
        layers=setup.entries(state),
        cursor_on_layer_list=not state.in_grid,
        top_labels=data.top_labels if labels_shown else (),
        aux_mode=panes.aux_mode,
        text=dict(panes.text),
        status=status_line(state, setup.info, setup.pretty, snapshot),
        message=snapshot.message,
        help_lines=setup.help_lines if state.show_help else None,
        hidden_panes=hidden_panes(state),
        grid_shape=panes.grid_shape,
        tile_rects=panes.tile_rects,
        progress=snapshot.progress,
        frame_seq=data.frame_seq,
        input_scale=panes.input_scale,
        overlay=data.overlay,
        snapshot=snapshot,
        activations=data.activations)


def error_result(setup: RenderSetup, request: Request, previous: Result | None, error: str) -> Result:
    """The previous picture (its images, the frame its snapshot names) with ``error`` in the status line."""
    state = request.state
    before = previous or Result(generation=request.generation)
    snapshot = dataclasses.replace(before.snapshot, message=f"error: {error}", error=error, progress=None, timings=())
    return dataclasses.replace(
        before, generation=request.generation, layers=setup.entries(state), cursor_on_layer_list=not state.in_grid,
        top_labels=(), aux_mode="labels", text={}, status=status_line(state, setup.info, setup.pretty, snapshot),
        message=snapshot.message, help_lines=None, hidden_panes=hidden_panes(state), error=error, progress=None,
        snapshot=snapshot)
