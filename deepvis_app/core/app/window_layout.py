"""Where each pane goes for a given window size: the original's arrangement, scaled.

The panes and their slots come from `core.panes.PANES`. Left column: the "left" panes as squares
stacked in declaration order (input, aux, back); middle: the layer list (as tall as its wrapped
text needs) above the "main" pane (the unit grid); right: the "right" panes stacked in one column
(1:3, like the original's 300x900) while any of them is shown, or, with `right_as_row` (the per-unit
images side by side: `unit_images_stack_vertical` False), a strip under the unit grid as high as a
third of the middle column's width (at most half its height). The square side follows the
window: a left-column share of the height, at most a fifth of the width. Pure arithmetic, in the
core so that both front ends read it: the Qt window (`gui/`) and the browser page (`web/`), whose
clicks are mapped back to panes with `pane_at` as the window's mouse handler maps them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from deepvis_app.core.app.panes import PANES, PaneSpec

GAP = 4


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int


def pane_rects(width: int, height: int, control_height: Callable[[int], int],
               hidden: Collection[str] = (), panes: tuple[PaneSpec, ...] = PANES,
               right_as_row: bool = False) -> dict[str, Rect]:
    """Rects (logical pixels) of every shown pane, and of "control", in a `width` x `height` area.

    `control_height(w)` is the height the layer list needs at width `w` (its names wrap); `hidden`
    names panes the view switched off (they get no rect, and the right column goes when empty).
    """
    width, height = max(width, 1), max(height, 1)
    left = [spec.name for spec in panes if spec.slot == "left"]
    rows = max(len(left), 1)
    side = max(1, min((height - (rows - 1) * GAP) // rows, (width - 2 * GAP) // 5))
    rects = {name: Rect(0, i * (side + GAP), side, side) for i, name in enumerate(left) if name not in hidden}
    right = [spec.name for spec in panes if spec.slot == "right" and spec.name not in hidden]
    right_w = side + GAP if right and not right_as_row else 0
    mid_x = side + GAP
    mid_w = max(1, width - mid_x - right_w)
    ctrl_h = min(max(control_height(mid_w), 1), height // 2)
    rects["control"] = Rect(mid_x, 0, mid_w, ctrl_h)
    main = [spec.name for spec in panes if spec.slot == "main" and spec.name not in hidden]
    main_h = max(1, height - ctrl_h - GAP)
    if right and right_as_row:
        row_h = max(1, min(mid_w // 3, main_h // 2))
        main_h = max(1, main_h - row_h - GAP)
        rects.update(_stack(right, mid_x, height - row_h, mid_w, row_h))
    else:
        rects.update(_stack(right, width - side, 0, side, min(height, 3 * side + 2 * GAP)))
    rects.update(_stack(main, mid_x, ctrl_h + GAP, mid_w, main_h))
    return rects


def _stack(names: list[str], x: int, y: int, w: int, h: int) -> dict[str, Rect]:
    """``names`` one below the other, sharing the height ``h`` (GAP between them)."""
    if not names:
        return {}
    each = max(1, (h - (len(names) - 1) * GAP) // len(names))
    return {name: Rect(x, y + i * (each + GAP), w, each) for i, name in enumerate(names)}


def pane_at(rects: dict[str, Rect], x: float, y: float) -> tuple[str, float, float] | None:
    """The pane under (x, y) of the whole window and the point in that pane's own pixels, or None
    (a gap, or outside every pane)."""
    for name, rect in rects.items():
        if rect.x <= x < rect.x + rect.w and rect.y <= y < rect.y + rect.h:
            return name, x - rect.x, y - rect.y
    return None
