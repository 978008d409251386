"""Key actions at their edges, written against the survivors of mutation testing of core/actions.py
(docs/testing.md): cycling keys go exactly one step and wrap from any state (S, n, m, M, v, 5, u, Esc,
P, the pair-view key), clamps, moves by one, the back loop and the frozen origin."""

from __future__ import annotations

from deepvis_app.core.app.actions import apply_action
from deepvis_app.core.app.state import PAIR_VIEWS, PATTERN_SOURCES, ModelInfo, initial_state

INFO = ModelInfo(layers=("a", "b", "c"), units=(10, 20, 5), cols=(4, 5, 3),
                 back_methods=("gradient", "deconv", "guided", "occlusion"),
                 back_views=("raw", "gray", "norm", "normblur", "overlay"), colormaps=("jet", "gray", "viridis"))
START = initial_state(INFO)


def _walk(action: str, field: str, state, times: int) -> list:
    seen = []
    for _ in range(times):
        state = apply_action(action, state, INFO)
        seen.append(getattr(state, field))
    return seen


def test_pattern_source_steps_through_every_source_and_wraps():
    seen = _walk("next_pattern_source", "pattern_source", START, len(PATTERN_SOURCES) + 1)
    assert seen == [*PATTERN_SOURCES[1:], PATTERN_SOURCES[0], PATTERN_SOURCES[1]]
    assert apply_action("next_pattern_source", START, INFO).pattern_mode
    assert apply_action("next_pattern_source", START.replace(pattern_source="gone"), INFO).pattern_source \
        == PATTERN_SOURCES[0]


def test_back_mode_from_off_is_gradient_whatever_method_was_chosen():
    state = apply_action("back_mode", START.replace(back_method="occlusion"), INFO)
    assert (state.back_enabled, state.back_method) == (True, "gradient")


def test_back_filter_mode_cycles_the_originals_four_views_and_starts_over_from_others():
    assert _walk("back_filt_mode", "back_view", START, 5) == ["gray", "norm", "normblur", "raw", "gray"]
    assert apply_action("back_filt_mode", START.replace(back_view="overlay"), INFO).back_view == "raw"


def test_colormap_steps_forward_and_wraps():
    assert _walk("next_colormap", "colormap", START, 4) == ["gray", "viridis", "jet", "gray"]
    assert apply_action("next_colormap", START.replace(colormap="magma"), INFO).colormap == "jet"


def test_debug_level_cycles_through_three_levels():
    assert _walk("debug_level", "debug_level", START, 4) == [1, 2, 0, 1]


def test_previous_layer_is_one_layer_back():
    assert apply_action("sel_layer_left", START.replace(layer_idx=2), INFO).layer_idx == 1


def test_reset_keeps_stretch_debug_level_and_help():
    changed = START.replace(stretch_mode=True, debug_level=2, show_help=True, layer_idx=2, back_enabled=True)
    reset = apply_action("reset_state", changed, INFO)
    assert (reset.stretch_mode, reset.debug_level, reset.show_help) == (True, 2, True)
    assert (reset.layer_idx, reset.back_enabled) == (0, False)


def test_pin_counts_presses_and_pair_view_cycles():
    assert _walk("pin_reference", "reference_pins", START, 3) == [START.reference_pins + 1, START.reference_pins + 2,
                                                                  START.reference_pins + 3]
    seen = _walk("next_pair_view", "pair_view", START, len(PAIR_VIEWS) + 1)
    first = PAIR_VIEWS.index(START.pair_view)
    assert seen == [PAIR_VIEWS[(first + i) % len(PAIR_VIEWS)] for i in range(1, len(PAIR_VIEWS) + 2)]


def test_out_of_range_layer_and_unit_are_clamped():
    from deepvis_app.core.app.actions import ensure_valid

    state = ensure_valid(START.replace(layer_idx=7, selected_unit=50), INFO)
    assert (state.layer_idx, state.selected_unit) == (2, 4)
    assert (state.backprop_layer, state.backprop_unit) == (2, 4)      # the unfrozen origin follows


def test_left_moves_one_layer_on_the_list_and_one_unit_in_the_grid():
    from deepvis_app.core.app.actions import move_selection

    assert apply_action("sel_left", START.replace(layer_idx=1), INFO).layer_idx == 0
    assert apply_action("sel_left", START.replace(cursor_area="bottom", selected_unit=3), INFO).selected_unit == 2
    assert move_selection(START.replace(cursor_area="bottom"), INFO, "right").selected_unit == 1   # one by default


def test_up_to_unit_zero_stays_in_the_grid():
    state = apply_action("sel_up", START.replace(cursor_area="bottom", selected_unit=4), INFO)   # 4 columns
    assert (state.in_grid, state.selected_unit) == (True, 0)


def test_back_loop_from_off_is_gradient_raw_and_deconv_norm_goes_off():
    state = apply_action("ez_back_mode_loop", START.replace(back_method="occlusion", back_view="overlay"), INFO)
    assert (state.back_enabled, state.back_method, state.back_view) == (True, "gradient", "raw")
    state = apply_action("ez_back_mode_loop", START.replace(back_enabled=True, back_method="deconv",
                                                            back_view="norm"), INFO)
    assert not state.back_enabled


def test_freezing_records_the_layer_and_the_unit():
    state = apply_action("freeze_back_unit", START.replace(layer_idx=1, cursor_area="bottom", selected_unit=3), INFO)
    assert (state.backprop_selection_frozen, state.backprop_layer, state.backprop_unit) == (True, 1, 3)


def test_next_back_view_from_a_view_not_offered_is_the_first():
    assert apply_action("next_back_view", START.replace(back_view="histogram"), INFO).back_view == "raw"
