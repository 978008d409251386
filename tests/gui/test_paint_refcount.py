"""Painting the real panes thousands of times leaves `None`'s reference count where it was.

A binding that drops a reference to `None` per void QPainter call (PySide6 6.12.0 on CPython 3.11)
aborts the app after a minute or two of video (issue 8). Every pane that paints (image, aux with
labels, layers, unit images, control strip, status line, help overlay, placeholder text) is
rendered in each of its states, and the whole window too; the count must stay flat. (From CPython
3.12 `None` is immortal and its count never moves, so there this test cannot fail.)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QWidget

from deepvis_app.gui.panes.aux_pane import AuxPane
from deepvis_app.gui.panes.control_pane import ControlPane
from deepvis_app.gui.panes.help_overlay import HelpOverlay
from deepvis_app.gui.panes.image_pane import ImagePane
from deepvis_app.gui.panes.layers_pane import LayersPane
from deepvis_app.gui.panes.status_pane import StatusPane
from tests.helpers.gui import qimage_to_array

BG, STALE = QColor(51, 51, 51), QColor(77, 77, 51)
PAINTS = 2500
# A leak loses at least one reference per paint (each paint makes several void calls); other
# threads and caches move the count by a few.
TOLERANCE = 64


@dataclass(frozen=True)
class Entry:
    name: str
    pretty: str
    selected: bool = False
    back_origin: bool = False


def picture(height: int, width: int) -> np.ndarray:
    rng = np.random.default_rng(height * width)
    return rng.integers(0, 255, (height, width, 3), dtype=np.uint8)


def painted_widgets(qtbot) -> tuple[QWidget, list[tuple[str, QWidget]]]:
    """(their parent, one widget per pane class and paint path, each with content)."""
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.resize(400, 300)
    enlarged = ImagePane("input", BG, STALE, parent)
    enlarged.set_image(picture(30, 40))                  # scaled up: SmoothPixmapTransform off
    shrunk = ImagePane("back", BG, STALE, parent)
    shrunk.set_image(picture(600, 800), stale=True)      # scaled down: smooth, stale background
    placeholder = ImagePane("unit_images", BG, STALE, parent)
    placeholder.placeholder = "per-unit images off (9)"  # no image: text
    aux = AuxPane(BG, STALE, ((0.5, 0.5, 0.5), (1.0, 1.0, 1.0)), parent)
    aux.set_labels(tuple((f"class {i}", 1.0 / (i + 1)) for i in range(5)))
    layers = LayersPane(BG, STALE, parent)
    layers.set_image(picture(120, 160))
    control = ControlPane(BG, parent=parent)
    control.set_layers([Entry(f"l{i}", f"block_{i}", selected=i == 2, back_origin=i == 4) for i in range(12)],
                       cursor_on_list=True)
    status = StatusPane(BG, parent)
    status.set_text("files 1/7  |  conv1:3  |  back: gradient raw  |  12.0 fps  " * 3)
    help_overlay = HelpOverlay(parent)
    help_overlay.set_rows(tuple((f"K{i}", f"does thing {i}") for i in range(30)))
    widgets = {"image_enlarged": enlarged, "image_shrunk_stale": shrunk, "placeholder": placeholder,
               "aux_labels": aux, "layers": layers, "control": control, "status": status, "help": help_overlay}
    for widget in widgets.values():
        widget.resize(200, 150)
    return parent, list(widgets.items())


def none_drift_over(paint, times: int) -> int:
    paint()  # first paint: fonts, glyph caches
    before = sys.getrefcount(None)
    for _ in range(times):
        paint()
    return sys.getrefcount(None) - before


@pytest.mark.parametrize("index", range(8))
def test_each_pane_paints_without_losing_none_references(qtbot, index):
    _parent, widgets = painted_widgets(qtbot)
    name, widget = widgets[index]
    target = QImage(widget.size(), QImage.Format.Format_RGB32)
    target.fill(0)
    drift = none_drift_over(lambda: widget.render(target), PAINTS)
    assert qimage_to_array(target).std() > 5, f"{name} painted nothing"
    assert abs(drift) < TOLERANCE, f"{name}: None refcount moved by {drift} over {PAINTS} paints"


def test_the_whole_window_repaints_without_losing_none_references(make_window):
    window = make_window()
    window.handle_key("k")
    window.handle_key("b")   # back pane with an image
    window.handle_key("h")   # help overlay over everything
    assert window.help_overlay.isVisible() and window.panes["back"].image is not None
    drift = none_drift_over(window.repaint, PAINTS // 5)
    assert abs(drift) < TOLERANCE, f"None refcount moved by {drift} over {PAINTS // 5} window repaints"
