"""The window's picture for the browser, and its JPEG, made only while somebody watches.

The page shows the layer list, the status line, the text over panes and the help as HTML (Unicode,
selectable, never cut off), so the picture holds only the pane images, each at the rect the window
gives it (`core.window_layout.pane_rects`: the same arrangement, so a click on the picture maps to
a pane as in the window). Composing and JPEG-encoding a result costs far more than computing a
still image's nothing, so `FrameHub` encodes a result only while a stream client is connected
(in the render thread that delivered it), or on demand when a client asks for a frame.
"""

from __future__ import annotations

import threading
from typing import Any

import cv2
import numpy as np

from deepvis_app.core.app.result import Result
from deepvis_app.core.app.window_layout import Rect, pane_rects

CONTROL_H = 1            # the layer list is HTML above the picture: no room for it inside
JPEG_QUALITY = 85


def layout(width: int, height: int, result: Result | None, stack_vertical: bool = True) -> dict[str, Rect]:
    """The panes' rects in a ``width`` x ``height`` picture (the window's arrangement)."""
    hidden = result.hidden_panes if result is not None else frozenset()
    return pane_rects(width, height, lambda _w: CONTROL_H, hidden, right_as_row=not stack_vertical)


def compose(result: Result | None, size: tuple[int, int], background: tuple[float, float, float],
            stack_vertical: bool = True) -> np.ndarray:
    """A ``size`` (width, height) RGB uint8 picture of ``result``: every pane image at its rect, no text."""
    width, height = size
    frame = np.empty((height, width, 3), np.uint8)
    frame[:] = np.rint(np.asarray(background) * 255).astype(np.uint8)
    if result is None:
        return frame
    for name, rect in layout(width, height, result, stack_vertical).items():
        image = result.images.get(name)
        if image is not None:
            rows, cols = min(image.shape[0], rect.h), min(image.shape[1], rect.w)
            frame[rect.y:rect.y + rows, rect.x:rect.x + cols] = image[:rows, :cols, :3]
    return frame


def encode_jpeg(frame: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", np.ascontiguousarray(frame[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError("OpenCV could not encode the frame")
    return data.tobytes()


class FrameHub:
    """The latest result as JPEG, and the stream clients watching it (at most ``max_viewers``).

    Results are counted as they arrive (`on_result`, the session's render thread); one is composed
    and encoded only when a viewer is connected, or when `refresh` asks for it.
    """

    def __init__(self, session: Any, size: tuple[int, int], background: tuple[float, float, float],
                 stack_vertical: bool = True, max_viewers: int = 8):
        self.session, self.size, self.max_viewers = session, size, max_viewers
        self._background, self._stack = background, stack_vertical
        self._lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._viewers = 0
        self._hidden: frozenset[str] = frozenset()
        self._arrived = 0          # results delivered so far
        self._encoded = -1         # the count `_jpeg` shows
        self._jpeg = b""
        self.encodes = 0           # JPEGs made (the idle benchmark and the tests read it)

    def on_result(self) -> None:
        """The session's callback: a new result (encoded at once only while somebody watches). When the
        view hid or showed a pane, the panes are sized again for the new arrangement, as the window does."""
        result = self.session.latest_result()
        hidden = result.hidden_panes if result is not None else frozenset()
        with self._lock:
            self._arrived += 1
            watched = self._viewers > 0
            relayout, self._hidden = hidden != self._hidden, hidden
        if relayout:
            self.send_pane_sizes()
        if watched:
            self.refresh()

    def send_pane_sizes(self) -> None:
        """Tell the session the size of every pane in the current arrangement."""
        rects = self.layout()
        self.session.set_pane_sizes({name: (r.w, r.h) for name, r in rects.items() if name != "control"})

    def refresh(self) -> tuple[int, bytes]:
        """(number, JPEG) of the latest result, encoded now unless it already is."""
        with self._encode_lock:
            with self._lock:
                number = self._arrived
                if number == self._encoded:
                    return number, self._jpeg
            jpeg = encode_jpeg(compose(self.session.latest_result(), self.size, self._background, self._stack))
            with self._lock:
                self._jpeg, self._encoded = jpeg, number
                self.encodes += 1
            return number, jpeg

    def latest_encoded(self) -> tuple[int, bytes]:
        """(number, JPEG) as last encoded, without encoding anything."""
        with self._lock:
            return self._encoded, self._jpeg

    def layout(self) -> dict[str, Rect]:
        return layout(*self.size, self.session.latest_result(), self._stack)

    def join(self) -> bool:
        """Count one more viewer; False (and nothing counted) when `max_viewers` are watching already."""
        with self._lock:
            if self._viewers >= self.max_viewers:
                return False
            self._viewers += 1
            return True

    def leave(self) -> None:
        with self._lock:
            self._viewers = max(0, self._viewers - 1)

    @property
    def viewers(self) -> int:
        with self._lock:
            return self._viewers
