"""A pane that shows one worker-rendered uint8 image, scaled to fit with its aspect kept.

The session renders each pane at the device-pixel size the window reports (`device_size`), so
on a HiDPI screen images are drawn 1:1 to physical pixels; when the pane was resized since, the
image is scaled to fit (nearest when enlarging, so tiles stay crisp). A pane whose image is not
recomputed yet is painted on the stale background, as in the original.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from deepvis_app.gui.qimage import PaneImage, to_pane_image


class ImagePane(QWidget):
    """Draws `image` centred in the widget, aspect kept; `placeholder` text when there is none."""

    anchor_top = False  # True: image at the top of the pane (grids, stacked unit images)

    def __init__(self, name: str, background: QColor, stale_background: QColor, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(f"pane_{name}")
        self.name = name
        self._background = background
        self._stale_background = stale_background
        self._image: PaneImage | None = None
        self._stale = False
        self.placeholder = ""
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    # --- content ------------------------------------------------------------------------------
    def set_image(self, array: np.ndarray | None, stale: bool = False) -> None:
        """Show `array` (HxWx3 uint8; None = blank pane); the array is kept alive with its QImage."""
        self._image = None if array is None else to_pane_image(array)
        self._stale = stale
        self.update()

    @property
    def image(self) -> PaneImage | None:
        return self._image

    @property
    def stale(self) -> bool:
        return self._stale

    def device_size(self) -> tuple[int, int]:
        """(width, height) in device pixels: what the session should render for this pane."""
        ratio = self.devicePixelRatioF()
        return max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio))

    # --- geometry -----------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the image is drawn, in widget coordinates (fit, aspect kept, centred)."""
        if self._image is None:
            return QRectF()
        ratio = self.devicePixelRatioF()
        iw, ih = self._image.width / ratio, self._image.height / ratio
        scale = min(self.width() / iw, self.height() / ih) if iw and ih else 1.0
        if abs(scale - 1.0) < 0.02:
            scale = 1.0
        w, h = iw * scale, ih * scale
        return QRectF(round((self.width() - w) / 2), 0.0 if self.anchor_top else round((self.height() - h) / 2), w, h)

    def to_image_coords(self, pos: QPointF) -> tuple[float, float] | None:
        """Widget position -> pixel coordinates in the image, or None outside it."""
        rect = self.image_rect()
        if self._image is None or rect.isEmpty() or not rect.contains(pos):
            return None
        x = (pos.x() - rect.x()) * self._image.width / rect.width()
        y = (pos.y() - rect.y()) * self._image.height / rect.height()
        return x, y

    # --- painting -----------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.fillRect(self.rect(), self._stale_background if self._stale else self._background)
        if self._image is not None:
            rect = self.image_rect()
            smooth = rect.width() * self.devicePixelRatioF() < self._image.width
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            painter.drawImage(rect, self._image.qimage)
        elif self.placeholder:
            painter.setPen(QColor(150, 150, 150))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
        self.paint_overlay(painter)
        painter.end()

    def paint_overlay(self, painter: QPainter) -> None:
        """Subclasses draw text or marks over the image here."""
