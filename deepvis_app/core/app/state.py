"""The toolbox's view state as one frozen value, and the model facts key actions need.

The original kept this state in a mutable object guarded by a lock shared between the UI and
the Caffe thread (`caffevis_app_state.py`). Here a key action returns a new `ViewState`; the
session posts that value (with a generation number) to the compute thread, so the two threads
never share mutable state and a test can check an action without any thread or model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Any

from deepvis_app.core.imaging.display import grid_cols
from deepvis_app.settings.defaults import Settings

# The original's back modes are "grad" and "deconv"; this rebuild names them as the backprop package.
ORIGINAL_BACK_MODES = ("gradient", "deconv")
ORIGINAL_BACK_VIEWS = ("raw", "gray", "norm", "normblur")
# What pattern mode shows (`S` cycles them, the arikpoz fork's order), with the words the status line uses:
# per unit the optimized image (the layer's sprite), the diversity set (`optimize --diversity`), the top-1
# dataset crop, a histogram of the unit's incoming weights, find-max's histogram of its max activation;
# then one picture for the whole layer (`LAYER_PATTERN_SOURCES`): the correlation matrix of the units'
# weights, find-max's correlation of their max activations.
PATTERN_SOURCES = ("optimized", "diversity", "max_input", "weights_histogram", "max_histogram",
                   "weights_correlation", "activations_correlation")
PATTERN_SOURCE_NAMES = {"optimized": "optimized", "diversity": "diversity", "max_input": "max input",
                        "weights_histogram": "weights histogram", "max_histogram": "max-activation histogram",
                        "weights_correlation": "weights correlation",
                        "activations_correlation": "activations correlation"}
LAYER_PATTERN_SOURCES = ("weights_correlation", "activations_correlation")


class CursorArea(str, Enum):
    """Where the cursor is: the layer list (the original's "top") or the unit grid ("bottom")."""

    LAYER_LIST = "top"
    GRID = "bottom"

    def __str__(self) -> str:
        return self.value


class ZoomMode(IntEnum):
    """What the grid pane shows enlarged (`z` cycles them; the original's 0, 1, 2)."""

    NONE = 0
    UNIT = 1
    BACK = 2


class GridShows(str, Enum):
    """What the unit grid shows (also the first word of the status line)."""

    ACTIVATIONS = "fwd"
    BACK_DIFFS = "back"
    PATTERNS = "pattern"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ModelInfo:
    """What key actions need to know about the model and the settings (no torch, no arrays)."""

    layers: tuple[str, ...]        # layer names, in forward order
    units: tuple[int, ...]         # channels (units) per layer
    cols: tuple[int, ...]          # columns of each layer's unit grid
    fast_move_dist: int = 3
    boost_indiv_choices: tuple[float, ...] = (0.0, 0.3, 0.5, 0.8, 1.0)
    boost_gamma_choices: tuple[float, ...] = (1.0, 0.7, 0.5, 0.3)
    boost_indiv_default_idx: int = 0
    boost_gamma_default_idx: int = 0
    init_show_label_predictions: bool = True
    init_show_unit_jpgs: bool = True
    stretch_default: bool = False
    back_methods: tuple[str, ...] = ORIGINAL_BACK_MODES
    back_views: tuple[str, ...] = ORIGINAL_BACK_VIEWS + ("overlay",)
    colormaps: tuple[str, ...] = ("jet",)

    @classmethod
    def create(cls, layers: list[tuple[str, int]], settings: Settings, **extra: Any) -> ModelInfo:
        """From (name, channels) pairs and the settings; ``extra`` sets method/view/colormap lists."""
        names = tuple(name for name, _ in layers)
        units = tuple(max(1, int(c)) for _, c in layers)
        cols = tuple(grid_cols(c, settings.layers_aspect_ratio) for c in units)
        return cls(names, units, cols, max(1, settings.fast_move_dist), tuple(settings.boost_indiv_choices),
                   tuple(settings.boost_gamma_choices), settings.boost_indiv_default_idx,
                   settings.boost_gamma_default_idx, settings.init_show_label_predictions,
                   settings.init_show_unit_jpgs, settings.static_file_stretch_mode, **extra)


# What the input and back panes show of a two-input network's pair (`1` cycles them).
PAIR_VIEWS = ("both", "first", "second")


@dataclass(frozen=True)
class ViewState:
    """Everything the keys change (the original's CaffeVisAppState, minus locks and caches)."""

    layer_idx: int = 0
    cursor_area: CursorArea = CursorArea.LAYER_LIST
    selected_unit: int = 0
    backprop_layer: int = 0             # origin of the backward pass (follows the selection unless frozen)
    backprop_unit: int = 0
    backprop_selection_frozen: bool = False
    back_enabled: bool = False
    back_method: str = "gradient"       # a backprop method or an attribution method
    back_view: str = "raw"              # a display.BACK_VIEWS entry
    colormap: str = "jet"
    pattern_mode: bool = False
    pattern_source: str = PATTERN_SOURCES[0]   # a PATTERN_SOURCES entry
    layers_pane_zoom_mode: ZoomMode = ZoomMode.NONE
    layers_show_back: bool = False      # grid shows back diffs instead of activations
    boost_indiv_idx: int = 0
    boost_gamma_idx: int = 0
    show_label_predictions: bool = True
    show_faithfulness: bool = False     # deletion / insertion AUC of the back map in the status line
    show_scores: bool = True            # find-max scores on the top images, the unit's value (arik's `r`)
    show_unit_jpgs: bool = True
    show_help: bool = False
    stretch_mode: bool = False
    debug_level: int = 0
    target_region: tuple[int, int, int, int] | None = None   # dense outputs: a box in input pixels (a drag)
    reference_pins: int = 0             # embeddings: presses of the pin key (odd: the frame then shown is pinned)
    pair_view: str = "both"             # two-input networks: a PAIR_VIEWS entry (the original's siamese view)

    def __post_init__(self) -> None:
        # plain "bottom" / 2 (tests, older callers) become the enums
        object.__setattr__(self, "cursor_area", CursorArea(self.cursor_area))
        object.__setattr__(self, "layers_pane_zoom_mode", ZoomMode(self.layers_pane_zoom_mode))

    def replace(self, **changes: Any) -> ViewState:
        return dataclasses.replace(self, **changes)

    @property
    def in_grid(self) -> bool:
        return self.cursor_area is CursorArea.GRID

    @property
    def grid_shows(self) -> GridShows:
        """Patterns (pattern mode), back diffs (``a``) or activations."""
        if self.pattern_mode:
            return GridShows.PATTERNS
        return GridShows.BACK_DIFFS if self.layers_show_back else GridShows.ACTIVATIONS

    def boost_indiv(self, info: ModelInfo) -> float:
        return info.boost_indiv_choices[self.boost_indiv_idx % len(info.boost_indiv_choices)]

    def boost_gamma(self, info: ModelInfo) -> float:
        return info.boost_gamma_choices[self.boost_gamma_idx % len(info.boost_gamma_choices)]

    def back_what_to_disp(self) -> str:
        """The original's rule: "disabled" when back is off, or the cursor is on the layer list and
        the origin is not frozen; else "normal" (the session adds "stale" while not recomputed)."""
        if not self.back_enabled or (not self.in_grid and not self.backprop_selection_frozen):
            return "disabled"
        return "normal"


def initial_state(info: ModelInfo) -> ViewState:
    """The state at start and after Esc (the original's `_reset_user_state`)."""
    return ViewState(boost_indiv_idx=info.boost_indiv_default_idx, boost_gamma_idx=info.boost_gamma_default_idx,
                     show_label_predictions=info.init_show_label_predictions,
                     show_unit_jpgs=info.init_show_unit_jpgs, stretch_mode=info.stretch_default,
                     colormap=info.colormaps[0] if info.colormaps else "jet")
