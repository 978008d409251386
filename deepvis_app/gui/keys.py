"""QKeyEvent <-> the key strings the Qt-free key table uses ("l", "L", "Left", "Shift+Left", "PgDown", "Esc").

The session only ever sees these strings, so the same table serves real key presses, the
`--keys` option of screenshot mode and tests. `key_event` builds the QKeyEvent a real key press
would produce for a string, so scripted keys travel the same path as typed ones.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent

SPECIAL_KEYS: dict[Qt.Key, str] = {
    Qt.Key.Key_Left: "Left", Qt.Key.Key_Right: "Right", Qt.Key.Key_Up: "Up", Qt.Key.Key_Down: "Down",
    Qt.Key.Key_PageUp: "PgUp", Qt.Key.Key_PageDown: "PgDown", Qt.Key.Key_Escape: "Esc",
    Qt.Key.Key_Home: "Home", Qt.Key.Key_End: "End", Qt.Key.Key_Return: "Enter", Qt.Key.Key_Enter: "Enter",
    Qt.Key.Key_Space: "Space", Qt.Key.Key_Tab: "Tab", Qt.Key.Key_Backspace: "Backspace",
    Qt.Key.Key_Delete: "Delete", **{getattr(Qt.Key, f"Key_F{n}"): f"F{n}" for n in range(1, 13)},
}
_NAME_TO_KEY = {name: key for key, name in SPECIAL_KEYS.items() if key != Qt.Key.Key_Enter}
_MODIFIER_KEYS = {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_AltGr}
_PREFIXES = ((Qt.KeyboardModifier.ControlModifier, "Ctrl+"), (Qt.KeyboardModifier.AltModifier, "Alt+"))


def key_string(event: QKeyEvent) -> str | None:
    """The key table's name for a key press, or None for keys it never binds (bare modifiers)."""
    key = Qt.Key(event.key())
    if key in _MODIFIER_KEYS:
        return None
    modifiers = event.modifiers()
    prefix = "".join(text for flag, text in _PREFIXES if modifiers & flag)
    if key in SPECIAL_KEYS:
        shift = "Shift+" if modifiers & Qt.KeyboardModifier.ShiftModifier else ""
        return prefix + shift + SPECIAL_KEYS[key]
    text = event.text()
    if not prefix and len(text) == 1 and text.isprintable():
        return text
    if Qt.Key.Key_A <= key <= Qt.Key.Key_Z or Qt.Key.Key_0 <= key <= Qt.Key.Key_9:
        return prefix + chr(int(key)).lower()
    return None


def key_event(token: str, press: bool = True) -> QKeyEvent:
    """The QKeyEvent a real press (or release) of `token` would produce."""
    modifiers = Qt.KeyboardModifier.NoModifier
    name = token
    while "+" in name and len(name) > 1:
        head, _, name = name.partition("+")
        modifiers |= _modifier(head, token)
    kind = QEvent.Type.KeyPress if press else QEvent.Type.KeyRelease
    if name in _NAME_TO_KEY:
        return QKeyEvent(kind, _NAME_TO_KEY[name], modifiers, "")
    if len(name) != 1 or not name.isprintable():
        raise ValueError(f"unknown key '{token}' (letters, digits, or one of: {', '.join(_NAME_TO_KEY)})")
    if name.isalpha() and name.isupper():
        modifiers |= Qt.KeyboardModifier.ShiftModifier
    text = "" if modifiers & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier) else name
    return QKeyEvent(kind, _key_code(name), modifiers, text)


def parse_key_sequence(keys: str) -> list[str]:
    """'l l k b' or 'l,l,Shift+Left' -> ['l', 'l', ...]; every token is checked by `key_event`."""
    tokens = [t for t in keys.replace(",", " ").split() if t]
    for token in tokens:
        key_event(token)
    return tokens


def _modifier(name: str, token: str) -> Qt.KeyboardModifier:
    table = {"Shift": Qt.KeyboardModifier.ShiftModifier, "Ctrl": Qt.KeyboardModifier.ControlModifier,
             "Alt": Qt.KeyboardModifier.AltModifier}
    if name not in table:
        raise ValueError(f"unknown modifier '{name}' in key '{token}' (Shift, Ctrl, Alt)")
    return table[name]


def _key_code(char: str) -> Qt.Key:
    upper = char.upper()
    if "A" <= upper <= "Z" or "0" <= upper <= "9":
        return Qt.Key(ord(upper))
    return Qt.Key(ord(char))
