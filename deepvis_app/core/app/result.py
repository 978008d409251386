"""What the window shows, as the session hands it over: `Result` (every pane, the text, the status line)
and the layer list's entries.

Kept apart from `session` (which computes them) and `render_result` (which draws them) so that what a
front end reads, the Qt window or `deepvis web`, is declared in one small module.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from deepvis_app.core.app.render import TextLine
from deepvis_app.core.app.state import ViewState
from deepvis_app.core.app.status import MethodProgress, Snapshot
from deepvis_app.core.imaging.output_overlay import OutputOverlay
from deepvis_app.core.nn.layers import LayerInfo


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
    snapshot: Snapshot = Snapshot()          # what the status line was written from (its frame: frame_seq's)
    activations: np.ndarray | None = None    # the layer the grid shows, (C,) or (C, H, W): a hovered unit's max


def layer_entries(layers: list[LayerInfo], state: ViewState) -> tuple[LayerEntry, ...]:
    """The control strip: every layer, the current one selected, the frozen origin's layer marked."""
    return tuple(LayerEntry(info.name, info.pretty, index == state.layer_idx,
                            state.backprop_selection_frozen and index == state.backprop_layer)
                 for index, info in enumerate(layers))
