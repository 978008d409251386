"""The hints of a settings problem: a close name for a mistyped setting, what is wrong with the brackets
of a `--set` value.

A mistyped name (`input_sise`, `global_scael`) is refused with the name the user most likely meant,
ours or one of the original toolbox's that settings files accept (`global_scale` sets the window
size there); a `--set` value that is no Python literal because a bracket or a quote is left open
(`--set "input_size=(128,128"`) is named as such rather than read as a string of the wrong type.
A mistyped choice (`unit_backprop = 'guidde'`) gets its hint from the setting's declaration
(`options.value_problem`); both use `options.close_match`.
"""

from __future__ import annotations

from deepvis_app.settings import legacy, options
from deepvis_app.settings.defaults import Settings, setting_names

_CLOSING = {"(": ")", "[": "]", "{": "}"}


def did_you_mean(name: str, cls: type = Settings) -> str:
    """`` (did you mean 'x'?)`` for the closest setting name of ``cls`` (ours, or the original
    toolbox's that settings files accept), or "" when none is close."""
    ours = setting_names(cls)
    close = options.close_match(name, [*ours, *original_names()])
    if close is None:
        return ""
    if close in ours:
        return f" (did you mean '{close}'?)"
    return f" (did you mean '{close}'? a setting of the original toolbox, read in settings files)"


def original_names() -> list[str]:
    """The original toolbox's setting names a settings file may use (`settings.legacy` translates them)."""
    names = set(legacy.RENAMES) | set(legacy.INSTEAD) | {legacy.PANES_SETTING, legacy.MEAN_SETTING}
    names |= set(legacy._WINDOW_NAMES) | set(legacy._SIAMESE_NAMES)   # noqa: SLF001 (same package)
    names |= {legacy.PREFIX + name for name in setting_names()}
    return sorted(names)


def unbalanced(text: str) -> str | None:
    """What is wrong with the brackets or quotes of ``text`` ("unbalanced bracket '(': no ')' closes
    it"), or None when they balance."""
    stack: list[str] = []
    quote = None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in _CLOSING:
            stack.append(char)
        elif char in _CLOSING.values():
            if not stack:
                return f"unbalanced bracket '{char}': nothing opens it"
            if _CLOSING[stack[-1]] != char:
                return f"unbalanced bracket '{stack[-1]}': '{char}' comes before its '{_CLOSING[stack[-1]]}'"
            stack.pop()
    if quote:
        return f"unbalanced quote {quote}: nothing closes it"
    if stack:
        return f"unbalanced bracket '{stack[-1]}': no '{_CLOSING[stack[-1]]}' closes it"
    return None
