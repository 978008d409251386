"""The `debug_window_panes` view: a 1-px outline and the name of every pane, over the window.

The original toolbox drew each pane's outline and name into its OpenCV buffer so users could check
the `window_panes` they wrote. Here the panes are widgets placed by `layout.pane_rects`; this
overlay covers the window's central widget, is transparent to the mouse, and draws the outline of
each visible pane it is given, wherever the layout put it.
"""

from __future__ import annotations

from typing import Callable, Iterable

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from deepvis_app.gui.theme import scaled_px

OUTLINE = QColor(255, 0, 255)
LABEL_BACKGROUND = QColor(0, 0, 0, 170)
FONT_PX = 12

NamedWidgets = Callable[[], Iterable[tuple[str, QWidget]]]


class DebugOutlines(QWidget):
    """Covers `parent`; outlines and names every visible widget `panes()` lists (a descendant of `parent`)."""

    def __init__(self, parent: QWidget, panes: NamedWidgets, font_scale: float = 1.0):
        super().__init__(parent)
        self.setObjectName("debug_outlines")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._panes = panes
        font = QFont(self.font())
        font.setPixelSize(scaled_px(FONT_PX, font_scale))
        self.setFont(font)

    def pane_rects(self) -> dict[str, QRect]:
        """Each visible pane's rect in this overlay's coordinates."""
        return {name: QRect(widget.mapTo(self.parentWidget(), QPoint(0, 0)), widget.size())
                for name, widget in self._panes() if widget.isVisible()}

    def follow_parent(self) -> None:
        """Cover the parent again (after a resize or relayout) and stay on top of the panes."""
        self.setGeometry(self.parentWidget().rect())
        self.raise_()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        pen = QPen(OUTLINE)
        pen.setWidth(0)  # cosmetic: one device pixel
        painter.setPen(pen)
        metrics = painter.fontMetrics()
        for name, rect in self.pane_rects().items():
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
            label = QRect(rect.x() + 1, rect.y() + 1, metrics.horizontalAdvance(name) + 6, metrics.height() + 2)
            painter.fillRect(label & rect.adjusted(1, 1, -1, -1), LABEL_BACKGROUND)  # legible over any image
            painter.drawText(label, Qt.AlignmentFlag.AlignCenter, name)
        painter.end()
