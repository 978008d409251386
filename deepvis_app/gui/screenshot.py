"""Screenshot mode: wait for the first result, type keys, let the compute settle, save a grab.

This is how the README pictures are made and how tests look at the real window. Keys go through
`QApplication.sendEvent` as QKeyEvents, the same path a real key press takes. "Settled" means:
the painted result carries the session's latest generation (so it reflects every typed key)
and no pane is stale (per-unit images still loading), so the grab shows the first frame of the
requested input, never the "waiting for the first frame" placeholder, however slowly the input
opens. That also holds while a video plays. Only when the input reported that it cannot give a
frame (a missing camera, no readable file) does an idle session without a frame count as settled.

The timeout bounds two waits, each on its own: for the first result, then, from the end of
`--after-ms` (which runs after the keys are typed), for the compute to settle. `--after-ms` itself is
never cut short: `--after-ms 200000` waits 200 s, then settles.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QByteArray, QEvent, QIODevice, QObject, QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QWidget

from deepvis_app.gui.keys import key_event
from deepvis_app.gui.panes.input_pane import InputPane
from deepvis_app.io.images import write_bytes_atomic

if TYPE_CHECKING:  # the window imports nothing from here, but keep the import one-way at run time
    from deepvis_app.gui.main_window import MainWindow

POLL_MS = 50
NO_FRAME_IDLE_S = 2.0


def grab_png(widget: QWidget) -> bytes:
    """The widget as it is painted now, as PNG bytes."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    widget.grab().save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def drag_input_pane(window: MainWindow, box: tuple[float, float, float, float]) -> None:
    """Mouse press, move and release on the input pane from (x0, y0) to (x1, y1) in input pixels, as a
    person's drag arrives (the pane maps it back through the shown image)."""
    pane = window.findChild(InputPane)
    result = window.last_result
    if pane is None or result is None or pane.image is None:
        return
    rect = pane.image_rect()
    per_pixel = result.input_scale * rect.width() / pane.image.width

    def at(x: float, y: float) -> QPointF:
        return QPointF(rect.x() + x * per_pixel, rect.y() + y * per_pixel)

    start, end = at(box[0], box[1]), at(box[2], box[3])
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    for kind, pos, buttons in ((QEvent.Type.MouseButtonPress, start, left), (QEvent.Type.MouseMove, end, left),
                               (QEvent.Type.MouseButtonRelease, end, none)):
        button = none if kind == QEvent.Type.MouseMove else left
        QApplication.sendEvent(pane, QMouseEvent(kind, pos, pane.mapToGlobal(pos), button, buttons,
                                                 Qt.KeyboardModifier.NoModifier))


class ScreenshotDriver(QObject):
    """Drives a shown MainWindow; `finished(exit_code)` after saving (or timing out)."""

    finished = Signal(int)

    def __init__(self, window: MainWindow, path: str | Path, keys: list[str], after_ms: int, timeout_s: float = 180.0,
                 drag: tuple[float, float, float, float] | None = None):
        super().__init__(window)
        self.window, self.path, self.keys, self.after_ms = window, Path(path), keys, max(0, after_ms)
        self.drag = drag   # input pixels (x0, y0, x1, y1): dragged with the mouse on the input pane after the keys
        self.error: str | None = None
        self.exit_code: int | None = None
        self._typed = False
        self._no_frame_idle_since: float | None = None
        self._typing_started = False
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self._check_settled)
        self._deadline = QTimer(self, singleShot=True, interval=round(timeout_s * 1000))
        self._deadline.timeout.connect(self._on_timeout)

    def start(self) -> None:
        self.window.resultShown.connect(self._on_result)
        self._deadline.start()

    @Slot(int)
    def _on_result(self, generation: int) -> None:
        if not self._typing_started:
            self._typing_started = True
            QTimer.singleShot(0, self._type_keys)

    @Slot()
    def _type_keys(self) -> None:
        self._deadline.stop()       # the first result came; the settling wait starts after --after-ms
        for token in self.keys:
            QApplication.sendEvent(self.window, key_event(token, press=True))
            QApplication.sendEvent(self.window, key_event(token, press=False))
        self._typed = True
        QTimer.singleShot(self.after_ms, self._start_settling)

    @Slot()
    def _start_settling(self) -> None:
        self._deadline.start()
        self._poll.start()

    @Slot()
    def _check_settled(self) -> None:
        if not self._typed or not self._settled():
            return
        if self.drag is not None:   # on the settled picture: the one shown is the session's latest (same scale)
            drag, self.drag = self.drag, None
            drag_input_pane(self.window, drag)
            return
        self._poll.stop()
        self._deadline.stop()
        self._finish(self._save())

    def _finish(self, code: int) -> None:
        self.exit_code = code
        self.finished.emit(code)

    def _settled(self) -> bool:
        """The painted result reflects every key typed and no pane waits for data.

        While the input is still opening (a video's first frame, a camera warming up) it waits for
        that frame, however long it takes (up to the timeout). Without any input frame for good (a
        camera that reported it is missing, no readable file) panes stay stale: then a session
        idle for `NO_FRAME_IDLE_S` counts as settled, since nothing more is coming.
        """
        result, session = self.window.last_result, self.window.session
        if result is None or result.generation < session.generation:
            return False
        if not result.stale:
            return True
        now = time.monotonic()
        inputs = session.inputs
        if inputs.peek() is not None or inputs.awaiting_frame() or not session.idle():
            self._no_frame_idle_since = None
        elif self._no_frame_idle_since is None:
            self._no_frame_idle_since = now
        return self._no_frame_idle_since is not None and now - self._no_frame_idle_since >= NO_FRAME_IDLE_S

    def _save(self) -> int:
        """Write the grab; 0 on success, 2 (with `error` set) when the file cannot be written."""
        try:
            write_bytes_atomic(self.path, grab_png(self.window))
        except OSError as exc:
            self.error = f"cannot write screenshot {self.path}: {exc.strerror or exc}"
            return 2
        return 0

    @Slot()
    def _on_timeout(self) -> None:
        self._poll.stop()
        state = "no result arrived" if self.window.last_result is None else "the compute did not settle"
        self.error = f"screenshot timed out: {state}; saved what the window showed"
        self._finish(self._save() or 3)
