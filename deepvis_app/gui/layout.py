"""Where each pane goes for a given window size: the original's arrangement, scaled.

Left column: input, aux and back panes as three squares; middle: the layer list (as tall as its
wrapped text needs) above the unit grid; right: the per-unit images column (1:3, like the
original's 300x900) when it is shown. The square side follows the window: a third of the height,
at most a fifth of the width. Pure arithmetic so it can be tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

GAP = 4


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int


def pane_rects(width: int, height: int, control_height: Callable[[int], int],
               show_unit_images: bool) -> dict[str, Rect]:
    """Rects (logical pixels) of every pane in a `width` x `height` area.

    `control_height(w)` is the height the layer list needs at width `w` (its names wrap).
    """
    width, height = max(width, 1), max(height, 1)
    side = max(1, min((height - 2 * GAP) // 3, (width - 2 * GAP) // 5))
    rects = {name: Rect(0, i * (side + GAP), side, side) for i, name in enumerate(("input", "aux", "back"))}
    right = side + GAP if show_unit_images else 0
    mid_x = side + GAP
    mid_w = max(1, width - mid_x - right)
    ctrl_h = min(max(control_height(mid_w), 1), height // 2)
    rects["control"] = Rect(mid_x, 0, mid_w, ctrl_h)
    rects["layers"] = Rect(mid_x, ctrl_h + GAP, mid_w, max(1, height - ctrl_h - GAP))
    if show_unit_images:
        rects["unit_images"] = Rect(width - side, 0, side, min(height, 3 * side + 2 * GAP))
    return rects
