"""One pure function per key action: ``(ViewState, ModelInfo) -> ViewState``.

Behaviour follows the original toolbox's `caffevis_app_state.handle_key` and `move_selection`:
the cursor is either on the layer list ("top") or in the unit grid ("bottom"); after every action
the selection is clamped to the layer and, unless the origin is frozen, the backprop origin
follows the selection (`_ensure_valid_selected`). Actions with side effects outside the view
(quit, camera, files) are not here; the session performs them (`SESSION_ACTIONS`).
"""

from __future__ import annotations

from collections.abc import Callable

from deepvis_app.core.app.state import (
    ORIGINAL_BACK_MODES,
    ORIGINAL_BACK_VIEWS,
    PAIR_VIEWS,
    PATTERN_SOURCES,
    CursorArea,
    ModelInfo,
    ViewState,
    ZoomMode,
    initial_state,
)

Action = Callable[[ViewState, ModelInfo], ViewState]

# Bound keys whose effect lies outside the view state; the session carries them out: the input's
# (methods of the input manager) and the background jobs'.
INPUT_ACTIONS = ("quit", "toggle_camera", "toggle_freeze", "next_file", "prev_file")
JOB_ACTIONS = ("optimize_unit",)      # start the selected unit's optimization, or cancel the running one
SESSION_ACTIONS = INPUT_ACTIONS + JOB_ACTIONS


def ensure_valid(state: ViewState, info: ModelInfo) -> ViewState:
    """Clamp layer and unit; an unfrozen backprop origin follows the selection."""
    layer = min(max(state.layer_idx, 0), len(info.layers) - 1)
    unit = min(max(state.selected_unit, 0), info.units[layer] - 1)
    state = state.replace(layer_idx=layer, selected_unit=unit)
    if not state.backprop_selection_frozen:
        state = state.replace(backprop_layer=layer, backprop_unit=unit)
    return state


def move_selection(state: ViewState, info: ModelInfo, direction: str, dist: int = 1) -> ViewState:
    """The original's `move_selection`: left/right move the layer (list) or the unit (grid);
    down enters the grid or moves a row; up moves a row and leaves the grid from the top row."""
    cols = info.cols[state.layer_idx]
    if direction in ("left", "right"):
        step = -dist if direction == "left" else dist
        if not state.in_grid:
            state = state.replace(layer_idx=min(max(state.layer_idx + step, 0), len(info.layers) - 1))
        else:
            state = state.replace(selected_unit=state.selected_unit + step)
    elif direction == "down":
        if not state.in_grid:
            state = state.replace(cursor_area=CursorArea.GRID)
        else:
            state = state.replace(selected_unit=state.selected_unit + cols * dist)
    elif direction == "up" and state.in_grid:
        unit = state.selected_unit - cols * dist
        if unit < 0:
            state = state.replace(selected_unit=unit + cols, cursor_area=CursorArea.LAYER_LIST)
        else:
            state = state.replace(selected_unit=unit)
    return ensure_valid(state, info)


def _mover(direction: str, fast: bool) -> Action:
    def action(state: ViewState, info: ModelInfo) -> ViewState:
        return move_selection(state, info, direction, info.fast_move_dist if fast else 1)
    action.__name__ = f"sel_{direction}{'_fast' if fast else ''}"
    return action


def sel_layer_left(state: ViewState, info: ModelInfo) -> ViewState:
    """u: previous layer, the cursor stays where it is (list or grid)."""
    return ensure_valid(state.replace(layer_idx=max(0, state.layer_idx - 1)), info)


def sel_layer_right(state: ViewState, info: ModelInfo) -> ViewState:
    """o: next layer, the cursor stays where it is."""
    return ensure_valid(state.replace(layer_idx=min(len(info.layers) - 1, state.layer_idx + 1)), info)


def reset_state(state: ViewState, info: ModelInfo) -> ViewState:
    """Esc: the original's `_reset_user_state` (input options, help and debug level are not view state there)."""
    fresh = initial_state(info)
    return fresh.replace(stretch_mode=state.stretch_mode, debug_level=state.debug_level, show_help=state.show_help)


