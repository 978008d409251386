"""What every subcommand shares: the common flags and loading settings and model from them."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from deepvis_app.settings.defaults import Settings
from deepvis_app.settings.loader import LoadedSettings, load_settings


class UserError(Exception):
    """A mistake in the user's arguments or inputs: reported in one line, exit code 2."""


def user_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions that mean bad input rather than a bug in deepvis."""
    from deepvis_app.core.model import ModelError
    from deepvis_app.io.images import ImageReadError
    from deepvis_app.settings.loader import SettingsError

    return (SettingsError, ModelError, ImageReadError, FileNotFoundError, KeyError, ValueError)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """--model, --weights, --set, --device, --trust-checkpoint: accepted by every subcommand."""
    group = parser.add_argument_group("model and settings")
    group.add_argument("--model", help="models/<name> folder, torchvision:<name>, or package.module:factory")
    group.add_argument("--weights", help="weights file (state dict or checkpoint)")
    group.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a setting (repeatable); values are Python literals")
    group.add_argument("--device", help="auto, cpu, cuda, cuda:N")
    group.add_argument("--trust-checkpoint", action="store_true",
                       help="allow checkpoints that need code execution to load")


def add_subcommand(subparsers: Any, name: str, help_text: str, handler: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    add_common_arguments(parser)
    parser.set_defaults(handler=handler)
    return parser


def settings_from_args(args: argparse.Namespace) -> LoadedSettings:
    extra: dict[str, Any] = {}
    if getattr(args, "weights", None):
        extra["weights"] = args.weights
    if getattr(args, "device", None):
        extra["device"] = args.device
    if getattr(args, "trust_checkpoint", False):
        extra["trust_checkpoint"] = True
    return load_settings(model=getattr(args, "model", None), overrides=args.overrides, extra=extra)


def model_from_args(args: argparse.Namespace):
    """(LoadedModel, Settings) for the arguments, or a user error."""
    from deepvis_app.core.model import load_model

    settings: Settings = settings_from_args(args).settings
    return load_model(settings)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2)
    sys.stdout.write("\n")
