"""What every subcommand shares: the common flags, argument types, output-path checks, and loading
settings and model from the arguments.

User mistakes are raised as `deepvis_app.errors.DeepvisError` subclasses (`UserError` here for bad
arguments); `deepvis_app.cli.main` turns those into one line and exit code 2, anything else into an
internal-error report.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from deepvis_app.cli.option_flags import add_option_flags, cli_fields
from deepvis_app.errors import DeepvisError, OutputPathError
from deepvis_app.settings.defaults import Settings
from deepvis_app.settings.loader import LoadedSettings, load_settings


class UserError(DeepvisError):
    """A mistake in the user's arguments or inputs: reported in one line, exit code 2."""


def check_output_file(path: str | Path, suffixes: tuple[str, ...] | None = None) -> Path:
    """``path`` as a Path once it is known to be writable as a file, before any computation starts:
    not a directory, an allowed suffix (when ``suffixes`` is given), parent folder existing (or
    creatable) and writable. Raises `OutputPathError` naming the path and the problem."""
    out = Path(path)
    if out.is_dir():
        raise OutputPathError(f"{out}: is a directory; give a file name")
    if suffixes is not None and out.suffix.lower() not in suffixes:
        raise OutputPathError(f"{out}: unknown extension '{out.suffix}' (use one of {', '.join(suffixes)})")
    _check_writable_dir(out.parent if str(out.parent) else Path("."), out)
    return out


def check_output_dir(path: str | Path) -> Path:
    """``path`` as a Path once it is known to be usable as an output folder (existing and writable,
    or creatable), before any computation starts. Raises `OutputPathError`."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"{out}: exists and is not a folder")
    _check_writable_dir(out, out)
    return out


def _check_writable_dir(folder: Path, named: Path) -> None:
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{named}: cannot create it, {existing} is a file, not a folder")
    try:  # a real probe: os.access says yes to root even on a read-only mount
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise OutputPathError(f"{named}: folder {existing} is not writable ({exc.strerror})") from None


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a mistake in the arguments reported in one line (no usage block), exit code 2."""

    def error(self, message: str):  # type: ignore[override]
        from deepvis_app.settings.limits import cut_line  # an argument echoed back may be megabytes long

        self.exit(2, f"{self.prog}: error: {cut_line(message)} (see '{self.prog} --help')\n")


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (argparse reports anything else in one line, exit code 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


LOG_LEVELS = ("debug", "info", "warning", "error")


def add_logging_arguments(parser: argparse.ArgumentParser, default: Any = argparse.SUPPRESS) -> None:
    """--log-level and --log-file (accepted before and after the command name)."""
    group = parser.add_argument_group("logging")
    group.add_argument("--log-level", choices=LOG_LEVELS, type=str.lower, default=default,
                       help="how much to log on stderr (default: $DEEPVIS_LOG_LEVEL, else warning)")
    group.add_argument("--log-file", metavar="PATH", default=default,
                       help="also write the log to PATH (the window logs to "
                            "$XDG_STATE_HOME/deepvis/deepvis.log by default)")


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the settings declared with ``cli=True`` (--model, --weights, --trust-checkpoint,
    --device: generated from their declaration in `settings.defaults`), --set, --log-level, --log-file:
    accepted by every subcommand."""
    group = parser.add_argument_group("model and settings")
    add_option_flags(group, Settings, defaults=False, cli_only=True, dashes_first=True)
    group.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a setting (repeatable); values are Python literals")
    add_logging_arguments(parser)


def add_subcommand(subparsers: Any, name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    add_common_arguments(parser)
    parser.set_defaults(handler=handler)
    return parser


def settings_from_args(args: argparse.Namespace) -> LoadedSettings:
    """The settings for the arguments: the flags of the settings that have one apply like --set (an
    empty one is not given), --model also picks the model's settings layer."""
    given = {field.name: getattr(args, field.name, None) for field in cli_fields(Settings)}
    extra = {name: value for name, value in given.items() if value not in (None, "") and name != "model"}
    return load_settings(model=given.get("model") or None, overrides=args.overrides, extra=extra)


def model_from_args(args: argparse.Namespace):
    """The LoadedModel for the arguments, or a user error (settings errors name their file)."""
    from deepvis_app.core.nn.model import load_model

    loaded = settings_from_args(args)
    settings: Settings = loaded.settings
    return load_model(settings, origins=loaded.origins)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")
