"""The window on the real Session (sync mode): keys and mouse change the state and the pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, QPointF, Qt

from deepvis_app.gui.keys import key_event
from deepvis_app.keymap import help_rows
from tests.helpers.gui import pane_pixels, window_pixels


def press(qtbot, window, *tokens: str) -> None:
    """Real QKeyEvents through Qt's event delivery (the path a typed key takes)."""
    for token in tokens:
        event = key_event(token)
        qtbot.keyClick(window, Qt.Key(event.key()), event.modifiers())


def cursor_pixels(window, unit: int) -> int:
    """Pixels of the cursor colour around `unit`'s tile, as drawn on screen."""
    pane = window.panes["layers"]
    shown = pane_pixels(pane)
    scale = shown.shape[1] / pane.image.width
    x, y, w, h = window.last_result.tile_rects[unit]
    x0, y0 = max(0, int((x - 1) * scale)), max(0, int((y - 1) * scale))
    x1, y1 = int(np.ceil((x + w + 1) * scale)), int(np.ceil((y + h + 1) * scale))
    region = shown[y0:y1, x0:x1].astype(int)
    cursor = np.array([round(c * 255) for c in window.settings.layer_clr_cursor])
    return int((np.abs(region - cursor).max(axis=2) <= 2).sum())


def test_first_result_fills_every_pane(make_window):
    window = make_window()
    result = window.last_result
    assert result is not None and result.layers
    assert pane_pixels(window.panes["input"]).std() > 10  # the cat, not a flat fill
    assert window.control.height() > 0 and window.status.text()


def test_l_moves_the_selected_tile_border(make_window, qtbot):
    window = make_window()
    press(qtbot, window, "k")
    assert window.session.state.cursor_area == "bottom"
    before = cursor_pixels(window, 0), cursor_pixels(window, 1)
    press(qtbot, window, "l")
    after = cursor_pixels(window, 0), cursor_pixels(window, 1)
    assert window.session.state.selected_unit == 1
    assert before[0] > before[1] and after[1] > after[0], (before, after)


def test_back_pane_is_blank_until_b(make_window, qtbot):
    window = make_window()
    press(qtbot, window, "k")
    blank = pane_pixels(window.panes["back"])
    assert blank.std() < 1.0
    press(qtbot, window, "b")
    assert window.session.state.back_enabled
    shown = pane_pixels(window.panes["back"])
    assert shown.std() > 5.0


def test_h_shows_every_binding_over_a_dimmed_window(make_window, qtbot):
    window = make_window()
    before = window_pixels(window)
    press(qtbot, window, "h")
    overlay = window.help_overlay
    assert overlay.isVisible()
    expected = help_rows(window.settings.key_overrides, window.session.info.back_methods)
    assert list(overlay.rows) == [tuple(row) for row in expected]
    after = window_pixels(window)
    assert after.mean() < before.mean() - 3  # dimmed
    press(qtbot, window, "h")
    assert not overlay.isVisible()


def test_top_labels_are_coloured_by_probability(make_window):
    window = make_window()
    aux = window.panes["aux"]
    assert window.last_result.aux_mode == "labels" and aux.labels
    probs = [p for _, p in aux.labels]
    assert probs == sorted(probs, reverse=True)
    low, high = np.array(window.settings.class_clr_0), np.array(window.settings.class_clr_1)
    drawn = pane_pixels(aux).reshape(-1, 3).astype(int)
    for _, prob in aux.labels:
        expected = np.round((low + (high - low) * prob) * 255)
        assert (np.abs(drawn - expected).max(axis=1) <= 3).any(), (prob, expected)  # text in its colour


