"""Command-line flags generated from an options dataclass (see `deepvis_app.settings.options`): the one
argparse generator, for the options of `deepvis optimize`/`dream` and for the settings that have a
flag of their own (``--model``, ``--weights``, ``--device``, ``--trust-checkpoint``: `cli.common`).

Each option field becomes ``--name`` (plus ``--name-with-dashes`` when the name has underscores, and
the field's aliases), with the field's type, choices, help text and default, so the flags never
repeat what the dataclass declares.
"""

from __future__ import annotations

import argparse
import typing
from typing import Any

from deepvis_app.settings.options import option_fields, option_type


def add_option_flags(parser: argparse.ArgumentParser, cls: type, *, defaults: bool = True,
                     default_group: str | None = None, aliases_first: bool = False, cli_only: bool = False,
                     dashes_first: bool = False) -> None:
    """One flag per option field of ``cls``. ``defaults=False``: every flag defaults to None (the
    caller fills unset options from elsewhere, e.g. a preset); otherwise the field's default.
    ``aliases_first``: a field's aliases come before its own name, so that usage and help show the
    short spelling the README uses (dream's ``--layer``, ``-o``). ``cli_only``: only the fields
    declared with ``cli=True`` (the settings that have a flag). ``dashes_first``: usage and help show
    ``--name-with-dashes`` before ``--name_with_underscores`` (the option classes keep the original
    toolboxes' underscore names first)."""
    groups: dict[str, Any] = {}
    for field in cli_fields(cls) if cli_only else option_fields(cls):
        meta = field.metadata
        title = meta["group"] or default_group
        if title is not None and title not in groups:
            groups[title] = parser.add_argument_group(title)
        container = parser if title is None else groups[title]
        names = [f"--{field.name}"] + ([f"--{field.name.replace('_', '-')}"] if "_" in field.name else [])
        names = names[::-1] if dashes_first else names
        default = meta.get("cli_default", field.default) if defaults else None
        kwargs: dict[str, Any] = {"dest": field.name, "default": default, "help": _help(meta["help"], default)}
        hint = option_type(cls, field)
        if hint is bool:
            kwargs["action"] = "store_true"
        else:
            kwargs["type"] = flag_type(hint)
            kwargs.update({key: meta[key] for key in ("choices", "nargs", "metavar") if meta[key]})
        spellings = [*meta["aliases"], *names] if aliases_first else [*names, *meta["aliases"]]
        container.add_argument(*spellings, **kwargs)


def flag_type(hint: Any) -> Any:
    """The scalar a flag parses to: the hint, a tuple's item type (``tuple[int, int]`` with nargs ->
    int), or the first scalar of a union (``float | Tensor`` -> float); str for anything else."""
    if typing.get_origin(hint) is tuple:
        hint = typing.get_args(hint)[0]
    for candidate in (hint, *typing.get_args(hint)):
        if candidate in (bool, int, float, str):
            return candidate
    return str


def cli_fields(cls: type) -> tuple[Any, ...]:
    """The fields of ``cls`` declared with ``cli=True``."""
    return tuple(field for field in option_fields(cls) if field.metadata.get("cli"))


def option_values(args: argparse.Namespace, cls: type, *, skip_none: bool = True) -> dict[str, Any]:
    """{field: value} of the parsed flags of ``cls`` (without the unset ones, by default)."""
    values = {field.name: getattr(args, field.name) for field in option_fields(cls)}
    return {name: value for name, value in values.items() if value is not None or not skip_none}


def _help(text: str, default: Any) -> str:
    if default is None or default is False:
        return text
    shown = f"{default:g}" if isinstance(default, float) else str(default)
    return f"{text} (default {shown})"
