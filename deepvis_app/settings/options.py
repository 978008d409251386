"""Settings and options declared once, as fields of a dataclass: default, help text, allowed values.

`option(default, help, ...)` makes a dataclass field whose metadata everything else reads, for the
settings (`settings.defaults.Settings`) and for the options of the attribution methods, `deepvis
optimize` and `deepvis dream` alike:

- `conform` is the one type checker (a value against the field's annotation: ``int``, ``float``,
  ``tuple[int, int]``, ``dict[str, tuple[str, ...]]``, ``X | None``...), lenient only where a user
  expects it (a list for a tuple, an int for a float, a path object for a string);
- `value_problem` checks the declared rules (``choices``, ``minimum``/``above``/``maximum``, a
  ``check`` function) and words the problem, with a did-you-mean for a near choice;
- `doc_line` is the documentation line (help text and rules), `did_you_mean` the hint for a
  mistyped name or choice, `cli.option_flags` the one argparse generator.

It sits in the settings layer, the lowest one that both the settings and the core import, and
imports no torch, so the settings and the command line read the declarations without it.
"""

from __future__ import annotations

import collections.abc
import copy
import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from deepvis_app.errors import DeepvisError

_NO_CLI_DEFAULT = object()


class OptionsError(DeepvisError, ValueError):
    """An unknown option name or a value of the wrong type (one line, naming the option)."""


