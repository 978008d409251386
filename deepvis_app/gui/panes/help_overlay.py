"""The help screen: the window dimmed and every key binding listed, generated from the key table.

Rows come from `Result.help_lines` (built from deepvis_app/keymap.py), so a new binding shows
up here without touching the GUI. Rows flow into as many columns as the window needs; the font
shrinks before anything is cut off (from 17 px times the settings' `font_scale`).
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from deepvis_app.gui.theme import bold_font, scaled_px

KEY_COLOR = QColor(150, 240, 150)
TEXT_COLOR = QColor(230, 230, 230)
TITLE = "Keys  (h closes this help)"
INSET = 0.07


class HelpOverlay(QWidget):
    """Covers its parent; transparent to the mouse; shows `rows` of (keys, description)."""

    def __init__(self, parent: QWidget, font_scale: float = 1.0):
        super().__init__(parent)
        self._font_scale = font_scale
        self.setObjectName("help_overlay")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._rows: tuple[tuple[str, str], ...] = ()
        self.hide()

    def set_rows(self, rows: tuple[tuple[str, str], ...] | None) -> None:
        """Show the overlay with `rows`, or hide it for None."""
        self._rows = tuple(rows or ())
        self.setVisible(rows is not None)
        if rows is not None:
            self.setGeometry(self.parentWidget().rect())
            self.raise_()
        self.update()

    @property
    def rows(self) -> tuple[tuple[str, str], ...]:
        return self._rows

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(0, 0, 0, 120))
        panel = self._panel()
        painter.setPen(QColor(90, 90, 90))
        painter.setBrush(QColor(20, 20, 24, 235))
        painter.drawRoundedRect(panel, 8, 8)
        inner = panel.adjusted(20, 14, -20, -14)
        font, columns = self._fit(inner)
        title_font = QFont(font)
        title_font.setBold(True)
        title_font.setPixelSize(round(font.pixelSize() * 1.2))
        painter.setFont(title_font)
        painter.setPen(TEXT_COLOR)
        title_h = QFontMetrics(title_font).height() * 1.6
        painter.drawText(inner.adjusted(0, 0, 0, -(inner.height() - title_h)), Qt.AlignmentFlag.AlignLeft, TITLE)
        self._draw_rows(painter, font, inner.adjusted(0, title_h, 0, 0), columns)
        painter.end()

    def _panel(self) -> QRectF:
        return QRectF(self.rect()).adjusted(self.width() * INSET, self.height() * INSET,
                                            -self.width() * INSET, -self.height() * INSET)

    def row_font(self) -> QFont:
        """The font the rows are drawn in at the overlay's current size."""
        return self._fit(self._panel().adjusted(20, 14, -20, -14))[0]

    def _fit(self, area: QRectF) -> tuple[QFont, int]:
        """The largest font (and column count) that shows every row inside `area`."""
        font = QFont(self.font())
        columns = 1
        for size in range(scaled_px(17, self._font_scale), min(scaled_px(8, self._font_scale), 8) - 1, -1):
            font.setPixelSize(size)
            metrics = QFontMetrics(font)
            per_column = max(1, int((area.height() - metrics.height() * 2) // (metrics.height() * 1.25)))
            columns = -(-len(self._rows) // per_column) if self._rows else 1
            if columns * self._column_width(font) <= area.width():
                return font, columns
        return font, columns

    def _column_width(self, font: QFont) -> int:
        text = max((QFontMetrics(font).horizontalAdvance(t) for _, t in self._rows), default=0)
        return self._key_width(font) + text + QFontMetrics(font).horizontalAdvance("    ")

    def _key_width(self, font: QFont) -> int:
        """Width of the keys column: the widest keys in bold, plus a gap."""
        metrics = QFontMetrics(bold_font(font))
        return max((metrics.horizontalAdvance(k) for k, _ in self._rows), default=0) + metrics.horizontalAdvance("   ")

    def _draw_rows(self, painter: QPainter, font: QFont, area: QRectF, columns: int) -> None:
        metrics = QFontMetrics(font)
        per_column = -(-len(self._rows) // columns) if self._rows else 1
        col_w = area.width() / columns
        key_w = self._key_width(font)
        line = metrics.height() * 1.25
        for index, (keys, text) in enumerate(self._rows):
            col, row = divmod(index, per_column)
            x, y = area.x() + col * col_w, area.y() + row * line + metrics.ascent()
            painter.setFont(bold_font(font))
            painter.setPen(KEY_COLOR)
            painter.drawText(round(x), round(y), keys)
            painter.setFont(font)
            painter.setPen(TEXT_COLOR)
            elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, round(col_w - key_w - 8))
            painter.drawText(round(x + key_w), round(y), elided)
