"""The buttons pane (`buttons_pane`): a clickable menu of every key binding, for mouse users.

The arikpoz fork of the toolbox added an 8th pane, `caffevis_buttons`, a text menu mirroring the
keys. Here it is generated from the key table (deepvis_app/keymap.py, with the settings'
`key_overrides`), one section per help group, so a new binding gets a button without touching
the GUI. Each button shows the key it sends (the action's first bound key) and the start of the
action's help line (the whole line is its tooltip); a click emits `keyRequested(key)`, which the
window hands to the session exactly as a typed key. Nothing here takes the keyboard focus, so keys
keep working after a click.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QAbstractButton, QFrame, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from deepvis_app.gui.panes.help_overlay import KEY_COLOR, TEXT_COLOR
from deepvis_app.gui.theme import bold_font, scaled_px
from deepvis_app.keymap import KeyOverrides, bindings, help_rows

FONT_PX = 12
WIDTH_PX = (150, 360)  # the narrowest and widest the pane gets (times font_scale)
# Section titles of the keymap's help groups (a group not listed here is titled by its name).
GROUP_TITLES = {"base": "Input and window", "view": "Layers, modes and backprop", "new": "Methods and views"}
_CUT = re.compile(r" \(|; ")  # a help line's short form ends at its first parenthesis or clause


def short_label(help_text: str) -> str:
    """The start of a help line: up to its first " (" or "; " ("Next static file (from ...)" -> "Next static file")."""
    return _CUT.split(help_text, maxsplit=1)[0]


class ActionButton(QAbstractButton):
    """A flat row: the key in the help overlay's key colour, then the label, elided to the row's width."""

    def __init__(self, action: str, key: str | None, label: str, tooltip: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.action = action
        self.key = key
        self.label = label
        self.setText(f"{key or '-'}  {label}")
        self.setToolTip(tooltip)
        self.setAccessibleName(f"{label} ({key})" if key else label)
        self.setEnabled(key is not None)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # elided to the pane's width

    def key_width(self) -> int:
        return QFontMetrics(bold_font(self.font())).horizontalAdvance(self.key or "-")

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        metrics = self.fontMetrics()
        return QSize(metrics.horizontalAdvance(self.text()) + 16, metrics.height() + 6)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt name)
        return QSize(self.fontMetrics().horizontalAdvance("MMMM"), self.sizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        if self.isDown():
            painter.fillRect(self.rect(), QColor(255, 255, 255, 60))
        elif self.underMouse() and self.isEnabled():
            painter.fillRect(self.rect(), QColor(255, 255, 255, 28))
        rect = self.rect().adjusted(6, 0, -6, 0)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.setFont(bold_font(self.font()))
        painter.setPen(KEY_COLOR if self.isEnabled() else TEXT_COLOR.darker(160))
        painter.drawText(rect, align, self.key or "-")
        gap = self.key_width() + self.fontMetrics().horizontalAdvance("  ")
        painter.setFont(self.font())
        painter.setPen(TEXT_COLOR)
        text_rect = rect.adjusted(gap, 0, 0, 0)
        elided = self.fontMetrics().elidedText(self.label, Qt.TextElideMode.ElideRight, max(0, text_rect.width()))
        painter.drawText(text_rect, align, elided)
        painter.end()


class ButtonsPane(QScrollArea):
    """Every action of the key table as a button, by help group; `keyRequested(key)` on a click."""

    keyRequested = Signal(str)

    def __init__(self, overrides: KeyOverrides | None = None, methods: Sequence[str] = (),
                 background: QColor | None = None, parent: QWidget | None = None, font_scale: float = 1.0):
        """`methods`: the back-pane methods, listed in the method-cycle button's tooltip as in the help."""
        super().__init__(parent)
        self.setObjectName("pane_buttons")
        self.setAccessibleName("Buttons")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.verticalScrollBar().setFocusPolicy(Qt.FocusPolicy.NoFocus)
        font = QFont(self.font())
        font.setPixelSize(scaled_px(FONT_PX, font_scale))
        self.setFont(font)
        self.setMinimumWidth(scaled_px(WIDTH_PX[0], font_scale))
        self.setMaximumWidth(scaled_px(WIDTH_PX[1], font_scale))
        if background is not None:
            self.setStyleSheet(f"QScrollArea, QScrollArea > QWidget > QWidget {{ background: {background.name()}; }}")
        self.buttons: dict[str, ActionButton] = {}
        self.sections: dict[str, list[str]] = {}
        self.setWidget(self._build(overrides, methods))

    def _build(self, overrides: KeyOverrides | None, methods: Sequence[str]) -> QWidget:
        inner = QWidget()
        inner.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        column = QVBoxLayout(inner)
        column.setContentsMargins(4, 4, 4, 4)
        column.setSpacing(0)
        table = bindings(overrides)
        rows = help_rows(overrides, methods)  # same order as `table`; the method-cycle line lists methods
        for binding, (keys, text) in zip(table, rows, strict=True):
            if binding.group not in self.sections:
                self.sections[binding.group] = []
                column.addWidget(self._title(GROUP_TITLES.get(binding.group, binding.group.capitalize())))
            key = binding.keys[0] if binding.keys else None
            button = ActionButton(binding.action, key, short_label(binding.help),
                                  f"{keys or 'no key'}: {text}", inner)
            button.clicked.connect(lambda _checked=False, k=key: self._clicked(k))
            column.addWidget(button)
            self.buttons[binding.action] = button
            self.sections[binding.group].append(binding.action)
        column.addStretch(1)
        return inner

    def _title(self, text: str) -> QLabel:
        title = QLabel(text)
        font = bold_font(self.font())
        title.setFont(font)
        title.setContentsMargins(6, 8, 6, 2)
        title.setStyleSheet("color: #a0a0a0")
        title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # a narrow pane clips it
        return title

    def _clicked(self, key: str | None) -> None:
        if key is not None:
            self.keyRequested.emit(key)
