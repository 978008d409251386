"""The control strip: every layer's pretty name, word-wrapped; click a name to select the layer.

Colours follow the original: the current layer bold, green while the cursor is on the list and
white while it is in the unit grid; the layer holding the frozen backprop origin light blue.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from PySide6.QtCore import QPointF, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from deepvis_app.gui.qimage import qcolor

PAD_X, PAD_Y, SPACING = 8, 6, 16
FONT_PX = 15
NORMAL = QColor(190, 190, 190)
CURRENT_IN_GRID = QColor(255, 255, 255)
BACK_ORIGIN = QColor(140, 190, 255)


class LayerEntryLike(Protocol):
    """What the strip reads of one layer (`core.session.LayerEntry`)."""

    @property
    def pretty(self) -> str: ...

    @property
    def selected(self) -> bool: ...

    @property
    def back_origin(self) -> bool: ...


class ControlPane(QWidget):
    """`layerClicked(index)` when a layer name is clicked."""

    layerClicked = Signal(int)

    def __init__(self, background: QColor, cursor_color: tuple[float, float, float], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("pane_control")
        self._background = background
        self._cursor_color = qcolor(cursor_color)
        self._entries: tuple[LayerEntryLike, ...] = ()
        self._cursor_on_list = False
        font = QFont(self.font())
        font.setPixelSize(FONT_PX)
        self.setFont(font)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setMouseTracking(True)

    def set_layers(self, entries: Sequence[LayerEntryLike], cursor_on_list: bool) -> bool:
        """Show `entries` (LayerEntry-like); True when the names changed (height may change)."""
        changed = tuple(e.pretty for e in entries) != tuple(e.pretty for e in self._entries)
        self._entries = tuple(entries)
        self._cursor_on_list = cursor_on_list
        self.update()
        return changed

    # --- geometry -----------------------------------------------------------------------------
    def _bold_font(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def name_rects(self, width: int | None = None) -> list[QRect]:
        """One rect per layer name, wrapped to `width` (default: the widget's)."""
        width = self.width() if width is None else width
        metrics = QFontMetrics(self._bold_font())
        line_h = metrics.height() + 4
        x, y, rects = PAD_X, PAD_Y, []
        for entry in self._entries:
            w = metrics.horizontalAdvance(entry.pretty)
            if x > PAD_X and x + w > width - PAD_X:
                x, y = PAD_X, y + line_h
            rects.append(QRect(x, y, w, line_h))
            x += w + SPACING
        return rects

    def height_for_width(self, width: int) -> int:
        rects = self.name_rects(width)
        return (rects[-1].bottom() + 1 + PAD_Y) if rects else QFontMetrics(self.font()).height() + 2 * PAD_Y

    def index_at(self, pos: QPointF) -> int | None:
        point = pos.toPoint()
        for index, rect in enumerate(self.name_rects()):
            if rect.adjusted(-SPACING // 2, 0, SPACING // 2, 0).contains(point):
                return index
        return None

    # --- events -------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        index = self.index_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and index is not None:
            self.layerClicked.emit(index)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt name)
        over = self.index_at(event.position()) is not None
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._background)
        normal, bold = QFont(self.font()), self._bold_font()
        for entry, rect in zip(self._entries, self.name_rects(), strict=True):
            painter.setFont(bold if entry.selected else normal)
            painter.setPen(self.entry_color(entry))
            painter.drawText(rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, entry.pretty)
        painter.end()

    def entry_color(self, entry: LayerEntryLike) -> QColor:
        if entry.selected:
            return self._cursor_color if self._cursor_on_list else CURRENT_IN_GRID
        return BACK_ORIGIN if entry.back_origin else NORMAL
