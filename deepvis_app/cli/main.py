"""`deepvis` entry point: builds the subcommand parser and turns user errors into exit code 2.

Each subcommand lives in a module with `register(subparsers)`; the handler it sets returns an
exit code. User errors (bad settings, missing weights, unreadable images, bad arguments) are
one line on stderr and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from deepvis_app.cli.common import UserError, user_error_types

COMMAND_MODULES = (
    "deepvis_app.cli.core_commands",
    "deepvis_app.cli.attribute_command",
    "deepvis_app.cli.unitvis_commands",
    "deepvis_app.cli.optimize_commands",
    "deepvis_app.cli.gui_command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepvis", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        if importlib.util.find_spec(module_name) is not None:
            importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        return _fail(str(exc))
    except user_error_types() as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("deepvis: interrupted", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    lines = message.strip().splitlines() or ["unknown error"]
    for line in lines:
        print(f"deepvis: error: {line}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
