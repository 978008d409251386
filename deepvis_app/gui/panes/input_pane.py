"""The input pane: a click picks a detection, a drag sets a segmentation region.

The session draws the predicted mask, the boxes and the region into the image (`core.output_overlay`);
this pane maps the mouse to image pixels and draws the rubber band while the button is held. A press
and release at (nearly) one place is a click (`clicked`), anything longer a drag (`dragged`).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, Qt
from PySide6.QtWidgets import QWidget

from deepvis_app.gui.panes.image_pane import ImagePane

CLICK_SLOP = 3.0   # widget pixels a press may move and still be a click


class InputPane(ImagePane):
    """`clicked(x, y)` and `dragged(x0, y0, x1, y1)` in image pixels."""

    clicked = Signal(float, float)
    dragged = Signal(float, float, float, float)

    def __init__(self, background: QColor, stale_background: QColor, parent: QWidget | None = None,
                 name: str = "input"):
        super().__init__(name, background, stale_background, parent)
        self._press: QPointF | None = None
        self._now: QPointF | None = None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        if event.button() == Qt.MouseButton.LeftButton and self.to_image_coords(event.position()) is not None:
            self._press = self._now = event.position()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        if self._press is not None:
            self._now = event.position()
            self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        press, self._press, self._now = self._press, None, None
        if press is not None and event.button() == Qt.MouseButton.LeftButton:
            self.update()
            end = self._clamped(event.position())
            start = self.to_image_coords(press)
            stop = self.to_image_coords(end)
            if start is not None and stop is not None:
                moved = (end - press).manhattanLength()
                if moved <= CLICK_SLOP:
                    self.clicked.emit(*start)
                else:
                    self.dragged.emit(*start, *stop)
        super().mouseReleaseEvent(event)

    def _clamped(self, pos: QPointF) -> QPointF:
        rect = self.image_rect().adjusted(0, 0, -0.01, -0.01)
        return QPointF(min(max(pos.x(), rect.left()), rect.right()), min(max(pos.y(), rect.top()), rect.bottom()))

    def paint_overlay(self, painter: QPainter) -> None:
        if self._press is None or self._now is None:
            return
        painter.setPen(QPen(QColor(255, 220, 0), 2, Qt.PenStyle.DashLine))
        painter.drawRect(QRectF(self._press, self._clamped(self._now)).normalized())
