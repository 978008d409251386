"""The per-method flags of `deepvis attribute`, generated from the method registry, and its method list.

Why a module of its own: ``--help`` must stay readable with 25 methods and their options, and an
option the chosen method ignores must be an error rather than a silent no-op. So here:

- `method_list` prints the methods once (name, default view, help, its flags) for the epilog;
- `add_method_flags` adds one flag per option (fields with the same ``flag`` share one), grouped
  under the methods that take it ("options of occlusion, occlusion_layer");
- `method_options` builds the chosen method's options (defaults <- the ``method_options`` setting
  <- the flags) and refuses a flag the method does not take, naming the methods that do.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from deepvis_app.cli.common import UserError
from deepvis_app.cli.option_flags import flag_type
from deepvis_app.core.methods.registry import METHODS, MapKind, Method, settings_options
from deepvis_app.settings.options import option_fields, option_type

OPTION_DEST = "method_option_"   # argparse dest prefix of the generated method-option flags


def method_flags() -> dict[str, list[tuple[Method, Any]]]:
    """{flag name: [(method, option field)]}: every option of every registered method."""
    flags: dict[str, list[tuple[Method, Any]]] = {}
    for method in METHODS:
        for field in option_fields(method.options):
            flags.setdefault(field.metadata.get("flag") or field.name, []).append((method, field))
    return flags


def flag_spelling(flag: str) -> str:
    return f"--{flag.replace('_', '-')}"


def method_list(width: int = 100) -> str:
    """The methods, once, under their kind: "name (view): help [flags]", wrapped to ``width``."""
    flags_of: dict[str, list[str]] = {}
    for flag, users in method_flags().items():
        for method, _ in users:
            flags_of.setdefault(method.name, []).append(flag_spelling(flag))
    kinds = (("backprop rules", lambda m: m.is_backprop),
             ("maps at the input", lambda m: not m.is_backprop and m.kind is MapKind.INPUT),
             ("maps at a layer (--cam-layer)", lambda m: m.kind is MapKind.LAYER))
    lines = ["methods (name (default view for -o): what it shows [its options]):"]
    for title, belongs in kinds:
        lines.append(f" {title}:")
        for method in (m for m in METHODS if belongs(m)):
            flags = f" [{' '.join(flags_of[method.name])}]" if method.name in flags_of else ""
            view = f"{method.view}, clip {method.clip:g}%" if method.clip else method.view
            lines.append(textwrap.fill(f"{method.name} ({view}): {method.help}{flags}", width,
                                       initial_indent="  ", subsequent_indent="      "))
    return "\n".join(lines)


SHARED = 4   # a flag taken by this many methods or more goes to the "shared" group


def add_method_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per method option: in one group per set of methods that take it, or, when many
    methods take it, in one group of shared flags (each flag's help names its methods)."""
    groups: dict[str, list[tuple[str, list[tuple[Method, Any]]]]] = {}
    for flag, users in method_flags().items():
        names = [m.name for m, _ in users]
        title = "options of several methods" if len(names) >= SHARED else f"options of {', '.join(names)}"
        groups.setdefault(title, []).append((flag, users))
    for title, members in groups.items():
        group = parser.add_argument_group(title)
        for flag, users in members:
            _add_flag(group, flag, users, named=len(users) >= SHARED)


def _names(names: list[str]) -> str:
    """Method names; "every map at a layer but X" when all but one or two of those are there."""
    cams = [m.name for m in METHODS if m.kind is MapKind.LAYER]
    taken = [name for name in cams if name in names]
    if len(taken) < len(cams) - 2:
        return ", ".join(names)
    missing = [name for name in cams if name not in names]
    others = [name for name in names if name not in cams]
    every = f"every map at a layer{' but ' + ' and '.join(missing) if missing else ''}"
    return f"{', '.join(others)} and {every}" if others else every


def _by_value(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """{value: [method names]} in first-seen order."""
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(value, []).append(name)
    return grouped


def _add_flag(group: Any, flag: str, users: list[tuple[Method, Any]], named: bool) -> None:
    first_method, first = users[0]
    kind = flag_type(option_type(first_method.options, first))
    helps = _by_value([(m.name, f.metadata["help"]) for m, f in users])
    text = "; ".join(f"{_names(names)}: {text}" for text, names in helps.items()) \
        if len(helps) > 1 or named else first.metadata["help"]
    defaults = _by_value([(m.name, str(f.default)) for m, f in users])
    shown = "; ".join(f"{value} for {', '.join(names)}" for value, names in defaults.items()) \
        if len(defaults) > 1 else str(first.default)
    kwargs: dict[str, Any] = {"dest": OPTION_DEST + flag, "default": None, "help": f"{text} (default {shown})"}
    if kind is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    else:
        kwargs["metavar"] = flag.upper()
        kwargs["type"] = kind
        if first.metadata.get("choices"):
            kwargs["choices"] = first.metadata["choices"]
    group.add_argument(flag_spelling(flag), **kwargs)


def refuse_ignored_flags(args: argparse.Namespace, method: Method, options: Any) -> None:
    """`UserError` (exit 2) for a flag given that ``method`` ignores, naming the methods that take it:
    a method option, ``--cam-layer`` for a map at the input, ``--seed``/``--position`` for a method
    that is not a backprop rule."""
    for flag, users in method_flags().items():
        if getattr(args, OPTION_DEST + flag, None) is None or any(m is method for m, _ in users):
            continue
        first_method, first = users[0]
        shown = flag_spelling(flag)
        if flag_type(option_type(first_method.options, first)) is bool:
            shown += f"/--no-{shown[2:]}"
        raise UserError(f"{shown} is not an option of {method.name}; it is one of "
                        f"{', '.join(m.name for m, _ in users)}")
    if args.cam_layer and method.map_kind(options) is not MapKind.LAYER:
        layer_methods = [m.name for m in METHODS if m.kind is MapKind.LAYER]
        raise UserError(f"--cam-layer is not an option of {method.name}; it is one of {', '.join(layer_methods)} "
                        f"(maps at a layer)")
    for given, flag in ((args.seed, "--seed"), (args.position, "--position")):
        if given is not None and not method.is_backprop:
            raise UserError(f"{flag} is not an option of {method.name}; it is one of "
                            f"{', '.join(m.name for m in METHODS if m.is_backprop)}")


def method_options(args: argparse.Namespace, method: Method, settings: Any) -> Any:
    """The method's options: its defaults <- the settings' method_options <- the flags given; a flag
    the method ignores is refused (`refuse_ignored_flags`)."""
    settings_options(method, settings.method_options)   # a bad setting is named as one
    values = dict(settings.method_options.get(method.name, {}))
    for field in option_fields(method.options):
        given = getattr(args, OPTION_DEST + (field.metadata.get("flag") or field.name), None)
        if given is not None:
            values[field.name] = given
    options = method.make_options(values)
    refuse_ignored_flags(args, method, options)
    return options
