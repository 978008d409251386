"""The control strip: every layer's pretty name, word-wrapped; click a name to select the layer.

Colours follow the original (its caffevis_control_clr*, our `control_clr*` settings): the current
layer bold, green while the cursor is on the list and white while it is in the unit grid; the layer
holding the frozen backprop origin light blue; the others grey. Font sizes follow `font_scale`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from PySide6.QtCore import QPointF, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from deepvis_app.gui.qimage import qcolor
from deepvis_app.gui.theme import scaled_px
from deepvis_app.settings.defaults import Settings

PAD_X, PAD_Y, SPACING = 8, 6, 16
FONT_PX = 15
Rgb = tuple[float, float, float]


@dataclass(frozen=True)
class ControlColors:
    """The layer list's text colours (settings RGB in [0, 1]); defaults: the settings' defaults."""

    normal: Rgb = Settings.control_clr
    selected: Rgb = Settings.control_clr_selected   # the current layer, cursor in the grid
    cursor: Rgb = Settings.control_clr_cursor       # the current layer, cursor on the list
    back_origin: Rgb = Settings.control_clr_bp      # the layer holding the frozen backprop origin

    @classmethod
    def from_settings(cls, settings: Settings) -> "ControlColors":
        return cls(settings.control_clr, settings.control_clr_selected, settings.control_clr_cursor,
                   settings.control_clr_bp)


class LayerEntryLike(Protocol):
    """What the strip reads of one layer (`core.result.LayerEntry`)."""

    @property
    def pretty(self) -> str: ...

    @property
    def selected(self) -> bool: ...

    @property
    def back_origin(self) -> bool: ...


class ControlPane(QWidget):
    """`layerClicked(index)` when a layer name is clicked."""

    layerClicked = Signal(int)

    def __init__(self, background: QColor, colors: ControlColors = ControlColors(), parent: QWidget | None = None,
                 font_scale: float = 1.0):
        super().__init__(parent)
        self.setObjectName("pane_control")
        self._background = background
        self._colors = colors
        self._entries: tuple[LayerEntryLike, ...] = ()
        self._cursor_on_list = False
        font = QFont(self.font())
        font.setPixelSize(scaled_px(FONT_PX, font_scale))
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
        return qcolor(entry_rgb(entry, self._cursor_on_list, self._colors))


def entry_rgb(entry: LayerEntryLike, cursor_on_list: bool, colors: ControlColors) -> Rgb:
    """The colour of one layer's name: the current layer's by where the cursor is, else back origin or normal."""
    if entry.selected:
        return colors.cursor if cursor_on_list else colors.selected
    return colors.back_origin if entry.back_origin else colors.normal
