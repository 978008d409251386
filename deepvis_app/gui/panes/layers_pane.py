"""The unit grid: click a tile to select its unit, hover a tile for its index, max and label.

Tiles, the selection border and the frozen-origin mark are drawn by the worker into the image;
this pane only maps mouse positions to image pixels (the session knows where the tiles are).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QPoint, Signal
from PySide6.QtGui import QColor, QMouseEvent, Qt
from PySide6.QtWidgets import QToolTip, QWidget

from deepvis_app.gui.panes.image_pane import ImagePane

HoverText = Callable[[float, float], "str | None"]


class LayersPane(ImagePane):
    """`tileClicked(x, y)`: a click at image pixel (x, y); tooltips come from `hover_text(x, y)`."""

    tileClicked = Signal(float, float)
    anchor_top = True

    def __init__(self, background: QColor, stale_background: QColor, parent: QWidget | None = None,
                 name: str = "layers"):
        super().__init__(name, background, stale_background, parent)
        self.hover_text: HoverText | None = None
        self._last_tip: str | None = None
        self.setMouseTracking(True)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        coords = self.to_image_coords(event.position())
        if event.button() == Qt.MouseButton.LeftButton and coords is not None:
            self.tileClicked.emit(*coords)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        self.show_hover(event.position().toPoint())
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt name)
        self._last_tip = None
        QToolTip.hideText()
        super().leaveEvent(event)

    def show_hover(self, pos: QPoint) -> str | None:
        """Show (and return) the tooltip for the tile under `pos`, hide it off the tiles."""
        coords = self.to_image_coords(pos.toPointF())
        text = self.hover_text(*coords) if coords is not None and self.hover_text is not None else None
        if text != self._last_tip:
            self._last_tip = text
            if text:
                QToolTip.showText(self.mapToGlobal(pos), text, self)
            else:
                QToolTip.hideText()
        return text
