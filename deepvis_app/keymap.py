"""THE key table of the toolbox: every action id, its keys, its help text and its help group.

The help overlay, the README table and the key lookup are all generated from `KEYMAP`, so a key
cannot be documented in one place and bound in another. Users rebind keys in settings_local.py
with `key_overrides = {"action_id": ("key", ...)}`; an override replaces that action's keys.
Key strings are what `gui/keys.py` produces: "l", "L", "Left", "Shift+Left", "PgDown", "Esc", "8".
`SPECIAL_KEYS` lists the names of the keys that are not characters (the window's table maps Qt's key
codes to them) and `BROWSER_KEYS` maps a browser's `KeyboardEvent.key` names to them, so the window
and `deepvis web` send the session the same strings (`browser_key_string`).
Qt-free on purpose: the session, the tests and the docs read it without a window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

KeyOverrides = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class Binding:
    """One action: its id, default keys, one line of help, and the help section it is listed in."""

    action: str
    keys: tuple[str, ...]
    help: str
    group: str


# The keymap's names of keys that are not characters; "Shift+" goes before them when Shift is held
# (a character carries its Shift itself: "L").
SPECIAL_KEYS: tuple[str, ...] = (
    "Left", "Right", "Up", "Down", "PgUp", "PgDown", "Esc", "Home", "End", "Enter", "Space", "Tab", "Backspace",
    "Delete", *(f"F{n}" for n in range(1, 13)),
)
# KeyboardEvent.key (https://developer.mozilla.org/docs/Web/API/UI_Events/Keyboard_event_key_values) ->
# the keymap's name; the names that are the same in both ("Home", "Enter", "F1"...) map to themselves.
BROWSER_KEYS: dict[str, str] = {
    **{name: name for name in SPECIAL_KEYS},
    "ArrowLeft": "Left", "ArrowRight": "Right", "ArrowUp": "Up", "ArrowDown": "Down", "PageUp": "PgUp",
    "PageDown": "PgDown", "Escape": "Esc", " ": "Space", "Spacebar": "Space",
}
BROWSER_MODIFIER_KEYS = frozenset({"Shift", "Control", "Alt", "AltGraph", "Meta", "OS", "CapsLock"})


def browser_key_string(key: str, *, shift: bool = False, ctrl: bool = False, alt: bool = False) -> str | None:
    """The key string the window would make of a browser's key press (`KeyboardEvent.key` and its
    modifier flags), or None for keys the table never binds (bare modifiers, empty names)."""
    if not key or key in BROWSER_MODIFIER_KEYS or key == "Unidentified":
        return None
    prefix = ("Ctrl+" if ctrl else "") + ("Alt+" if alt else "")
    if key in BROWSER_KEYS:
        return prefix + ("Shift+" if shift else "") + BROWSER_KEYS[key]
    if len(key) == 1 and key.isprintable():
        return prefix + (key.lower() if prefix else key)
    return None


def _b(action: str, keys: tuple[str, ...], help_text: str, group: str) -> Binding:
    return Binding(action, keys, help_text, group)


# Order = order in the help overlay. Groups: "base" (the original's base keys), "view" (caffevis
# keys), "new" (methods this rebuild adds).
KEYMAP: tuple[Binding, ...] = (
    _b("toggle_help", ("h",), "Toggle this help screen", "base"),
    _b("quit", ("q",), "Quit", "base"),
    _b("toggle_camera", ("c",), "Toggle between camera and static files", "base"),
    _b("toggle_freeze", ("f",), "Freeze / unfreeze the camera or video", "base"),
    _b("next_file", ("e", "PgDown"), "Next static file (from camera mode: back to files)", "base"),
    _b("prev_file", ("w", "PgUp"), "Previous static file (from camera mode: back to files)", "base"),
    _b("toggle_stretch", ("0",), "Stretch static files vs centre-crop them to the input aspect", "base"),
    _b("debug_level", ("5",), "Cycle debug level 0/1/2 (timings in the status line)", "base"),
    _b("sel_left", ("Left", "j"), "Layer list: previous layer; grid: previous unit", "view"),
    _b("sel_right", ("Right", "l"), "Layer list: next layer; grid: next unit", "view"),
    _b("sel_down", ("Down", "k"), "Layer list: enter the grid; grid: one row down", "view"),
    _b("sel_up", ("Up", "i"), "Grid: one row up (from the top row: back to the layer list)", "view"),
    _b("sel_left_fast", ("J", "Shift+Left"), "As left, moving several units", "view"),
    _b("sel_right_fast", ("L", "Shift+Right"), "As right, moving several units", "view"),
    _b("sel_down_fast", ("K", "Shift+Down"), "As down, moving several rows", "view"),
    _b("sel_up_fast", ("I", "Shift+Up"), "As up, moving several rows", "view"),
    _b("sel_layer_left", ("u", "U"), "Previous layer without moving the cursor", "view"),
    _b("sel_layer_right", ("o", "O"), "Next layer without moving the cursor", "view"),
    _b("zoom_mode", ("z",), "Cycle zoom: none / selected unit / backprop image", "view"),
    _b("toggle_pattern_mode", ("s",), "Toggle pattern mode (each unit's optimized image in the grid)", "view"),
    _b("next_pattern_source", ("S",), "Pattern mode: next source: optimized, diversity set, max input (top-1 "
       "dataset crop), weights histogram, max-activation histogram, weights / activations correlation (layer)",
       "view"),
    _b("ez_back_mode_loop", ("b",), "Back loop: off, gradient/raw, gradient/norm, deconv/raw", "view"),
    _b("freeze_back_unit", ("d",), "Freeze / unfreeze the backprop origin at the selected unit", "view"),
    _b("show_back", ("a",), "Grid: forward activations vs backward diffs (leaves pattern mode)", "view"),
    _b("back_mode", ("n",), "Back mode: off, gradient, deconv", "view"),
    _b("back_filt_mode", ("m",), "Back view: raw, gray, norm, normblur", "view"),
    _b("boost_gamma", ("t",), "Cycle the gamma boost of the grid", "view"),
    _b("boost_individual", ("T",), "Cycle the per-unit boost of the grid", "view"),
    _b("reset_state", ("Esc",), "Reset: first layer, layer list, back off, default boosts", "view"),
    _b("toggle_label_predictions", ("8",), "Toggle the top-5 class labels in the aux pane", "view"),
    _b("toggle_unit_jpgs", ("9",), "Toggle the per-unit images pane", "view"),
    _b("next_back_method", ("N",), "Next method: backprop rules, then attribution methods", "new"),
    _b("prev_back_method", ("B",), "Previous method", "new"),
    _b("next_back_view", ("v",), "Back view over all views: raw, gray, norm, normblur, overlay, overlay_active, "
       "sum_pos, maxabs, histogram", "new"),
    _b("next_colormap", ("M",), "Cycle the colormap of the overlay view", "new"),
    _b("toggle_faithfulness", ("F",), "Toggle the back map's faithfulness in the status line: deletion / "
       "insertion AUC (RISE; lower / higher is better)", "new"),
    _b("optimize_unit", ("g",), "Compute the selected unit's optimized image in the background (again: cancel)",
       "new"),
    _b("toggle_scores", ("r",), "Toggle the scores: find-max values on the top images, the selected unit's "
       "value over the aux pane", "new"),
    _b("pin_reference", ("P",), "Embedding models: pin the frame shown as the reference whose similarity is "
       "explained (again: unpin)", "new"),
    _b("next_pair_view", ("1",), "Two-input networks: show both images, the first, the second (the original's "
       "siamese view)", "new"),
)

ACTIONS: tuple[str, ...] = tuple(b.action for b in KEYMAP)


def bindings(overrides: KeyOverrides | None = None) -> tuple[Binding, ...]:
    """KEYMAP with the user's overrides applied; unknown action ids raise ValueError."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(ACTIONS))
    if unknown:
        raise ValueError(f"key_overrides: unknown action(s) {', '.join(unknown)} (actions: {', '.join(ACTIONS)})")
    return tuple(Binding(b.action, tuple(overrides[b.action]), b.help, b.group) if b.action in overrides else b
                 for b in KEYMAP)


