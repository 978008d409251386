"""The browser's key names and the window's reach the same key strings (`keymap.browser_key_string`),
so every binding of the key table works from the page: Shift+arrows, Enter, Esc, q."""

from __future__ import annotations

import pytest

from deepvis_app.keymap import SPECIAL_KEYS, browser_key_string, key_index


@pytest.mark.parametrize(("key", "shift", "expected"), [
    ("ArrowLeft", False, "Left"), ("ArrowRight", True, "Shift+Right"), ("ArrowUp", True, "Shift+Up"),
    ("ArrowDown", False, "Down"), ("PageDown", False, "PgDown"), ("PageUp", False, "PgUp"),
    ("Escape", False, "Esc"), ("Enter", False, "Enter"), (" ", False, "Space"), ("F5", False, "F5"),
    ("q", False, "q"), ("L", True, "L"), ("8", False, "8"), ("é", False, "é"),
])
def test_browser_names_become_the_windows_key_strings(key, shift, expected):
    assert browser_key_string(key, shift=shift) == expected


@pytest.mark.parametrize("key", ["Shift", "Control", "Alt", "Meta", "CapsLock", "Unidentified", "", "Dead",
                                 "AudioVolumeUp"])
def test_keys_the_table_never_binds_give_none(key):
    assert browser_key_string(key) is None


def test_modifiers_are_prefixed_as_the_window_does():
    assert browser_key_string("S", shift=True, ctrl=True) == "Ctrl+s"
    assert browser_key_string("ArrowLeft", shift=True, alt=True) == "Alt+Shift+Left"


def test_every_special_key_of_the_table_has_a_browser_name():
    reachable = {browser_key_string(name) for name in
                 ("ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "PageUp", "PageDown", "Escape", "Home",
                  "End", "Enter", "Tab", "Backspace", "Delete", " ", *(f"F{n}" for n in range(1, 13)))}
    assert reachable == set(SPECIAL_KEYS)


def test_the_default_bindings_are_all_reachable_from_a_browser():
    """Every key of the default table is the image of some browser key press."""
    names = {"Left": "ArrowLeft", "Right": "ArrowRight", "Up": "ArrowUp", "Down": "ArrowDown", "PgUp": "PageUp",
             "PgDown": "PageDown", "Esc": "Escape"}
    for key in key_index():
        shift, _, bare = key.rpartition("+")
        assert browser_key_string(names.get(bare, bare), shift=shift == "Shift") == key
