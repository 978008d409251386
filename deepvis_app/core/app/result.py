"""What the window shows, as the session hands it over: `Result` (every pane, the text, the status line)
and the layer list's entries; and the status message that stays on screen a while (`StatusMessages`).

Kept apart from `session` (which computes and draws them) so that what a front end reads, the Qt
window or `deepvis web`, is declared in one small module.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

import numpy as np

from deepvis_app.core.app.render import MethodProgress, StatusInput, TextLine
from deepvis_app.core.app.state import ViewState
from deepvis_app.core.imaging.output_overlay import OutputOverlay
from deepvis_app.core.nn.layers import LayerInfo
from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.io.sources import InputManager

MESSAGE_SHOWN_S = 8.0    # a status message goes away after this long (and the next result)


@dataclass(frozen=True)
class LayerEntry:
    """One entry of the control strip (layer list)."""

    name: str
    pretty: str
    selected: bool
    back_origin: bool


@dataclass(frozen=True, eq=False)
class Result:
    """Everything the window shows; arrays are read-only uint8 HxWx3. Compared by identity (its arrays
    make == meaningless)."""

    generation: int
    images: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    stale: frozenset[str] = frozenset()
    layers: tuple[LayerEntry, ...] = ()
    cursor_on_layer_list: bool = True
    top_labels: tuple[tuple[str, float], ...] = ()
    aux_mode: str = "labels"                 # "labels" (top-5), "unit" (enlarged), "class" (its label)
    text: dict[str, tuple[TextLine, ...]] = dataclasses.field(default_factory=dict)  # lines over a pane
    status: str = ""
    message: str | None = None
    help_lines: tuple[tuple[str, str], ...] | None = None
    hidden_panes: frozenset[str] = frozenset()   # panes the view switched off (`core.panes`)
    grid_shape: tuple[int, int] = (1, 1)
    tile_rects: tuple[tuple[int, int, int, int], ...] = ()
    error: str | None = None                 # the request failed: "Type: message" (also in message)
    progress: MethodProgress | None = None   # a slow method is still running (this is a partial result)
    frame_seq: int | None = None             # the input frame the panes show (its number in its source)
    input_scale: float = 1.0                 # input pixels -> pixels of images["input"] (clicks, drags)
    overlay: OutputOverlay | None = None     # what the input pane shows of the output (boxes a click picks)


class StatusMessages:
    """The latest status message, shown for `MESSAGE_SHOWN_S` from the first result that carries it
    (thread-safe). Counting from when it was added let a message that came while the machine was busy
    expire before any result showed it."""

    def __init__(self, first: str | None):
        self._lock = threading.Lock()
        self._text: str | None = first
        self._since: float | None = None

    def add(self, text: str) -> None:
        with self._lock:
            self._text, self._since = text, None

    def current(self) -> str | None:
        with self._lock:
            now = time.monotonic()
            if self._since is None:
                self._since = now
            return self._text if now - self._since < MESSAGE_SHOWN_S else None


def layer_entries(layers: list[LayerInfo], state: ViewState) -> tuple[LayerEntry, ...]:
    """The control strip: every layer, the current one selected, the frozen origin's layer marked."""
    return tuple(LayerEntry(info.name, info.pretty, index == state.layer_idx,
                            state.backprop_selection_frozen and index == state.backprop_layer)
                 for index, info in enumerate(layers))


def input_status(inputs: InputManager, loaded: LoadedModel) -> StatusInput:
    """What the status line says of the input: the frame's name, its place in the list, frozen, its
    ground-truth label (a list file's second column; a class index is named)."""
    frame = inputs.latest()
    if frame is None:
        return StatusInput()
    mode = inputs.mode
    truth = inputs.ground_truth(frame)
    if truth is not None and truth.isdigit() and loaded.labels:
        truth = f"{truth} {loaded.label(int(truth))}"   # a class index, named
    if mode == "files":
        index, count = inputs.position()
        return StatusInput(frame.name, f"{index + 1} of {count}" if count > 1 else None, truth=truth)
    name = f"{frame.name} #{frame.seq}" if mode == "camera" else frame.name
    return StatusInput(name, None, inputs.frozen, truth)
