"""The help screen: the window dimmed and every key binding listed, generated from the key table.

Rows come from `Result.help_lines` (built from deepvis_app/keymap.py), so a new binding shows
up here without touching the GUI. Rows flow into as many columns as the window needs; a
description longer than its column wraps onto more lines (word by word) inside the box, and the
font shrinks (from 17 px times the settings' `font_scale`) until every line fits: nothing is cut
off or runs past the box (the `N` line lists every method, the `S` line every pattern source).
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
LINE_SPACING = 1.25    # line height in font heights
MAX_COLUMNS = 4
MIN_TEXT_CHARS = 24    # a column narrower than this many average characters of text is not tried


def wrap_text(text: str, metrics: QFontMetrics, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` at word boundaries (a word wider than the
    line is broken between characters)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if metrics.horizontalAdvance(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while metrics.horizontalAdvance(word) > width and len(word) > 1:
            cut = max(1, len(word) - 1)
            while cut > 1 and metrics.horizontalAdvance(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line or not lines:
        lines.append(line)
    return lines


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
        inner = self._inner()
        font, columns = self._fit(inner)
        title_font = self._title_font(font)
        painter.setFont(title_font)
        painter.setPen(TEXT_COLOR)
        title_h = self._title_height(font)
        painter.drawText(inner.adjusted(0, 0, 0, -(inner.height() - title_h)), Qt.AlignmentFlag.AlignLeft, TITLE)
        for box, text, is_key in self.line_boxes(font, columns, inner):
            painter.setFont(bold_font(font) if is_key else font)
            painter.setPen(KEY_COLOR if is_key else TEXT_COLOR)
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, text)
        painter.end()

    def _panel(self) -> QRectF:
        return QRectF(self.rect()).adjusted(self.width() * INSET, self.height() * INSET,
                                            -self.width() * INSET, -self.height() * INSET)

    def _inner(self) -> QRectF:
        """The panel less its margins: where the title and the rows go."""
        return self._panel().adjusted(20, 14, -20, -14)

    def row_font(self) -> QFont:
        """The font the rows are drawn in at the overlay's current size."""
        return self._fit(self._inner())[0]

    @staticmethod
    def _title_font(font: QFont) -> QFont:
        title = QFont(font)
        title.setBold(True)
        title.setPixelSize(round(font.pixelSize() * 1.2))
        return title

    def _title_height(self, font: QFont) -> float:
        return QFontMetrics(self._title_font(font)).height() * 1.6

    def _fit(self, area: QRectF) -> tuple[QFont, int]:
        """The largest font (and column count) that shows every row, wrapped, inside `area`."""
        font = QFont(self.font())
        fallback = 1
        for size in range(scaled_px(17, self._font_scale), min(scaled_px(8, self._font_scale), 8) - 1, -1):
            font.setPixelSize(size)
            for columns in range(1, MAX_COLUMNS + 1):
                text_width = self._text_width(font, columns, area)
                if text_width < MIN_TEXT_CHARS * QFontMetrics(font).averageCharWidth():
                    break
                fallback = columns
                if self._columns_needed(font, columns, area) <= columns:
                    return font, columns
        return font, fallback

    def _text_width(self, font: QFont, columns: int, area: QRectF) -> float:
        """Width of the description in a column of `columns` over `area`."""
        gap = QFontMetrics(font).horizontalAdvance("    ")
        return area.width() / columns - self._key_width(font) - gap

    def _row_lines(self, font: QFont, columns: int, area: QRectF) -> list[list[str]]:
        metrics = QFontMetrics(font)
        width = max(1.0, self._text_width(font, columns, area))
        return [wrap_text(text, metrics, width) for _, text in self._rows]

    def _columns_needed(self, font: QFont, columns: int, area: QRectF) -> int:
        """Columns the rows fill when wrapped for `columns` columns (rows are never split)."""
        return len(self._flow(font, columns, area))

    def _flow(self, font: QFont, columns: int, area: QRectF) -> list[list[tuple[int, list[str]]]]:
        """The rows (index, wrapped lines) column by column, each column at most as tall as `area`
        below the title."""
        line = QFontMetrics(font).height() * LINE_SPACING
        capacity = max(1, int((area.height() - self._title_height(font)) // line))
        flowed: list[list[tuple[int, list[str]]]] = [[]]
        used = 0
        for index, lines in enumerate(self._row_lines(font, columns, area)):
            if used + len(lines) > capacity and flowed[-1]:
                flowed.append([])
                used = 0
            flowed[-1].append((index, lines))
            used += len(lines)
        return flowed

    def _column_width(self, font: QFont, columns: int | None = None) -> int:
        """Width a column needs at `font`: the keys, the widest (wrapped) description line, a gap."""
        metrics = QFontMetrics(font)
        columns = columns or self._fit(self._inner())[1]
        lines = [line for row in self._row_lines(font, columns, self._inner()) for line in row]
        text = max((metrics.horizontalAdvance(line) for line in lines), default=0)
        return self._key_width(font) + text + metrics.horizontalAdvance("    ")

    def _key_width(self, font: QFont) -> int:
        """Width of the keys column: the widest keys in bold, plus a gap."""
        metrics = QFontMetrics(bold_font(font))
        return max((metrics.horizontalAdvance(k) for k, _ in self._rows), default=0) + metrics.horizontalAdvance("   ")

    def line_boxes(self, font: QFont | None = None, columns: int | None = None,
                   area: QRectF | None = None) -> list[tuple[QRectF, str, bool]]:
        """Every piece of text the rows draw: (its box, the text, whether it is a key), at the
        overlay's current size unless given."""
        area = area or self._inner()
        if font is None or columns is None:
            font, columns = self._fit(area)
        metrics = QFontMetrics(font)
        line = metrics.height() * LINE_SPACING
        col_w = area.width() / columns
        key_w = self._key_width(font)
        text_w = self._text_width(font, columns, area)
        top = area.y() + self._title_height(font)
        boxes: list[tuple[QRectF, str, bool]] = []
        for col, rows in enumerate(self._flow(font, columns, area)):
            y = top
            x = area.x() + col * col_w
            for index, lines in rows:
                boxes.append((QRectF(x, y, key_w, metrics.height()), self._rows[index][0], True))
                for number, text in enumerate(lines):
                    boxes.append((QRectF(x + key_w, y + number * line, text_w, metrics.height()), text, False))
                y += len(lines) * line
        return boxes
