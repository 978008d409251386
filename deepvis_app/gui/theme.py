"""The dark look of the original toolbox, from the settings' window_background colour, and its font scale."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from deepvis_app.gui.qimage import qcolor
from deepvis_app.settings.defaults import Settings


def apply_dark_theme(app: QApplication, settings: Settings) -> None:
    """Fusion style with a palette built around `settings.window_background`."""
    app.setStyle("Fusion")
    base = qcolor(settings.window_background)
    text = QColor(225, 225, 225)
    role = QPalette.ColorRole
    colors = {role.Window: base, role.Base: base.darker(130), role.AlternateBase: base,
              role.Button: base.lighter(120), role.WindowText: text, role.Text: text, role.ButtonText: text,
              role.ToolTipBase: QColor(30, 30, 34), role.ToolTipText: text,
              role.Highlight: qcolor(settings.layer_clr_cursor), role.HighlightedText: QColor(0, 0, 0)}
    palette = QPalette()
    for name, color in colors.items():
        palette.setColor(name, color)
    app.setPalette(palette)
    app.setStyleSheet("QToolTip { color: #e6e6e6; background-color: #1e1e22; border: 1px solid #555; padding: 3px; }")
    font = app.font()
    font.setPixelSize(scaled_px(13, settings.font_scale))
    app.setFont(font)


def scaled_px(pixels: float, font_scale: float) -> int:
    """A font's pixel size times the settings' `font_scale` (the original's global_font_size), at least 1."""
    return max(1, round(pixels * font_scale))


def bold_font(font: QFont) -> QFont:
    """A bold copy of `font`."""
    bold = QFont(font)
    bold.setBold(True)
    return bold
