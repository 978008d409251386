"""`deepvis keys` and `deepvis settings`: the commands that need no model, so they import no torch.

Why a module of their own: printing a key table or the settings must take a fraction of a second,
not the seconds and hundreds of MB that importing torch costs. This module and what it imports are
in the import-linter contract "Commands that need no model import no torch" (pyproject.toml), and
tests/cli/test_no_torch_commands.py runs each command in a fresh process and checks torch stayed out.
The method cycle's names come from `core.methods.names` (the registry's torch-free copy).
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from deepvis_app.cli.common import add_subcommand, settings_from_args


def register(subparsers: Any) -> None:
    keys = add_subcommand(subparsers, "keys", "print the key bindings (with your key_overrides) as a table", run_keys)
    keys.add_argument("--markdown", action="store_true", help="print a Markdown table (as in the README)")

    show = add_subcommand(subparsers, "settings", "print every setting and its value", run_settings)
    show.add_argument("--show-origin", action="store_true", help="also print which layer set each value")
    show.add_argument("--doc", action="store_true", help="print each setting's documentation line (its help and "
                                                          "rules, from its declaration) above it")


def run_settings(args: argparse.Namespace) -> int:
    from deepvis_app.settings.defaults import setting_docs
    from deepvis_app.settings.loader import settings_table

    loaded = settings_from_args(args)
    docs = setting_docs() if args.doc else {}
    for name, value, origin in settings_table(loaded):
        if name in docs:
            print(textwrap.fill(docs[name], 100, initial_indent="# ", subsequent_indent="# "))
        shown = value.__name__ if callable(value) and hasattr(value, "__name__") else repr(value)
        print(f"{name} = {shown}" + (f"    # {origin}" if args.show_origin else ""))
    return 0


def run_keys(args: argparse.Namespace) -> int:
    from deepvis_app.core.methods.names import METHOD_NAMES
    from deepvis_app.keymap import help_rows, markdown_table

    overrides = settings_from_args(args).settings.key_overrides
    if args.markdown:
        print(markdown_table(overrides, METHOD_NAMES))
        return 0
    rows = help_rows(overrides, METHOD_NAMES)
    width = max(len(keys) for keys, _ in rows)
    for keys, text in rows:
        print(f"{keys:<{width}}  {text}")
    return 0
