"""The window's image panes, declared once: `PANES`, and `render_panes`, which draws them.

Adding a pane used to touch the renderer, the session, the window, the layout and their tests.
Here a pane is one `PaneSpec` plus its render function: the session renders every shown pane at
the size the window reports (or `default_size`), the window makes one widget per spec (`kind`
picks the widget: "grid" maps clicks to tiles, "text" draws text lines over its image) with its
placeholder, and the layout places it by `slot`. Rules follow the original toolbox
(`caffevis/app.py`): the back pane is window background when back is "disabled" (off, or the
cursor on the layer list with the origin not frozen) and olive while stale; the aux pane shows the
selected unit enlarged when the cursor is in the grid, its class and probability on a label layer
(the original's `caffevis_label_layers`), else the top-5 labels; the per-unit images pane shows
the selected unit's images only. No Qt here: `kind` and `slot` are plain words the GUI reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from deepvis_app.core.app.render import (
    PaneData,
    PaneRenderer,
    Panes,
    RenderContext,
    TextLine,
    back_image,
    blank,
    grid_values,
    input_pane,
    layers_pane,
    unit_images_pane,
)
from deepvis_app.core.app.state import ModelInfo, ViewState
from deepvis_app.core.imaging import tiles
from deepvis_app.core.imaging.output_overlay import draw_overlay
from deepvis_app.settings.defaults import Settings

# "left": squares stacked down the left column, in declaration order; "main": below the layer list;
# "right": a column on the right (1:3, like the original's 300x900), there only while its pane is shown.
Slot = Literal["left", "main", "right"]
PaneKind = Literal["image", "text", "grid"]


@dataclass(frozen=True)
class PaneSpec:
    """One image pane of the window."""

    name: str                       # key of `Result.images` and the window's `panes`
    title: str                      # what it shows, in words (the widget's accessible name)
    slot: Slot
    default_size: tuple[int, int]   # (width, height) in the original's 1500x930 window
    render: PaneRenderer
    kind: PaneKind = "image"
    placeholder: str = ""           # drawn while the pane has no image
    anchor_top: bool = False        # image at the top of the pane instead of centred
    toggle: str | None = None       # a bool field of `ViewState` that shows the pane (None: always)

    def shown(self, state: ViewState) -> bool:
        return self.toggle is None or bool(getattr(state, self.toggle))


def render_input(ctx: RenderContext, size: tuple[int, int], panes: Panes) -> None:
    """The input frame (stale until the first frame)."""
    if ctx.data.frame is not None:
        image, panes.input_scale = input_pane(ctx.data.frame, ctx.settings, ctx.state.stretch_mode, size,
                                              ctx.state.pair_view)
        if ctx.data.overlay is not None:
            image = draw_overlay(image, ctx.data.overlay, ctx.settings.input_size, panes.input_scale)
        panes.images["input"] = image
    else:
        panes.stale.add("input")


def render_back(ctx: RenderContext, size: tuple[int, int], panes: Panes) -> None:
    """The back signal; background while disabled, stale while missing or partial."""
    if ctx.state.back_what_to_disp() == "disabled":
        panes.images["back"] = blank(size, ctx.settings.window_background)
    elif ctx.back is None:
        panes.images["back"] = blank(size, ctx.settings.stale_background)
        panes.stale.add("back")
    else:  # a partial map (a slow method still running) is shown, marked stale
        panes.images["back"] = tiles.fit_to_pane(ctx.back, size, ctx.settings.window_background)[0]
        if ctx.data.back_stale:
            panes.stale.add("back")


def render_layers(ctx: RenderContext, size: tuple[int, int], panes: Panes) -> None:
    """The unit grid, or its zoomed forms."""
    layers_pane(ctx.data, ctx.state, ctx.info, ctx.settings, size, ctx.values, ctx.back, panes)


def render_aux(ctx: RenderContext, size: tuple[int, int], panes: Panes) -> None:
    """A label layer's selected unit: its class and probability; another layer's: the unit enlarged;
    cursor on the layer list (or pattern mode): the top-5 labels, when they are switched on."""
    state, data = ctx.state, ctx.data
    score = unit_score_lines(ctx) if state.show_scores else ()
    if data.unit_class is not None:
        label, prob = data.unit_class
        panes.aux_mode = "class"
        panes.images["aux"] = blank(size, ctx.settings.window_background)
        panes.text["aux"] = class_lines(state.selected_unit, label, prob) + score
    elif state.in_grid and ctx.values is not None and not state.pattern_mode:
        panes.aux_mode = "unit"
        unit = ctx.values[min(state.selected_unit, len(ctx.values) - 1)]
        panes.images["aux"] = tiles.fit_to_pane(unit, size, ctx.settings.window_background)[0]
        panes.text["aux"] = score
    elif state.show_label_predictions:
        panes.text["aux"] = tuple((f"{prob:.2f}  {label}", prob) for label, prob in data.top_labels)


def unit_score_lines(ctx: RenderContext) -> tuple[TextLine, ...]:
    """arik's score overlay: the selected unit's activation ("act"), or its back diff ("grad") when the
    grid shows diffs; a spatial unit's largest value (of |diff|), "max" said."""
    state = ctx.state
    source = ctx.data.layer_grads if state.layers_show_back else ctx.data.activations
    if source is None or not state.in_grid or not len(source):
        return ()
    values = np.asarray(source[min(state.selected_unit, len(source) - 1)], dtype=np.float64)
    kind = "grad" if state.layers_show_back else "act"
    if values.size == 1:
        return ((f"{kind}: {float(values.reshape(-1)[0]):.4g}", 1.0),)
    largest = float(np.abs(values).max() if state.layers_show_back else values.max())
    return ((f"{kind} max: {largest:.4g}", 1.0),)