def zoom_mode(state: ViewState, info: ModelInfo) -> ViewState:
    """z: none -> selected unit -> backprop image -> none (the backprop step is skipped when back is off)."""
    mode = ZoomMode((state.layers_pane_zoom_mode + 1) % len(ZoomMode))
    if mode is ZoomMode.BACK and not state.back_enabled:
        mode = ZoomMode.NONE
    return state.replace(layers_pane_zoom_mode=mode)


def toggle_pattern_mode(state: ViewState, info: ModelInfo) -> ViewState:
    return state.replace(pattern_mode=not state.pattern_mode)


def next_pattern_source(state: ViewState, info: ModelInfo) -> ViewState:
    """S: pattern mode on, showing the next source (`PATTERN_SOURCES`, from the last back to the first)."""
    index = PATTERN_SOURCES.index(state.pattern_source) + 1 if state.pattern_source in PATTERN_SOURCES else 0
    return state.replace(pattern_mode=True, pattern_source=PATTERN_SOURCES[index % len(PATTERN_SOURCES)])


def show_back(state: ViewState, info: ModelInfo) -> ViewState:
    """a: in pattern mode just leave it; else toggle the grid between activations and back diffs.
    Showing diffs turns backprop on."""
    if state.pattern_mode:
        state = state.replace(pattern_mode=False)
    else:
        state = state.replace(layers_show_back=not state.layers_show_back)
    if state.layers_show_back and not state.back_enabled:
        state = state.replace(back_enabled=True)
    return state


def back_mode(state: ViewState, info: ModelInfo) -> ViewState:
    """n: off -> gradient -> deconv -> off (another method counts as "not gradient", as deconv did)."""
    if not state.back_enabled:
        return state.replace(back_enabled=True, back_method=ORIGINAL_BACK_MODES[0])
    if state.back_method == ORIGINAL_BACK_MODES[0]:
        return state.replace(back_method=ORIGINAL_BACK_MODES[1])
    return state.replace(back_enabled=False)


def back_filt_mode(state: ViewState, info: ModelInfo) -> ViewState:
    """m: raw -> gray -> norm -> normblur -> raw (from any other view: raw)."""
    views = ORIGINAL_BACK_VIEWS
    index = views.index(state.back_view) + 1 if state.back_view in views else 0
    return state.replace(back_view=views[index % len(views)])


def ez_back_mode_loop(state: ViewState, info: ModelInfo) -> ViewState:
    """b: off -> gradient/raw -> gradient/norm -> deconv/raw -> off."""
    grad, deconv = ORIGINAL_BACK_MODES
    if not state.back_enabled:
        return state.replace(back_enabled=True, back_method=grad, back_view="raw")
    if state.back_method == grad and state.back_view == "raw":
        return state.replace(back_view="norm")
    if state.back_method == grad and state.back_view == "norm":
        return state.replace(back_method=deconv, back_view="raw")
    return state.replace(back_enabled=False)


def freeze_back_unit(state: ViewState, info: ModelInfo) -> ViewState:
    """d: freeze the origin at the current layer/unit; unfreezing lets it follow the selection again."""
    frozen = not state.backprop_selection_frozen
    state = state.replace(backprop_selection_frozen=frozen)
    if frozen:
        state = state.replace(backprop_layer=state.layer_idx, backprop_unit=state.selected_unit)
    return ensure_valid(state, info)


def boost_gamma(state: ViewState, info: ModelInfo) -> ViewState:
    return state.replace(boost_gamma_idx=(state.boost_gamma_idx + 1) % len(info.boost_gamma_choices))


def boost_individual(state: ViewState, info: ModelInfo) -> ViewState:
    return state.replace(boost_indiv_idx=(state.boost_indiv_idx + 1) % len(info.boost_indiv_choices))


def _toggle(field: str) -> Action:
    def action(state: ViewState, info: ModelInfo) -> ViewState:
        return state.replace(**{field: not getattr(state, field)})
    action.__name__ = f"toggle_{field}"
    return action


