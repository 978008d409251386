"""Pane widgets on their own: images fit with aspect kept, names wrap and map clicks, help fits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from deepvis_app.gui.panes.control_pane import ControlPane
from deepvis_app.gui.panes.help_overlay import HelpOverlay
from deepvis_app.gui.panes.image_pane import ImagePane
from tests.helpers.gui import qimage_to_array

BG, STALE = QColor(51, 51, 51), QColor(77, 77, 51)
RED = (220, 20, 20)


@dataclass(frozen=True)
class Entry:
    name: str
    pretty: str
    selected: bool = False
    back_origin: bool = False


@pytest.fixture
def pane(qtbot):
    widget = ImagePane("input", BG, STALE)
    qtbot.addWidget(widget)
    widget.resize(200, 200)
    widget.set_image(np.tile(np.array(RED, np.uint8), (20, 40, 1)))
    return widget


def test_image_is_scaled_to_fit_with_aspect_kept(pane):
    shown = qimage_to_array(pane.grab().toImage())
    assert tuple(shown[100, 100]) == RED            # centre: image
    assert tuple(shown[20, 100]) == (51, 51, 51)     # above the 200x100 image: background
    rect = pane.image_rect()
    assert (rect.width(), rect.height()) == (200, 100)
    assert pane.to_image_coords(QPointF(100, 100)) == (20.0, 10.0)
    assert pane.to_image_coords(QPointF(100, 10)) is None


def test_anchor_top_and_stale_background(pane):
    pane.anchor_top = True
    pane.set_image(pane.image.array, stale=True)
    shown = qimage_to_array(pane.grab().toImage())
    assert tuple(shown[10, 100]) == RED
    assert tuple(shown[150, 100]) == (77, 77, 51)


def test_device_size_is_the_widget_size_at_ratio_one(pane):
    assert pane.device_size() == (200, 200)


def test_layer_names_wrap_and_clicks_map_to_the_name(qtbot):
    control = ControlPane(BG)
    qtbot.addWidget(control)
    entries = [Entry(f"l{i}", f"block_{i}", selected=i == 3, back_origin=i == 5) for i in range(20)]
    control.set_layers(entries, cursor_on_list=True)
    assert control.height_for_width(200) > control.height_for_width(2000)
    control.resize(300, control.height_for_width(300))
    rects = control.name_rects()
    assert len({r.y() for r in rects}) > 1 and all(r.right() < 300 for r in rects)
    for index in (0, 7, 19):
        assert control.index_at(QPointF(rects[index].center())) == index
    assert control.entry_color(entries[5]).getRgb()[:3] == (140, 190, 255)  # the default look
    assert control.entry_color(entries[0]).getRgb()[:3] == (190, 190, 190)
    assert np.allclose(control.entry_color(entries[3]).getRgb()[:3], (127.5, 255, 127.5), atol=1)
    control.set_layers(entries, cursor_on_list=False)
    assert control.entry_color(entries[3]).getRgb()[:3] == (255, 255, 255)


def test_help_fits_every_row_with_a_font_sized_to_the_window(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    overlay = HelpOverlay(parent)
    rows = tuple((f"Shift+K{i}", f"does thing number {i} to the view") for i in range(40))
    fonts = []
    for size in ((700, 450), (1500, 930)):
        parent.resize(*size)
        overlay.set_rows(rows)
        assert overlay.isVisible() and overlay.geometry() == parent.rect()
        font, columns = overlay._fit(QRectF(overlay.rect()).adjusted(40, 40, -40, -40))
        fonts.append(font.pixelSize())
        assert columns * overlay._column_width(font) <= size[0]
    assert fonts[0] < fonts[1]
    before = qimage_to_array(parent.grab().toImage()).mean()
    overlay.set_rows(None)
    assert not overlay.isVisible()
    assert qimage_to_array(parent.grab().toImage()).mean() > before  # no longer dimmed


def test_the_window_has_one_widget_per_declared_pane_placed_by_its_slot(make_window):
    from deepvis_app.core.app.panes import PANES
    from deepvis_app.gui.panes.aux_pane import AuxPane
    from deepvis_app.gui.panes.input_pane import InputPane
    from deepvis_app.gui.panes.layers_pane import LayersPane

    window = make_window()
    assert list(window.panes) == [spec.name for spec in PANES]
    kinds = {"grid": LayersPane, "text": AuxPane}
    for spec in PANES:
        pane = window.panes[spec.name]
        expected = InputPane if spec.name == "input" else kinds.get(spec.kind, ImagePane)   # drags and clicks
        assert type(pane) is expected and pane.placeholder == spec.placeholder
        assert pane.accessibleName() == spec.title and pane.isVisibleTo(window) == spec.shown(window.session.state)
    left = sorted((window.panes[s.name] for s in PANES if s.slot == "left"), key=lambda p: p.y())
    assert [p.name for p in left] == [s.name for s in PANES if s.slot == "left"]
    assert len({p.x() for p in left}) == 1 and all(p.width() == p.height() for p in left)


def test_aux_pane_names_the_selected_class_on_a_label_layer(make_window, qtbot):
    from tests.helpers.models import WINDOW_CLASSES

    window = make_window()
    label, prob = window.last_result.top_labels[0]
    unit = WINDOW_CLASSES.index(label)
    session = window.session
    session.select_layer(len(session.info.layers) - 1)
    for key in ("k", *["l"] * unit):
        window.handle_key(key)
    aux = window.panes["aux"]
    qtbot.waitUntil(lambda: window.last_result.aux_mode == "class", timeout=5000)
    assert aux.labels[0] == (label, pytest.approx(prob, abs=1e-6)) and f"p = {prob:.2f}" in aux.labels[1][0]
    low, high = np.array(window.settings.class_clr_0), np.array(window.settings.class_clr_1)
    drawn = qimage_to_array(aux.grab().toImage()).reshape(-1, 3).astype(int)
    expected = np.round((low + (high - low) * prob) * 255)
    assert (np.abs(drawn - expected).max(axis=1) <= 3).any()   # the text, in its probability's colour
