"""Key actions change the view state as the original toolbox did (reference doc §2, caffevis_app_state)."""

from __future__ import annotations

import pytest

from deepvis_app.core.app.actions import ACTIONS, apply_action, select_layer, select_unit
from deepvis_app.core.app.state import ModelInfo, ViewState, grid_cols, initial_state
from deepvis_app.keymap import lookup

# Three layers: 10 units (4 columns), 20 units (5 columns), 5 units (3 columns).
INFO = ModelInfo(layers=("a", "b", "c"), units=(10, 20, 5), cols=(4, 5, 3), fast_move_dist=3,
                 back_methods=("gradient", "deconv", "guided", "occlusion"),
                 back_views=("raw", "gray", "norm", "normblur", "overlay"), colormaps=("jet", "gray"))
START = initial_state(INFO)


def press(state: ViewState, *keys: str) -> ViewState:
    for key in keys:
        state = apply_action(lookup(key), state, INFO)
    return state


def test_grid_cols_is_the_originals_formula():
    assert [grid_cols(c) for c in (1, 10, 32, 1000, 1280)] == [1, 4, 6, 32, 36]
    assert grid_cols(10, aspect=2.0) == 5


# (start state changes, keys, expected changes); the start is the reset state.
CASES = [
    ({}, "l", {"layer_idx": 1}),                                              # list: next layer
    ({}, "j", {}),                                                            # list: clamps at layer 0
    ({"layer_idx": 2}, "Right", {"layer_idx": 2}),                             # ... and at the last
    ({}, "k", {"cursor_area": "bottom"}),                                     # list -> grid
    ({}, "i", {}),                                                            # up on the list: nothing
    ({"cursor_area": "bottom"}, "l", {"selected_unit": 1}),                   # grid: next unit
    ({"cursor_area": "bottom", "selected_unit": 9}, "l", {"selected_unit": 9}),  # clamps at the last
    ({"cursor_area": "bottom"}, "j", {}),                                     # clamps at 0
    ({"cursor_area": "bottom", "selected_unit": 1}, "k", {"selected_unit": 5}),  # one row = 4 units
    ({"cursor_area": "bottom", "selected_unit": 6}, "i", {"selected_unit": 2}),
    ({"cursor_area": "bottom", "selected_unit": 2}, "i", {"cursor_area": "top"}),  # top row -> list
    ({"cursor_area": "bottom"}, "L", {"selected_unit": 3}),                   # fast: 3 units
    ({"cursor_area": "bottom"}, "K", {"selected_unit": 9}),                   # 3 rows, clamped to 9
    ({"cursor_area": "bottom", "selected_unit": 9}, "I", {"cursor_area": "top", "selected_unit": 1}),  # 9-12+4
    ({}, "L", {"layer_idx": 2}),                                              # fast on the list
    ({"cursor_area": "bottom", "selected_unit": 7}, "o", {"layer_idx": 1, "selected_unit": 7}),
    ({"cursor_area": "bottom", "selected_unit": 7, "layer_idx": 1}, "O", {"layer_idx": 2, "selected_unit": 4}),
    ({"layer_idx": 1}, "u", {"layer_idx": 0}),
    ({}, "z", {"layers_pane_zoom_mode": 1}),
    ({"layers_pane_zoom_mode": 1}, "z", {"layers_pane_zoom_mode": 0}),        # back off: skip zoom 2
    ({"layers_pane_zoom_mode": 1, "back_enabled": True}, "z", {"layers_pane_zoom_mode": 2}),
    ({}, "s", {"pattern_mode": True}),
    ({}, "a", {"layers_show_back": True, "back_enabled": True}),               # a turns back on
    ({"pattern_mode": True}, "a", {"pattern_mode": False}),        # a only leaves pattern mode
    ({"layers_show_back": True, "back_enabled": True}, "a", {"layers_show_back": False}),  # back stays on
    ({}, "n", {"back_enabled": True, "back_method": "gradient"}),
    ({"back_enabled": True}, "n", {"back_enabled": True, "back_method": "deconv"}),
    ({"back_enabled": True, "back_method": "deconv"}, "n", {"back_enabled": False}),
    ({}, "m", {"back_view": "gray"}),
    ({"back_view": "normblur"}, "m", {"back_view": "raw"}),
    ({}, "t", {"boost_gamma_idx": 1}),
    ({"boost_gamma_idx": 3}, "t", {"boost_gamma_idx": 0}),  # wraps
    ({}, "T", {"boost_indiv_idx": 1}),
    ({}, "8", {"show_label_predictions": False}),
    ({}, "9", {"show_unit_jpgs": False}),
    ({}, "h", {"show_help": True}),
    ({}, "0", {"stretch_mode": True}),
    ({}, "5", {"debug_level": 1}),
    ({}, "v", {"back_view": "gray"}),
    ({"back_view": "normblur"}, "v", {"back_view": "overlay"}),
    ({}, "M", {"colormap": "gray"}),
    ({"back_enabled": True, "back_method": "guided"}, "N", {"back_enabled": True, "back_method": "occlusion"}),
    ({"back_enabled": True}, "B", {"back_enabled": True, "back_method": "occlusion"}),
]


