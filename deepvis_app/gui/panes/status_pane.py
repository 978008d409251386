"""The status line at the bottom: mode, layer:unit, back mode and origin, boosts, fps, messages.

One line, elided when the window is narrow (the full text is the tooltip); messages about
problems (unreadable file, missing camera) show here instead of interrupting the user.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from deepvis_app.gui.theme import scaled_px

TEXT_COLOR = QColor(225, 225, 225)
FONT_PX = 14


class StatusPane(QWidget):
    def __init__(self, background: QColor, parent: QWidget | None = None, font_scale: float = 1.0):
        super().__init__(parent)
        self.setObjectName("pane_status")
        self._background = background
        self._text = ""
        font = self.font()
        font.setPixelSize(scaled_px(FONT_PX, font_scale))
        self.setFont(font)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFixedHeight(QFontMetrics(self.font()).height() + 10)

    def set_text(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.setToolTip(text)
            self.update()

    def text(self) -> str:
        return self._text

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._background)
        painter.setPen(TEXT_COLOR)
        rect = self.rect().adjusted(8, 0, -8, 0)
        elided = painter.fontMetrics().elidedText(self._text, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, elided)
        painter.end()
