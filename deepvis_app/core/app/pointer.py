"""What a click, a drag or the hovering pointer means on the shown picture: pure functions of a `Result`.

A position is read against the picture the user sees (its tile rectangles, its input scale, its
detection boxes), never against data computed later, so a click lands on the tile that was drawn
under it. The session turns the answers into view-state changes.
"""

from __future__ import annotations

import numpy as np

from deepvis_app.core.app.result import Result
from deepvis_app.core.imaging.output_overlay import box_at, drag_region


def unit_at(result: Result | None, x: float, y: float) -> int | None:
    """The unit whose tile of ``images["layers"]`` holds (x, y), else None."""
    if result is None:
        return None
    for unit, (left, top, width, height) in enumerate(result.tile_rects):
        if left <= x < left + width and top <= y < top + height:
            return unit
    return None


def box_unit(result: Result | None, x: float, y: float) -> int | None:
    """The output unit of the detection box under (x, y) in input-pane pixels, else None."""
    if result is None:
        return None
    return box_at(result.overlay, x / result.input_scale, y / result.input_scale)


def dragged(result: Result, box: tuple[float, float, float, float],
            input_size: tuple[int, int]) -> tuple[tuple[int, int, int, int] | None, int | None]:
    """(the region, in input pixels, that a drag of ``box`` on the input pane sets (None: a tiny drag clears
    it), the output unit of the class most predicted in it, or None)."""
    return drag_region(result.overlay, box, result.input_scale, input_size)


def hover_text(unit: int, activations: np.ndarray | None, label: str | None) -> str:
    """"unit 12  max 3.41  label": the unit, its largest activation in the shown layer's ``activations``
    ((C,) or (C, H, W), the Result's: the frame the grid shows), its class on a label layer."""
    text = f"unit {unit}"
    if activations is not None and unit < len(activations):
        text += f"  max {float(np.max(activations[unit])):.2f}"
    if label is not None:
        text += f"  {label}"
    return text