@pytest.mark.parametrize("before,key,after", CASES)
def test_key_changes_state(before, key, after):
    start = START.replace(**before)
    expected = start.replace(**after)
    expected = expected.replace(backprop_layer=expected.layer_idx, backprop_unit=expected.selected_unit)
    assert press(start, key) == expected


def test_b_loops_like_the_original():
    seen, state = [], START
    for _ in range(4):
        state = press(state, "b")
        seen.append((state.back_enabled, state.back_method, state.back_view))
    assert seen == [(True, "gradient", "raw"), (True, "gradient", "norm"), (True, "deconv", "raw"),
                    (False, "deconv", "raw")]


def test_origin_follows_selection_until_frozen():
    state = press(START, "o", "k", "l", "l")
    assert (state.backprop_layer, state.backprop_unit) == (1, 2)
    frozen = press(state, "d", "l", "o")
    assert frozen.backprop_selection_frozen
    assert (frozen.backprop_layer, frozen.backprop_unit) == (1, 2)
    assert (frozen.layer_idx, frozen.selected_unit) == (2, 3)
    released = press(frozen, "d")
    assert (released.backprop_layer, released.backprop_unit) == (2, 3)


def test_esc_resets_view_but_not_input_options():
    busy = press(START, "o", "k", "l", "b", "d", "a", "s", "z", "t", "T", "8", "9", "0")
    reset = press(busy, "Esc")
    assert reset == START.replace(stretch_mode=True)


def test_reset_state_uses_settings_defaults():
    info = ModelInfo(("a",), (4,), (2,), boost_indiv_default_idx=2, boost_gamma_default_idx=1,
                     init_show_label_predictions=False, init_show_unit_jpgs=False)
    state = initial_state(info)
    assert (state.boost_indiv(info), state.boost_gamma(info)) == (0.5, 0.7)
    assert not state.show_label_predictions and not state.show_unit_jpgs


def test_back_pane_disabled_rule():
    assert START.back_what_to_disp() == "disabled"
    assert press(START, "b").back_what_to_disp() == "disabled"            # cursor on the layer list
    assert press(START, "b", "k").back_what_to_disp() == "normal"
    assert press(START, "k", "b", "d", "i").back_what_to_disp() == "normal"  # frozen origin


def test_clicks_select_layer_and_unit():
    state = select_unit(START, INFO, 7)
    assert (state.cursor_area, state.selected_unit, state.backprop_unit) == ("bottom", 7, 7)
    state = select_layer(state, INFO, 2)
    assert (state.cursor_area, state.layer_idx, state.selected_unit) == ("top", 2, 4)


def test_every_action_is_pure():
    for name, action in ACTIONS.items():
        before = START.replace(cursor_area="bottom", selected_unit=5)
        after = action(before, INFO)
        assert isinstance(after, ViewState), name
        assert before == START.replace(cursor_area="bottom", selected_unit=5)
