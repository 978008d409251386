"""The window's key names (Qt key codes -> names) are the key table's (`keymap.SPECIAL_KEYS`), the ones
the browser's names map to too: a key bound in settings works in the window and in `deepvis web`."""

from __future__ import annotations

from PySide6.QtCore import Qt

from deepvis_app.gui.keys import SPECIAL_KEYS as QT_KEY_NAMES
from deepvis_app.gui.keys import key_event, key_string
from deepvis_app.keymap import SPECIAL_KEYS, browser_key_string


def test_qt_and_the_key_table_name_the_same_special_keys():
    assert set(QT_KEY_NAMES.values()) == set(SPECIAL_KEYS)


def test_return_and_enter_are_enter_in_the_window_and_in_the_browser():
    assert key_string(key_event("Enter")) == "Enter" == browser_key_string("Enter")
    assert QT_KEY_NAMES[Qt.Key.Key_Return] == QT_KEY_NAMES[Qt.Key.Key_Enter] == "Enter"


def test_shift_arrows_are_the_same_string_in_the_window_and_in_the_browser():
    for qt_name, browser_name in (("Left", "ArrowLeft"), ("Up", "ArrowUp")):
        assert key_string(key_event(f"Shift+{qt_name}")) == browser_key_string(browser_name, shift=True)
