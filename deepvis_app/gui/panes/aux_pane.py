"""The aux pane: the selected unit enlarged (an image from the worker), or the top-5 labels.

Labels are drawn as text here, "0.87 tabby cat", each coloured between `class_clr_0` (p = 0)
and `class_clr_1` (p = 1) like the original, with a font sized to the pane.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QWidget

from deepvis_app.gui.panes.image_pane import ImagePane
from deepvis_app.gui.qimage import mix

Rgb = tuple[float, float, float]


class AuxPane(ImagePane):
    """Shows `labels` (list of (label, prob)) when set, else the worker's image."""

    def __init__(self, background: QColor, stale_background: QColor, colors: tuple[Rgb, Rgb],
                 parent: QWidget | None = None):
        super().__init__("aux", background, stale_background, parent)
        self._colors = colors
        self._labels: tuple[tuple[str, float], ...] = ()

    def set_labels(self, labels: tuple[tuple[str, float], ...]) -> None:
        self._labels = tuple(labels)
        self.update()

    @property
    def labels(self) -> tuple[tuple[str, float], ...]:
        return self._labels

    def label_color(self, prob: float) -> QColor:
        return mix(self._colors[0], self._colors[1], prob)

    def paint_overlay(self, painter: QPainter) -> None:
        if not self._labels:
            return
        font = QFont(self.font())
        font.setPixelSize(max(9, min(22, self.height() // 14)))
        painter.setFont(font)
        line = painter.fontMetrics().height() * 1.35
        margin = max(6, self.width() // 30)
        for row, (label, prob) in enumerate(self._labels):
            painter.setPen(self.label_color(prob))
            text = painter.fontMetrics().elidedText(f"{prob:.2f}  {label}", Qt.TextElideMode.ElideRight,
                                                    self.width() - 2 * margin)
            painter.drawText(margin, round(margin + line * (row + 0.8)), text)
