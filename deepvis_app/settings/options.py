"""Options declared once, as fields of a frozen dataclass: default, help text, allowed values.

`option(default, help, ...)` makes a dataclass field whose metadata the front ends read: the
command line generates one flag per field (`deepvis_app.cli.option_flags`), the attribution
method registry (`core.methods`) builds a method's options from the settings and from the flags,
and `check_options` validates an instance (choices, minimum). Torch-free, so the settings and the
CLI can read the declarations without importing torch.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any

from deepvis_app.errors import DeepvisError

_NO_CLI_DEFAULT = object()


class OptionsError(DeepvisError, ValueError):
    """An unknown option name or a value of the wrong type (one line, naming the option)."""


def option(default: Any, help: str, *, choices: tuple[Any, ...] | None = None, minimum: float | None = None,
           group: str | None = None, aliases: tuple[str, ...] = (), nargs: str | None = None,
           metavar: str | None = None, cli_default: Any = _NO_CLI_DEFAULT, flag: str | None = None) -> Any:
    """A dataclass field carrying its help text and checks.

    ``choices``/``minimum`` are checked by `check_options`; ``group``, ``aliases`` (extra flag
    spellings such as ``--layer``), ``nargs``, ``metavar`` and ``cli_default`` (the flag's default
    when it differs from the field's) shape the generated command-line flag; ``flag`` is the name
    of a flag several option classes share (``batch``), used by the attribute command.
    """
    metadata: dict[str, Any] = {"help": help, "choices": choices, "minimum": minimum, "group": group,
                                "aliases": tuple(aliases), "nargs": nargs, "metavar": metavar, "flag": flag}
    if cli_default is not _NO_CLI_DEFAULT:
        metadata["cli_default"] = cli_default
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class NoOptions:
    """The options of a method that has none."""


def option_fields(cls: type) -> tuple[dataclasses.Field, ...]:
    """The fields of ``cls`` declared with `option`, in declaration order."""
    return tuple(f for f in dataclasses.fields(cls) if "help" in f.metadata)


def option_type(cls: type, field: dataclasses.Field) -> Any:
    """The field's type with ``| None`` removed (``int | None`` -> int)."""
    hint = typing.get_type_hints(cls)[field.name]
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def check_options(options: Any) -> Any:
    """``options``, or ValueError naming the first field with an unknown choice or a number below
    its minimum."""
    for field in option_fields(type(options)):
        value = getattr(options, field.name)
        choices, minimum = field.metadata.get("choices"), field.metadata.get("minimum")
        if value is None:
            continue
        if choices and value not in choices:
            raise ValueError(f"{field.name} = {value!r}: choose from {', '.join(map(str, choices))}")
        if minimum is not None and isinstance(value, (int, float)) and value < minimum:
            raise ValueError(f"{field.name} = {value!r}: must be at least {minimum:g}")
    return options


def make_options(cls: type, values: Mapping[str, Any], owner: str) -> Any:
    """``cls()`` with ``values`` applied and checked; `OptionsError` (naming ``owner``) for an
    unknown name (with a close match), a value of the wrong type, a bad choice or minimum."""
    names = [f.name for f in dataclasses.fields(cls)]
    for name in values:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise OptionsError(f"{owner}: unknown option '{name}'{hint}; options: {', '.join(names) or 'none'}")
    hints = typing.get_type_hints(cls)
    checked = {}
    for name, value in values.items():
        if not _fits(value, hints[name]):
            raise OptionsError(f"{owner}: option '{name}' = {value!r} is not {_type_name(hints[name])}")
        checked[name] = float(value) if _base(hints[name]) is float and isinstance(value, int) else value
    try:
        return check_options(dataclasses.replace(cls(), **checked))
    except ValueError as exc:
        raise OptionsError(f"{owner}: {exc}") from None


def _base(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if len(args) == 1 else hint
    return hint


def _fits(value: Any, hint: Any) -> bool:
    if hint is Any:
        return True
    if value is None:
        return type(None) in typing.get_args(hint)
    base = _base(hint)
    if base is bool:
        return isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is str:
        return isinstance(value, str)
    return True


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