def test_click_on_a_tile_and_on_a_layer_name(make_window, qtbot):
    window = make_window()
    press(qtbot, window, "k")
    pane = window.panes["layers"]
    x, y, w, h = window.last_result.tile_rects[3]
    rect = pane.image_rect()
    scale = rect.width() / pane.image.width
    pos = QPointF(rect.x() + (x + w / 2) * scale, rect.y() + (y + h / 2) * scale).toPoint()
    qtbot.mouseClick(pane, Qt.MouseButton.LeftButton, pos=pos)
    assert window.session.state.selected_unit == 3
    assert cursor_pixels(window, 3) > cursor_pixels(window, 0)
    target = len(window.last_result.layers) - 1
    name_rect = window.control.name_rects()[target]
    qtbot.mouseClick(window.control, Qt.MouseButton.LeftButton, pos=name_rect.center())
    assert window.session.state.layer_idx == target
    assert window.last_result.layers[target].selected


def test_hover_shows_unit_and_label(make_window, qtbot):
    window = make_window()
    press(qtbot, window, "o")
    last = len(window.last_result.layers) - 1
    window.control.layerClicked.emit(last)  # the fc layer: tiles are classes
    pane = window.panes["layers"]
    x, y, w, h = window.last_result.tile_rects[2]
    rect = pane.image_rect()
    scale = rect.width() / pane.image.width
    pos = QPointF(rect.x() + (x + w / 2) * scale, rect.y() + (y + h / 2) * scale).toPoint()
    text = pane.show_hover(pos)
    assert text is not None and "unit 2" in text and "max" in text and "class_2" in text, text
    shown_max = float(text.split("max")[1].split()[0])
    loaded, frame = window.session.loaded, window.session.inputs.latest().image
    fitted = loaded.preprocessor.fit_frame(frame, stretch=window.session.state.stretch_mode)
    with torch.no_grad():
        logits = loaded.module(torch.from_numpy(loaded.preprocessor.to_array(fitted))[None])
    assert abs(shown_max - float(logits[0, 2])) < 0.01  # the fc unit's value, computed independently
    assert pane.show_hover(QPointF(rect.right() + 5, rect.bottom() + 5).toPoint()) is None


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")  # its only constructor
def test_drop_of_an_image_file_shows_it(make_window, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    from deepvis_app.io.images import write_image

    path = tmp_path / "red.png"
    write_image(path, np.tile(np.array([220, 10, 10], np.uint8), (80, 80, 1)))
    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    where, action, no_button, no_mod = QPointF(50, 50), Qt.DropAction.CopyAction, Qt.MouseButton.NoButton, \
        Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(where.toPoint(), action, mime, no_button, no_mod)
    drop = QDropEvent(where, action, mime, no_button, no_mod, QEvent.Type.Drop)
    seq = window.session.inputs.latest().seq
    assert QApplication.sendEvent(window, enter) and enter.isAccepted()
    QApplication.sendEvent(window, drop)
    assert window.session.inputs.wait_for_frame(after_seq=seq, timeout=5) is not None
    window.send_pane_sizes()
    pixels = pane_pixels(window.panes["input"]).reshape(-1, 3).mean(axis=0)
    assert pixels[0] > 180 and pixels[1] < 50, pixels


def test_resize_relayouts_and_renders_at_the_new_size(make_window, qtbot):
    window = make_window()
    before = window.last_result.images["input"].shape
    window.resize(700, 450)
    qtbot.waitUntil(lambda: window.panes["input"].width() < 200, timeout=2000)
    window.send_pane_sizes()
    width, height = window.panes["input"].device_size()
    # the session renders each pane at exactly its device size (the image letterboxed inside)
    assert window.last_result.images["input"].shape == (height, width, 3) != before


def test_9_hides_the_unit_images_pane_and_the_grid_takes_the_room(make_window, qtbot):
    window = make_window()
    width = window.panes["layers"].width()
    assert window.panes["unit_images"].isVisibleTo(window)
    press(qtbot, window, "9")
    assert not window.panes["unit_images"].isVisibleTo(window)
    assert window.panes["layers"].width() > width
    assert window.last_result.images["layers"].shape[1] == window.panes["layers"].device_size()[0]
