"""A pane of kind "text" (the aux pane): the worker's image with text lines drawn over it.

The worker formats the lines ("0.87  tabby cat" for the top-5 labels; a label layer's unit class
and probability); each comes with a value in [0, 1] and is coloured between `class_clr_0` (0)
and `class_clr_1` (1) like the original, with a font sized to the pane (times `font_scale`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QWidget

from deepvis_app.gui.panes.image_pane import ImagePane
from deepvis_app.gui.qimage import mix
from deepvis_app.gui.theme import scaled_px

Rgb = tuple[float, float, float]


class AuxPane(ImagePane):
    """Draws `labels`, (text, value) lines, over the worker's image."""

    def __init__(self, background: QColor, stale_background: QColor, colors: tuple[Rgb, Rgb],
                 parent: QWidget | None = None, name: str = "aux", font_scale: float = 1.0):
        super().__init__(name, background, stale_background, parent)
        self._font_scale = font_scale
        self._colors = colors
        self._labels: tuple[tuple[str, float], ...] = ()

    def set_labels(self, labels: tuple[tuple[str, float], ...]) -> None:
        """Lines of (text, value in [0, 1]) drawn top-left, one a row; () draws none."""
        self._labels = tuple(labels)
        self.update()

    @property
    def labels(self) -> tuple[tuple[str, float], ...]:
        return self._labels

    def label_color(self, prob: float) -> QColor:
        return mix(self._colors[0], self._colors[1], prob)

    def label_font(self) -> QFont:
        """The lines' font: a 14th of the pane's height within 9..22 px, times the font scale."""
        font = QFont(self.font())
        font.setPixelSize(scaled_px(max(9, min(22, self.height() // 14)), self._font_scale))
        return font

    def paint_overlay(self, painter: QPainter) -> None:
        if not self._labels:
            return
        painter.setFont(self.label_font())
        spacing = painter.fontMetrics().height() * 1.35
        margin = max(6, self.width() // 30)
        for row, (line, value) in enumerate(self._labels):
            painter.setPen(self.label_color(value))
            text = painter.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, self.width() - 2 * margin)
            painter.drawText(margin, round(margin + spacing * (row + 0.8)), text)
