"""What the input pane draws of the model's output: the predicted mask, the detections, the region.

A segmentation model's predicted classes are blended over the input, each class in its own colour; a
detection model's best boxes are outlined with their number (the unit of the output layer that
explains them) and label, the selected one thicker; the region a dense class is summed over (a drag on
the input pane) is outlined in yellow. `output_overlay` gathers it in the compute thread (numpy only),
`draw_overlay` draws it on the input pane at the pane's scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from deepvis_app.core.nn.outputs import OutputHead

MAX_BOXES = 10          # boxes drawn (the best ones, and the selected one)
MASK_ALPHA = 0.45
REGION_COLOR = (255, 220, 0)
BOX_COLOR = (0, 255, 255)
SELECTED_COLOR = (255, 64, 64)


@dataclass(frozen=True)
class OutputOverlay:
    """Numpy data of one overlay (input pixels)."""

    classes: np.ndarray | None = None                       # (h, w) predicted class per output pixel
    boxes: tuple[tuple[int, tuple[float, float, float, float], str], ...] = ()   # (unit, box, caption)
    selected: int | None = None                             # the selected detection's unit
    region: tuple[int, int, int, int] | None = None


def output_overlay(head: OutputHead, region: tuple[int, int, int, int] | None, selected: int | None,
                   label: Callable[[int], str]) -> OutputOverlay | None:
    """The overlay of the head's last output (None for a classifier or an embedding)."""
    if head.kind == "dense":
        return OutputOverlay(classes=head.predicted_classes(), region=region)
    if head.kind != "detection":
        return None
    boxes, scores, labels = head.detections()
    shown = list(range(min(MAX_BOXES, len(scores))))
    if selected is not None and selected < len(scores) and selected not in shown:
        shown.append(selected)
    items = tuple((i, tuple(float(v) for v in boxes[i]), f"#{i} {label(int(labels[i]))} {scores[i]:.2f}")
                  for i in shown)
    return OutputOverlay(boxes=items, selected=selected)  # type: ignore[arg-type]


def class_colors(count: int) -> np.ndarray:
    """(count, 3) uint8 colours, one per class, evenly spread hues (class 0 dark: often background)."""
    hues = (np.arange(count) * 0.618034 % 1.0 * 179).astype(np.uint8)
    hsv = np.stack([hues, np.full(count, 200, np.uint8), np.full(count, 230, np.uint8)], axis=1)[None]
    colors = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0]
    colors[0] = (40, 40, 40)
    return colors


def draw_overlay(pane: np.ndarray, overlay: OutputOverlay, input_hw: tuple[int, int], scale: float) -> np.ndarray:
    """``pane`` with ``overlay`` drawn on it; input pixel (x, y) is at pane pixel (x, y) * ``scale``."""
    out = pane.copy()
    height, width = (max(1, round(side * scale)) for side in input_hw)
    height, width = min(height, out.shape[0]), min(width, out.shape[1])
    if overlay.classes is not None:
        classes = cv2.resize(overlay.classes.astype(np.int32), (width, height), interpolation=cv2.INTER_NEAREST)
        colors = class_colors(int(classes.max()) + 1)[classes]
        area = out[:height, :width].astype(np.float32)
        out[:height, :width] = np.rint(area * (1 - MASK_ALPHA) + colors * MASK_ALPHA).astype(np.uint8)
    thickness = max(1, round(scale))
    for unit, box, caption in overlay.boxes:
        x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
        chosen = unit == overlay.selected
        color = SELECTED_COLOR if chosen else BOX_COLOR
        cv2.rectangle(out, (x0, y0), (x1, y1), color, thickness * (2 if chosen else 1))
        cv2.putText(out, caption, (x0 + 2, max(10, y0 + 11)), cv2.FONT_HERSHEY_SIMPLEX, 0.38, color, 1,
                    cv2.LINE_AA)
    if overlay.region is not None:
        x0, y0, x1, y1 = (int(round(v * scale)) for v in overlay.region)
        cv2.rectangle(out, (x0, y0), (x1, y1), REGION_COLOR, thickness * 2)
    return out


def box_at(overlay: OutputOverlay | None, x: float, y: float) -> int | None:
    """The unit of the smallest drawn box holding input pixel (x, y), else None."""
    if overlay is None:
        return None
    inside = [(abs((b[2] - b[0]) * (b[3] - b[1])), unit) for unit, b, _ in overlay.boxes
              if b[0] <= x <= b[2] and b[1] <= y <= b[3]]
    return min(inside)[1] if inside else None


def drag_region(overlay: OutputOverlay | None, drag: tuple[float, float, float, float], scale: float,
                input_hw: tuple[int, int]) -> tuple[tuple[int, int, int, int] | None, int | None]:
    """(the region, in input pixels, of a drag over the input pane (pane pixels; None for a drag of under
    3 input pixels), the class most predicted inside it (None without a class map))."""
    height, width = input_hw
    x0, x1 = sorted(min(max(round(v / scale), 0), width) for v in (drag[0], drag[2]))
    y0, y1 = sorted(min(max(round(v / scale), 0), height) for v in (drag[1], drag[3]))
    if x1 - x0 < 3 or y1 - y0 < 3:
        return None, None
    if overlay is None or overlay.classes is None:
        return (x0, y0, x1, y1), None
    classes = overlay.classes
    sy, sx = classes.shape[0] / height, classes.shape[1] / width
    inside = classes[int(y0 * sy):max(int(y0 * sy) + 1, int(y1 * sy)), int(x0 * sx):max(int(x0 * sx) + 1, int(x1 * sx))]
    return (x0, y0, x1, y1), int(np.bincount(inside.ravel()).argmax())
