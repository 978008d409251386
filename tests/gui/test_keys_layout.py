"""Key normalisation (QKeyEvent <-> key strings) and the pane layout arithmetic."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent

from deepvis_app.core.app.window_layout import GAP, pane_rects
from deepvis_app.gui.keys import key_event, key_string, parse_key_sequence


@pytest.mark.parametrize("token", ["l", "L", "k", "0", "9", "Left", "Shift+Left", "PgDown", "PgUp", "Esc",
                                   "Up", "Shift+Down", "h", "T"])
def test_key_event_round_trips(token):
    assert key_string(key_event(token)) == token


def test_real_shift_letter_event_gives_upper_case():
    event = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_L, Qt.KeyboardModifier.ShiftModifier, "L")
    assert key_string(event) == "L"


def test_bare_modifier_is_not_a_key():
    event = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Shift, Qt.KeyboardModifier.ShiftModifier, "")
    assert key_string(event) is None


def test_keypad_page_down_without_text():
    event = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_PageDown, Qt.KeyboardModifier.NoModifier, "")
    assert key_string(event) == "PgDown"


def test_parse_key_sequence_accepts_spaces_and_commas_and_rejects_unknown():
    assert parse_key_sequence("l l, k  Shift+Right") == ["l", "l", "k", "Shift+Right"]
    with pytest.raises(ValueError, match="Foo"):
        parse_key_sequence("l Foo")


def _overlap(a, b) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


@pytest.mark.parametrize("size", [(1500, 900), (800, 600), (1920, 1080), (600, 1000), (300, 200)])
@pytest.mark.parametrize("unit_images", [True, False])
def test_panes_fit_do_not_overlap_and_left_column_is_square(size, unit_images):
    width, height = size
    rects = pane_rects(width, height, lambda w: 40, () if unit_images else ("unit_images",))
    assert ("unit_images" in rects) == unit_images
    for rect in rects.values():
        assert rect.x >= 0 and rect.y >= 0 and rect.x + rect.w <= width and rect.y + rect.h <= height
    names = list(rects)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not _overlap(rects[a], rects[b]), (a, b)
    for name in ("input", "aux", "back"):
        assert rects[name].w == rects[name].h
    assert rects["layers"].y == rects["control"].y + rects["control"].h + GAP


def test_panes_grow_with_the_window():
    small = pane_rects(750, 465, lambda w: 30)
    large = pane_rects(1500, 930, lambda w: 30)
    assert large["input"].w >= 2 * small["input"].w - 2 * GAP
    assert large["layers"].w > small["layers"].w