def debug_level(state: ViewState, info: ModelInfo) -> ViewState:
    return state.replace(debug_level=(state.debug_level + 1) % 3)


def _cycle_method(step: int) -> Action:
    def action(state: ViewState, info: ModelInfo) -> ViewState:
        methods = info.back_methods
        if not state.back_enabled:
            return state.replace(back_enabled=True)
        index = methods.index(state.back_method) if state.back_method in methods else -step
        return state.replace(back_method=methods[(index + step) % len(methods)])
    action.__name__ = "next_back_method" if step > 0 else "prev_back_method"
    return action


def next_back_view(state: ViewState, info: ModelInfo) -> ViewState:
    """v: every back view in turn, the overlay included."""
    views = info.back_views
    index = views.index(state.back_view) + 1 if state.back_view in views else 0
    return state.replace(back_view=views[index % len(views)])


def next_colormap(state: ViewState, info: ModelInfo) -> ViewState:
    maps = info.colormaps
    index = maps.index(state.colormap) + 1 if state.colormap in maps else 0
    return state.replace(colormap=maps[index % len(maps)])


def pin_reference(state: ViewState, info: ModelInfo) -> ViewState:
    """P: an embedding model's reference: the frame now shown (pressed again: none)."""
    return state.replace(reference_pins=state.reference_pins + 1)


def next_pair_view(state: ViewState, info: ModelInfo) -> ViewState:
    """1: a two-input network's input and back panes show both images, the first, the second."""
    return state.replace(pair_view=PAIR_VIEWS[(PAIR_VIEWS.index(state.pair_view) + 1) % len(PAIR_VIEWS)])


ACTIONS: dict[str, Action] = {
    "toggle_help": _toggle("show_help"),
    "toggle_stretch": _toggle("stretch_mode"),
    "debug_level": debug_level,
    "sel_left": _mover("left", False), "sel_right": _mover("right", False),
    "sel_down": _mover("down", False), "sel_up": _mover("up", False),
    "sel_left_fast": _mover("left", True), "sel_right_fast": _mover("right", True),
    "sel_down_fast": _mover("down", True), "sel_up_fast": _mover("up", True),
    "sel_layer_left": sel_layer_left, "sel_layer_right": sel_layer_right,
    "zoom_mode": zoom_mode,
    "toggle_pattern_mode": toggle_pattern_mode,
    "next_pattern_source": next_pattern_source,
    "ez_back_mode_loop": ez_back_mode_loop,
    "freeze_back_unit": freeze_back_unit,
    "show_back": show_back,
    "back_mode": back_mode,
    "back_filt_mode": back_filt_mode,
    "boost_gamma": boost_gamma,
    "boost_individual": boost_individual,
    "reset_state": reset_state,
    "toggle_label_predictions": _toggle("show_label_predictions"),
    "toggle_faithfulness": _toggle("show_faithfulness"),
    "toggle_scores": _toggle("show_scores"),
    "toggle_unit_jpgs": _toggle("show_unit_jpgs"),
    "next_back_method": _cycle_method(+1),
    "prev_back_method": _cycle_method(-1),
    "next_back_view": next_back_view,
    "next_colormap": next_colormap,
    "pin_reference": pin_reference,
    "next_pair_view": next_pair_view,
}


def apply_action(action: str, state: ViewState, info: ModelInfo) -> ViewState:
    """Run the pure action ``action``; KeyError for session actions and unknown ids."""
    return ensure_valid(ACTIONS[action](state, info), info)


def select_layer(state: ViewState, info: ModelInfo, index: int) -> ViewState:
    """A click on a layer name: that layer, cursor on the layer list."""
    return ensure_valid(state.replace(layer_idx=int(index), cursor_area=CursorArea.LAYER_LIST), info)


def select_unit(state: ViewState, info: ModelInfo, unit: int) -> ViewState:
    """A click on a tile: that unit, cursor in the grid."""
    return ensure_valid(state.replace(selected_unit=int(unit), cursor_area=CursorArea.GRID), info)