def option(default: Any, help: str, *, choices: tuple[Any, ...] | None = None, minimum: float | None = None,
           maximum: float | None = None, above: float | None = None, check: Callable[[Any], str | None] | None = None,
           cli: bool = False, group: str | None = None, aliases: tuple[str, ...] = (), nargs: str | None = None,
           metavar: str | None = None, cli_default: Any = _NO_CLI_DEFAULT, flag: str | None = None) -> Any:
    """A dataclass field carrying its help text and its rules.

    Rules, checked by `value_problem`: ``choices`` (the allowed values), ``minimum``/``maximum``
    (inclusive) and ``above`` (exclusive), which bound a number or every number in a tuple or a
    dict's values, and ``check``, a function returning why a value cannot work (or None) for what
    no rule says. ``cli``: a setting that has its own command-line flag (every field of an options
    class gets one anyway). ``group``, ``aliases`` (extra flag spellings such as ``--layer``),
    ``nargs``, ``metavar`` and ``cli_default`` (the flag's default when it differs from the field's)
    shape the generated flag; ``flag`` is the name of a flag several option classes share
    (``batch``). A mutable default (a dict, a list) is copied for each instance.
    """
    metadata: dict[str, Any] = {"help": help, "choices": choices, "minimum": minimum, "maximum": maximum,
                                "above": above, "check": check, "cli": cli, "group": group,
                                "aliases": tuple(aliases), "nargs": nargs, "metavar": metavar, "flag": flag}
    if cli_default is not _NO_CLI_DEFAULT:
        metadata["cli_default"] = cli_default
    if isinstance(default, (dict, list, set)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """The options of a method that has none."""


def option_fields(cls: type) -> tuple[dataclasses.Field, ...]:
    """The fields of ``cls`` declared with `option`, in declaration order."""
    return tuple(f for f in dataclasses.fields(cls) if "help" in f.metadata)


def field_default(field: dataclasses.Field) -> Any:
    """The field's default (a fresh copy for a mutable one)."""
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def option_type(cls: type, field: dataclasses.Field) -> Any:
    """The field's type with ``| None`` removed (``int | None`` -> int)."""
    return _without_none(typing.get_type_hints(cls)[field.name])


def _without_none(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def conform(value: Any, hint: Any) -> tuple[Any, bool]:
    """(``value`` made to fit ``hint``, whether it fits): the one type checker of settings and options.

    Strict where a mistake hides (a bool is no int, a string no number), lenient where a user
    expects it: a list for a tuple, an int for a float, a path object for a string, and so on
    inside tuples and dicts. A type it does not know (a tensor, a class) lets any value through.
    """
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value, True
    if origin in (typing.Union, types.UnionType):
        for member in args:
            fitted, ok = conform(value, member)
            if ok:
                return fitted, True
        return value, False
    if hint is type(None):
        return value, value is None
    if hint is bool:
        return value, isinstance(value, bool)
    if hint is int:
        return value, isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return (float(value) if ok else value), ok
    if hint is str:
        return (str(value) if isinstance(value, os.PathLike) else value), isinstance(value, (str, os.PathLike))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            return value, False
        item_hints = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(item_hints) != len(value):
            return value, False
        items = [conform(v, h) for v, h in zip(value, item_hints, strict=True)]
        return tuple(v for v, _ in items), all(ok for _, ok in items)
    if origin is dict:
        if not isinstance(value, dict):
            return value, False
        key_hint, value_hint = args or (Any, Any)
        entries = [(conform(k, key_hint), conform(v, value_hint)) for k, v in value.items()]
        return {k: v for (k, _), (v, _) in entries}, all(k_ok and v_ok for (_, k_ok), (_, v_ok) in entries)
    if origin is collections.abc.Callable:
        return value, callable(value)
    return value, True


def type_name(hint: Any) -> str:
    """``hint`` as written in the declaration (``tuple[int, int]``, ``str | None``)."""
    if typing.get_origin(hint) is None and hasattr(hint, "__name__"):
        return hint.__name__
    return str(hint).replace("typing.", "").replace("collections.abc.", "").replace("NoneType", "None")


def close_match(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word`` (a mistyped name or choice), or None when none is close."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the candidate closest to ``word``, or "" when none is close."""
    close = close_match(word, candidates)
    return f" (did you mean '{close}'?)" if close else ""


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _range_text(meta: Mapping[str, Any]) -> str | None:
    """"between 1 and 8192", "at least 1", "above 0 and at most 10", or None without bounds."""
    low, above, high = meta.get("minimum"), meta.get("above"), meta.get("maximum")
    if low is not None and high is not None:
        return f"between {_number(low)} and {_number(high)}"
    parts = [f"at least {_number(low)}" if low is not None else "", f"above {_number(above)}" if above is not None
             else "", f"at most {_number(high)}" if high is not None else ""]
    return " and ".join(p for p in parts if p) or None


def _numbers(value: Any) -> list[float]:
    """The numbers of ``value``: itself, or those in its items (a tuple's, a dict's values)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (tuple, list)) else ()
    return [n for item in items for n in _numbers(item)]


def value_problem(field: dataclasses.Field, value: Any) -> str | None:
    """Why ``value`` breaks the rules declared on ``field`` ("choose from a, b (did you mean 'b'?)",
    "must be at least 1", what its check says), or None; None always passes (its type says whether
    None is allowed)."""
    meta = field.metadata
    if value is None:
        return None
    choices = meta.get("choices")
    if choices and value not in choices:
        hint = did_you_mean(value, map(str, choices)) if isinstance(value, str) else ""
        return f"choose from {', '.join(map(str, choices))}{hint}"
    low, above, high = meta.get("minimum"), meta.get("above"), meta.get("maximum")
    numbers = _numbers(value)
    if any((low is not None and n < low) or (above is not None and n <= above) or (high is not None and n > high)
           for n in numbers):
        return f"{'values' if numbers != [value] else ''} must be {_range_text(meta)}".lstrip()
    check = meta.get("check")
    return check(value) if check is not None else None


def doc_line(field: dataclasses.Field) -> str:
    """The documentation line of a declared field: its help text and its rules
    ("... (choose from auto, cpu; at least 1; flag --device)")."""
    meta = field.metadata
    rules = [f"choose from {', '.join(map(str, meta['choices']))}" if meta.get("choices") else "",
             _range_text(meta) or "", f"flag --{field.name.replace('_', '-')}" if meta.get("cli") else ""]
    shown = "; ".join(rule for rule in rules if rule)
    return f"{meta['help']} ({shown})" if shown else meta["help"]


def check_options(options: Any) -> Any:
    """``options``, or ValueError naming the first field whose value breaks its declared rules."""
    for field in option_fields(type(options)):
        value = getattr(options, field.name)
        if (why := value_problem(field, value)) is not None:
            raise ValueError(f"{field.name} = {value!r}: {why}")
    return options


def make_options(cls: type, values: Mapping[str, Any], owner: str) -> Any:
    """``cls()`` with ``values`` applied and checked; `OptionsError` (naming ``owner``) for an
    unknown name (with a close match), a value of the wrong type, or one breaking its rules."""
    names = [f.name for f in dataclasses.fields(cls)]
    for name in values:
        if name not in names:
            raise OptionsError(f"{owner}: unknown option '{name}'{did_you_mean(name, names)}; "
                               f"options: {', '.join(names) or 'none'}")
    hints = typing.get_type_hints(cls)
    checked = {}
    for name, value in values.items():
        fitted, ok = conform(value, hints[name])
        if not ok:
            raise OptionsError(f"{owner}: option '{name}' = {value!r} is not {type_name(hints[name])}")
        checked[name] = fitted
    try:
        return check_options(dataclasses.replace(cls(), **checked))
    except ValueError as exc:
        raise OptionsError(f"{owner}: {exc}") from None
