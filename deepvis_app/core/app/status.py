"""The status line as a pure function of a `Snapshot`: what the compute thread recorded with a picture.

The render thread used to reach back into live objects for the status line (the inputs' latest
frame, the frame rate, the optimize job), so the status could name a newer frame than the panes
showed. The compute thread now records those facts once, next to the data the panes are drawn
from (`Snapshot`), and `status_line` reads only the snapshot and the view state.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepvis_app.core.app.state import PATTERN_SOURCE_NAMES, GridShows, ModelInfo, ViewState, ZoomMode


@dataclass(frozen=True)
class LayerGeometry:
    """The current layer's output shape (C, H, W) or (C,) and its receptive field (height, width) in input
    pixels (None where it could not be composed): the status line's "size 32x112x112, RF 3x3"."""

    shape: tuple[int, ...]
    receptive_field: tuple[int, int] | None = None

    def text(self) -> str:
        size = "size " + "x".join(str(n) for n in self.shape)
        if self.receptive_field is None:
            return size
        return f"{size}, RF {self.receptive_field[0]}x{self.receptive_field[1]}"


@dataclass(frozen=True)
class MethodProgress:
    """A slow method that is still running: shown in the status line."""

    method: str
    fraction: float
    elapsed_s: float
    frame: str | None = None     # the frame it explains, when newer frames wait (video)


@dataclass(frozen=True)
class StatusInput:
    """What the status line says about the input: the frame the panes show."""

    name: str | None = None       # file name, "pan.avi #12", "camera 0 #40"
    position: str | None = None   # "3 of 6" in a list of files
    frozen: bool = False
    truth: str | None = None      # the ground-truth label a list file gives the image (arik's GT label)
    seq: int | None = None        # the frame's number (`Frame.seq`): the one whose pixels the panes show

    def text(self) -> str | None:
        if not self.name:
            return None
        where = f" ({self.position})" if self.position else ""
        truth = f" (GT: {self.truth})" if self.truth else ""
        return f"{self.name}{where}{' frozen' if self.frozen else ''}{truth}"


@dataclass(frozen=True)
class Snapshot:
    """Everything the status line says of one picture, recorded by the compute thread with its data."""

    input: StatusInput = StatusInput()
    fps: float = 0.0
    job: str | None = None                    # the running optimize job's progress
    message: str | None = None                # the notice shown (`core.base.notices`)
    progress: MethodProgress | None = None    # a slow method still running: the picture is partial
    faithfulness: tuple[float, float] | None = None   # deletion / insertion AUC of the back map
    layer: LayerGeometry | None = None
    timings: tuple[tuple[str, float], ...] = ()   # (stage, seconds), shown at debug level
    error: str | None = None                  # the request failed: "Type: message"


def status_line(state: ViewState, info: ModelInfo, pretty: list[str] | tuple[str, ...], snapshot: Snapshot) -> str:
    """The original's status text plus the layer's size and receptive field (the arikpoz fork's second
    status line), the input and a running method: ``fwd|back|pattern: <source>  <layer>:<unit> | Back: ...
    | Boost: b/g | FPS: x | size <C>x<H>x<W>, RF <h>x<w> | <input> | <zoom> | <job> | msg``."""
    parts = [_view_text(state, pretty), _back_text(state, pretty)]
    progress = snapshot.progress
    if progress is not None:
        text = f"{progress.method} {100 * progress.fraction:.0f}% {progress.elapsed_s:.1f} s"
        if progress.frame:
            text += f" on {progress.frame} (newer frames wait)"
        parts.append(text)
    if snapshot.faithfulness is not None:
        deletion, insertion = snapshot.faithfulness
        parts.append(f"deletion AUC {deletion:.3g}, insertion AUC {insertion:.3g}")
    parts.append(f"Boost: {state.boost_indiv(info):g}/{state.boost_gamma(info):g}")
    parts.append(f"FPS: {snapshot.fps:.1f}")
    if snapshot.layer is not None:
        parts.append(snapshot.layer.text())
    if (source := snapshot.input.text()) is not None:
        parts.append(source)
    if state.layers_pane_zoom_mode is not ZoomMode.NONE:
        parts.append(f"zoom: {'unit' if state.layers_pane_zoom_mode is ZoomMode.UNIT else 'back'}")
    if snapshot.timings and state.debug_level:
        parts.append(" ".join(f"{name} {1000 * secs:.0f} ms" for name, secs in snapshot.timings))
    parts.extend(text for text in (snapshot.job, snapshot.message) if text)
    return " | ".join(parts)


def _view_text(state: ViewState, pretty: list[str] | tuple[str, ...]) -> str:
    shows = str(state.grid_shows)
    if state.grid_shows is GridShows.PATTERNS:
        shows += f": {PATTERN_SOURCE_NAMES.get(state.pattern_source, state.pattern_source)}"
    return f"{shows}  {pretty[state.layer_idx]}:{state.selected_unit}"


def _back_text(state: ViewState, pretty: list[str] | tuple[str, ...]) -> str:
    if not state.back_enabled:
        return "Back: off"
    frozen = ", frozen" if state.backprop_selection_frozen else ""
    view = f"{state.back_view}:{state.colormap}" if state.back_view == "overlay" else state.back_view
    return f"Back: {state.back_method}/{view} (from {pretty[state.backprop_layer]}_{state.backprop_unit}{frozen})"
