"""`deepvis` entry point: builds the subcommand parser and is the command line's error boundary.

Each subcommand lives in a module with `register(subparsers)`; the handler it sets returns an exit code.
The promise to the user, kept here for every command:
- a user error (any `deepvis_app.errors.DeepvisError`: bad settings, missing weights, unreadable images,
  bad arguments) is one line per problem on stderr (cut at `limits.MAX_ERROR_LINE_CHARS`) and exit
  code 2, never a traceback;
- anything else is a bug in deepvis: its traceback goes to the log file, stderr gets one line saying an
  internal error happened and where the log is, exit code 1;
- Ctrl+C exits 130; a reader that stops early (`deepvis keys | head`) ends the command quietly (exit 141,
  as a process killed by SIGPIPE).
Logging (stderr level, log files, where internal errors are written) is set up by `deepvis_app.cli.logs`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from typing import Callable, Sequence

from deepvis_app.cli.common import ArgumentParser, add_logging_arguments
from deepvis_app.cli.logs import LogSetup
from deepvis_app.errors import DeepvisError
from deepvis_app.settings.limits import cut_line

# every command: (the module whose `register` adds it, its line in `deepvis --help`). `deepvis --help` and
# the choice of a command read this table alone, so they import no command module (some import torch);
# tests/cli/test_no_torch_commands.py checks it against what the modules register.
COMMANDS: dict[str, tuple[str, str]] = {
    "layers": ("deepvis_app.cli.core_commands", "list the model's layers with kind and output shape"),
    "classify": ("deepvis_app.cli.core_commands", "classify an image (path or sample:<name>)"),
    "keys": ("deepvis_app.cli.info_commands", "print the key bindings (with your key_overrides) as a table"),
    "settings": ("deepvis_app.cli.info_commands", "print every setting and its value"),
    "attribute": ("deepvis_app.cli.attribute_command",
                  "backprop / attribution map of one unit or class for one input"),
    "find-max": ("deepvis_app.cli.unitvis_commands",
                 "Find every unit's top-k images in an image folder or file list (resumable; runs under torchrun "
                 "for several processes)"),
    "crops": ("deepvis_app.cli.unitvis_commands",
              "Receptive-field crops, their backward signals and top-k montages (max_im/ and max_deconv/, "
              "max_guided/ or max_backprop/) and a per-unit crops/<layer>/unit_NNNN/info.txt from find-max results"),
    "report": ("deepvis_app.cli.unitvis_commands", "Static HTML site of the per-unit images of a model"),
    "optimize": ("deepvis_app.cli.optimize_commands",
                 "Regularized optimization: an image that maximizes each unit (Yosinski 2015 presets, cnn-vis "
                 "p-norm/TV, lucent FFT/transforms), units batched; each finished batch is saved, and a rerun "
                 "skips the units already done"),
    "dream": ("deepvis_app.cli.optimize_commands",
              "Deep dream (cnn-vis): amplify a layer or a neuron, from an image or smoothed noise, multiscale, "
              "tiled with net-size windows"),
    "gui": ("deepvis_app.cli.gui_command", "open the Deep Visualization Toolbox window"),
    "web": ("deepvis_app.cli.web_command",
            "the toolbox in a web browser (no display needed): the window as a picture stream with its text, keys "
            "and clicks from the page; prints the address with its access token first"),
}
COMMAND_MODULES = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))
DESCRIPTION = ("Look inside a convolutional network: list its layers, classify images, draw attribution maps, "
               "make per-unit images, or explore it live in a window (deepvis gui).")
EPILOG = ("Run 'deepvis COMMAND --help' for a command's options. Every command takes --model, --weights, "
          "--set KEY=VALUE, --device, --log-level and --log-file.")
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_STDOUT_CLOSED = 128 + 13  # SIGPIPE


def build_parser(prog: str = "deepvis", only: str | None = None) -> argparse.ArgumentParser:
    """The command line. ``only`` None: every command with its options; else only the module of command
    ``only`` is imported and registered (nothing, for "" or an unknown name), the other commands are
    listed by name and help line (`COMMANDS`), so `deepvis keys` never imports what `attribute` needs."""
    parser = ArgumentParser(prog=prog, description=DESCRIPTION, epilog=EPILOG)
    add_logging_arguments(parser, default=None)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = COMMAND_MODULES if only is None else [COMMANDS[only][0]] if only in COMMANDS else []
    for module_name in COMMAND_MODULES:
        if module_name in wanted and importlib.util.find_spec(module_name) is not None:
            importlib.import_module(module_name).register(subparsers)
    for name, (_, help_text) in COMMANDS.items():
        if name not in subparsers.choices:
            subparsers.add_parser(name, help=help_text, add_help=False)
    return parser


def parser_for(argv: Sequence[str] | None, prog: str = "deepvis") -> argparse.ArgumentParser:
    """The parser with the options of the command ``argv`` names: found by a parser that lists the
    commands only (which also answers ``deepvis --help`` and a mistyped command by itself)."""
    listed = build_parser(prog, only="")
    chosen, _ = listed.parse_known_args(argv)
    return build_parser(prog, only=chosen.command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `deepvis` with ``argv`` (default: the process's arguments); returns the exit code."""
    return run(lambda: parser_for(argv), argv)


def run(make_parser: Callable[[], argparse.ArgumentParser], argv: Sequence[str] | None = None) -> int:
    """Build the parser, parse ``argv`` and run the chosen handler, all inside the error boundary."""
    logs = LogSetup(sys.argv[1:] if argv is None else list(argv))
    try:
        args = make_parser().parse_args(argv)
        logs.start(args)
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except DeepvisError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("deepvis: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _stdout_closed()
    except Exception as exc:  # noqa: BLE001 - the boundary: every other exception is a bug, reported once
        return logs.internal_error(exc)
    finally:
        logs.stop()


MAX_ERROR_LINES = 50   # problems listed on stderr; each line is cut at MAX_ERROR_LINE_CHARS


def _fail(message: str) -> int:
    """The user error's lines on stderr, each cut to a readable length (a 10 MB line helps nobody)."""
    lines = message.strip().splitlines() or ["unknown error"]
    for line in lines[:MAX_ERROR_LINES]:
        print(f"deepvis: error: {cut_line(line)}", file=sys.stderr)
    if len(lines) > MAX_ERROR_LINES:
        print(f"deepvis: error: ... and {len(lines) - MAX_ERROR_LINES} more problems", file=sys.stderr)
    return EXIT_USER_ERROR


def _stdout_closed() -> int:
    """The reader went away: point stdout at devnull so the final flush at exit cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except Exception:  # noqa: BLE001 - stdout is no real file (in-process capture): nothing to redirect
        pass
    return EXIT_STDOUT_CLOSED


if __name__ == "__main__":
    sys.exit(main())
