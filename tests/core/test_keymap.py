"""The key table: every original key bound to the original's action, no key twice, help for all."""

from __future__ import annotations

import pytest

from deepvis_app.core.app import actions
from deepvis_app.keymap import KEYMAP, bindings, conflicts, help_rows, key_index, lookup, markdown_table

# The original's bindings (reference doc §2), key -> action id.
ORIGINAL_KEYS = {
    "h": "toggle_help", "q": "quit", "c": "toggle_camera", "f": "toggle_freeze",
    "e": "next_file", "PgDown": "next_file", "w": "prev_file", "PgUp": "prev_file",
    "0": "toggle_stretch", "5": "debug_level", "Esc": "reset_state",
    "Left": "sel_left", "j": "sel_left", "Right": "sel_right", "l": "sel_right",
    "Down": "sel_down", "k": "sel_down", "Up": "sel_up", "i": "sel_up",
    "J": "sel_left_fast", "L": "sel_right_fast", "K": "sel_down_fast", "I": "sel_up_fast",
    "u": "sel_layer_left", "U": "sel_layer_left", "o": "sel_layer_right", "O": "sel_layer_right",
    "z": "zoom_mode", "s": "toggle_pattern_mode", "b": "ez_back_mode_loop", "d": "freeze_back_unit",
    "a": "show_back", "n": "back_mode", "m": "back_filt_mode", "t": "boost_gamma", "T": "boost_individual",
    "8": "toggle_label_predictions", "9": "toggle_unit_jpgs",
}


def test_no_key_bound_twice():
    assert conflicts(KEYMAP) == {}
    assert len({b.action for b in KEYMAP}) == len(KEYMAP)


def test_every_action_has_help_and_an_implementation():
    for binding in KEYMAP:
        assert binding.help.strip() and binding.group in ("base", "view", "new") and binding.keys
        assert binding.action in actions.ACTIONS or binding.action in actions.SESSION_ACTIONS + ("quit",)
    assert set(actions.ACTIONS) <= {b.action for b in KEYMAP}


@pytest.mark.parametrize("key,action", sorted(ORIGINAL_KEYS.items()))
def test_original_keys(key, action):
    assert lookup(key) == action


def test_shift_arrows_move_fast():
    assert [lookup(f"Shift+{k}") for k in ("Left", "Right", "Down", "Up")] == [
        "sel_left_fast", "sel_right_fast", "sel_down_fast", "sel_up_fast"]


def test_new_method_keys_do_not_shadow_original_ones():
    new_keys = {k for b in KEYMAP if b.group == "new" for k in b.keys}
    assert new_keys and not new_keys & set(ORIGINAL_KEYS)


def test_overrides_replace_keys():
    table = key_index({"quit": ("Q", "x")})
    assert table["Q"] == "quit" and table["x"] == "quit" and "q" not in table
    assert ("Q, x", "Quit") in help_rows({"quit": ("Q", "x")})


def test_bad_overrides_are_errors():
    with pytest.raises(ValueError, match="several actions"):
        key_index({"quit": ("l",)})
    with pytest.raises(ValueError, match="unknown action"):
        bindings({"qiut": ("x",)})


def test_help_rows_and_markdown_cover_every_binding():
    rows = help_rows()
    assert len(rows) == len(KEYMAP)
    assert all(f"`{b.keys[0]}`" in markdown_table() for b in KEYMAP)