def conflicts(table: Sequence[Binding]) -> dict[str, list[str]]:
    """Keys bound to more than one action: {key: [actions]} (empty when the table is sound)."""
    owners: dict[str, list[str]] = {}
    for binding in table:
        for key in binding.keys:
            owners.setdefault(key, []).append(binding.action)
    return {key: actions for key, actions in owners.items() if len(actions) > 1}


def key_index(overrides: KeyOverrides | None = None) -> dict[str, str]:
    """{key: action} for the effective table; raises ValueError when an override binds a key twice."""
    table = bindings(overrides)
    clashes = conflicts(table)
    if clashes:
        text = "; ".join(f"'{k}' -> {', '.join(a)}" for k, a in clashes.items())
        raise ValueError(f"key_overrides bind a key to several actions: {text}")
    return {key: b.action for b in table for key in b.keys}


def lookup(key: str, overrides: KeyOverrides | None = None) -> str | None:
    """The action bound to ``key`` (a normalized key string), or None."""
    return key_index(overrides).get(key)


# Actions whose help line ends with the list of back-pane methods (the method registry's names).
METHOD_CYCLE_ACTIONS = ("next_back_method",)


def help_rows(overrides: KeyOverrides | None = None, methods: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(keys, help) rows for the help overlay, in table order; the method-cycle line lists
    ``methods`` (the caller passes the method registry's names, in cycle order: this module stays a leaf
    that imports nothing of the project, so settings and core may both use it)."""
    cycle = f" ({', '.join(methods)})" if methods else ""
    return [(", ".join(b.keys), b.help + (cycle if b.action in METHOD_CYCLE_ACTIONS else ""))
            for b in bindings(overrides)]


def markdown_table(overrides: KeyOverrides | None = None, methods: Sequence[str] = ()) -> str:
    """The key table as Markdown (for the README); ``methods`` as in `help_rows`."""
    rows = ["| keys | action |", "|---|---|"]
    rows += [f"| {' '.join(f'`{k}`' for k in keys.split(', '))} | {text} |"
             for keys, text in help_rows(overrides, methods)]
    return "\n".join(rows)
