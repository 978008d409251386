"""`deepvis gui` (and run_toolbox.py): open the toolbox window, or save a screenshot of it.

Qt is imported only when the command runs, so the rest of the CLI works without PySide6.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from deepvis_app.cli.common import UserError, add_subcommand, model_from_args


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "gui", "open the Deep Visualization Toolbox window", run)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="PATH",
                        help="image file, image folder, video file or sample:<name> (default: sample images)")
    source.add_argument("--camera", type=int, metavar="N", help="camera index to show live")
    shot = parser.add_argument_group("screenshot mode")
    shot.add_argument("--screenshot", metavar="PNG",
                      help="wait for the first result, type --keys, save a grab of the window, exit")
    shot.add_argument("--keys", default="", help='keys to type first, e.g. "l l k b" or "Shift+Right,PgDown"')
    shot.add_argument("--after-ms", type=int, default=0, metavar="N",
                      help="wait N ms after the keys (and for the compute to finish) before the grab")


def run(args: argparse.Namespace) -> int:
    if args.after_ms < 0:
        raise UserError("--after-ms must be >= 0")
    try:
        from deepvis_app.gui.app import GuiOptions, run_gui
        from deepvis_app.gui.keys import parse_key_sequence
    except ImportError as exc:
        raise UserError(f"the window needs PySide6 and superqt ({exc})") from None
    try:
        keys = parse_key_sequence(args.keys)
    except ValueError as exc:
        raise UserError(f"--keys: {exc}") from None
    loaded = model_from_args(args)
    options = GuiOptions(input=args.input, camera=args.camera, screenshot=args.screenshot,
                         keys=keys, after_ms=args.after_ms)
    code, message = run_gui(loaded, options)
    if message:
        print(f"deepvis gui: {message}", file=sys.stderr)
    if code == 0 and args.screenshot:
        print(args.screenshot)
    return code
