"""`deepvis gui` (and run_toolbox.py): open the toolbox window, or save a screenshot of it.

Qt is imported only when the command runs, so the rest of the CLI works without PySide6. The window
always keeps a log file (see `deepvis_app.cli.main`), since nobody may be watching its terminal.
On Linux without a display (no DISPLAY, no WAYLAND_DISPLAY, no QT_QPA_PLATFORM) Qt would abort with
a misleading message about xcb libraries: `check_display` says so in one line and names the ways out.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Any

from deepvis_app.cli.common import (
    ArgumentParser,
    UserError,
    add_common_arguments,
    add_subcommand,
    check_output_file,
    model_from_args,
)

HELP = "open the Deep Visualization Toolbox window"
SCREENSHOT_SUFFIXES = (".png",)
NO_DISPLAY = ("no display (DISPLAY and WAYLAND_DISPLAY are unset): run the window under `xvfb-run`, use "
              "`deepvis web` for the toolbox in a browser, or set QT_QPA_PLATFORM=offscreen for --screenshot")


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "gui", HELP, run)
    _add_gui_arguments(parser)


def standalone_parser(prog: str) -> argparse.ArgumentParser:
    """The same options as `deepvis gui`, for a script that only opens the window (run_toolbox.py)."""
    parser = ArgumentParser(prog=prog, description=f"{HELP[0].upper()}{HELP[1:]} (same as deepvis gui).")
    add_common_arguments(parser)
    parser.set_defaults(handler=run, command="gui")
    _add_gui_arguments(parser)
    return parser


def _add_gui_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(log_to_file=True)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="PATH",
                        help="image file, image folder, video file or sample:<name> (default: sample images)")
    source.add_argument("--camera", type=int, metavar="N", help="camera index to show live")
    shot = parser.add_argument_group("screenshot mode")
    shot.add_argument("--screenshot", metavar="PNG",
                      help="wait for the first result, type --keys, save a grab of the window, exit")
    shot.add_argument("--keys", default="", help='keys to type first, e.g. "l l k b" or "Shift+Right,PgDown"')
    shot.add_argument("--drag", metavar="X0,Y0,X1,Y1",
                      help="after the keys, drag the mouse over the input pane between these input pixels (a "
                           "segmentation model's region)")
    shot.add_argument("--after-ms", type=int, default=0, metavar="N",
                      help="wait N ms after the keys (and for the compute to finish) before the grab")


def check_display(environ: Mapping[str, str] | None = None, platform: str = sys.platform) -> None:
    """A one-line `UserError` on Linux when Qt has no display to open a window on."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if platform.startswith("linux") and not any(env.get(name) for name in
                                                 ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        raise UserError(NO_DISPLAY)


def run(args: argparse.Namespace) -> int:
    if args.after_ms < 0:
        raise UserError("--after-ms must be >= 0")
    check_display()
    try:
        from deepvis_app.gui.app import GuiOptions, run_gui
        from deepvis_app.gui.keys import parse_key_sequence
    except ImportError as exc:
        raise UserError(f"the window needs PySide6 and superqt ({exc})") from None
    try:
        keys = parse_key_sequence(args.keys)
    except ValueError as exc:
        raise UserError(f"--keys: {exc}") from None
    if args.screenshot:
        check_output_file(args.screenshot, SCREENSHOT_SUFFIXES)
    from deepvis_app.core.nn.threads import prepare_live_process

    prepare_live_process()   # before loading: one torch thread by default, malloc's thresholds fixed
    loaded = model_from_args(args)
    options = GuiOptions(input=args.input, camera=args.camera, screenshot=args.screenshot,
                         keys=keys, after_ms=args.after_ms, drag=_drag(args.drag))
    code, message = run_gui(loaded, options)
    if message:
        print(f"deepvis gui: {message}", file=sys.stderr)
    if code == 0 and args.screenshot:
        print(args.screenshot)
    return code


def _drag(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise UserError(f"--drag must be X0,Y0,X1,Y1 (input pixels), got {text!r}") from None
    return x0, y0, x1, y1
