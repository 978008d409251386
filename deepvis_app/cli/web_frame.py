"""The whole toolbox window as one RGB image, without Qt: for `deepvis web` (a browser shows it).

The arikpoz fork of the toolbox served its OpenCV window as an MJPEG stream to a browser
(`run_webui.py`), for machines without a display (the original's issues #6 and #26). Here the
Qt-free `Session` already draws every pane as a uint8 image; `compose` places them where the
window would (`gui.layout.pane_rects`, the one owner of the arrangement, pure arithmetic) and
draws the text the window draws with Qt (layer list, status line, text over a pane, the help
overlay) with OpenCV instead.
"""

from __future__ import annotations

import cv2
import numpy as np

from deepvis_app.core.result import Result
from deepvis_app.gui.layout import Rect, pane_rects

STATUS_H = 24
CONTROL_H = 28
FONT = cv2.FONT_HERSHEY_SIMPLEX
TEXT = (220, 220, 220)
SELECTED = (255, 255, 255)
ORIGIN = (140, 190, 255)


def layout(width: int, height: int, result: Result | None, stack_vertical: bool = True) -> dict[str, Rect]:
    """The panes' rects in a ``width`` x ``height`` frame (status line below them)."""
    hidden = result.hidden_panes if result is not None else frozenset()
    return pane_rects(width, max(1, height - STATUS_H), lambda _w: CONTROL_H, hidden,
                      right_as_row=not stack_vertical)


def compose(result: Result | None, size: tuple[int, int], background: tuple[float, float, float],
            stack_vertical: bool = True) -> np.ndarray:
    """A ``size`` (width, height) RGB uint8 frame of ``result``: every pane image at its rect, the
    layer list, the status line, text over panes and the help overlay."""
    width, height = size
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = np.rint(np.asarray(background) * 255).astype(np.uint8)
    if result is None:
        _text(frame, "loading the model's first result...", (8, height // 2), TEXT)
        return frame
    rects = layout(width, height, result, stack_vertical)
    for name, rect in rects.items():
        if name in result.images:
            _paste(frame, result.images[name], rect)
        for row, (line, value) in enumerate(result.text.get(name, ())):   # e.g. the top-5 over the aux pane
            shade = int(120 + 135 * max(0.0, min(1.0, value)))
            _text(frame, line, (rect.x + 6, rect.y + 18 + 18 * row), (shade, shade, shade))
    _control(frame, rects["control"], result)
    _text(frame, result.status, (4, height - 7), TEXT, scale=0.42)
    if result.help_lines:
        _help(frame, result.help_lines)
    return frame


def _paste(frame: np.ndarray, image: np.ndarray, rect: Rect) -> None:
    height, width = min(image.shape[0], rect.h), min(image.shape[1], rect.w)
    frame[rect.y:rect.y + height, rect.x:rect.x + width] = image[:height, :width, :3]


def _control(frame: np.ndarray, rect: Rect, result: Result) -> None:
    """The layer list: one line of names, the current layer white, the backprop origin's blue."""
    x = rect.x + 4
    for entry in result.layers:
        color = SELECTED if entry.selected else ORIGIN if entry.back_origin else TEXT
        (w, _), _ = cv2.getTextSize(entry.pretty, FONT, 0.5, 1)
        if x + w > rect.x + rect.w:
            break
        _text(frame, entry.pretty, (x, rect.y + 19), color, scale=0.5, thick=2 if entry.selected else 1)
        x += w + 12


def _help(frame: np.ndarray, rows: tuple[tuple[str, str], ...]) -> None:
    height, width = frame.shape[:2]
    top, left = height // 14, width // 14
    box = frame[top:height - top, left:width - left]
    box[:] = (box.astype(np.uint16) // 4).astype(np.uint8)
    step = max(10, min(18, (height - 2 * top - 20) // max(len(rows), 1)))
    for index, (keys, text) in enumerate(rows):
        _text(frame, f"{keys:>12}  {text}", (left + 10, top + 20 + step * index), TEXT, scale=step / 36)


def _text(frame: np.ndarray, text: str, origin: tuple[int, int], color: tuple[int, int, int],
          scale: float = 0.45, thick: int = 1) -> None:
    cv2.putText(frame, text.encode("ascii", "replace").decode(), origin, FONT, scale, color, thick, cv2.LINE_AA)