def class_lines(unit: int, label: str, prob: float | None) -> tuple[TextLine, ...]:
    """The aux pane's text for a label layer's unit: its label, then its probability."""
    value = 1.0 if prob is None else prob
    lines = [(label, value)]
    lines.append((f"unit {unit}" if prob is None else f"unit {unit}  p = {prob:.2f}", value))
    return tuple(lines)


def render_unit_images(ctx: RenderContext, size: tuple[int, int], panes: Panes) -> None:
    """The selected unit's per-unit images: background when not wanted, stale while loading."""
    data, settings = ctx.data, ctx.settings
    if not data.unit_images_wanted:
        panes.images["unit_images"] = blank(size, settings.window_background)
    elif data.unit_images is None:
        panes.images["unit_images"] = blank(size, settings.stale_background)
        panes.stale.add("unit_images")
    else:
        panes.images["unit_images"] = unit_images_pane(data.unit_images, size, settings, ctx.state.show_scores)


PANES: tuple[PaneSpec, ...] = (
    PaneSpec("input", "the input as the network sees it", "left", (300, 300), render_input,
             placeholder="waiting for the first frame"),
    PaneSpec("aux", "the selected unit enlarged, its class, or the top-5 classes", "left", (300, 300),
             render_aux, kind="text"),
    PaneSpec("back", "the backprop or attribution map", "left", (300, 300), render_back,
             placeholder="backprop off\n(b, n)"),
    PaneSpec("layers", "the current layer's units", "main", (900, 870), render_layers, kind="grid",
             anchor_top=True),
    PaneSpec("unit_images", "the selected unit's optimized image, top-9 and their deconvs", "right",
             (300, 900), render_unit_images, placeholder="per-unit images off (9)", anchor_top=True,
             toggle="show_unit_jpgs"),
)
PANE_NAMES = tuple(spec.name for spec in PANES)
DEFAULT_PANE_SIZES: dict[str, tuple[int, int]] = {spec.name: spec.default_size for spec in PANES}


def hidden_panes(state: ViewState) -> frozenset[str]:
    """The panes ``state`` switches off (the layout gives them no room)."""
    return frozenset(spec.name for spec in PANES if not spec.shown(state))


def render_panes(data: PaneData, state: ViewState, info: ModelInfo, settings: Settings,
                 sizes: dict[str, tuple[int, int]]) -> Panes:
    """Every shown pane for this state, each at ``sizes[name]`` (else its default size)."""
    ctx = RenderContext(data, state, info, settings, grid_values(data, state, info),
                        back_image(data, state, settings))
    panes = Panes()
    for spec in PANES:
        if spec.shown(state):
            spec.render(ctx, sizes.get(spec.name) or spec.default_size, panes)
    return panes
