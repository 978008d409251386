"""`deepvis web`: the command line of the toolbox in a browser; the front end is `deepvis_app.web`.

Only the options, their checks and the model and input loading live here: `deepvis_app.web` (and
with it Starlette and uvicorn, the optional extra ``deepvis[web]``) is imported when the command
runs, so the rest of the CLI works without them.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from deepvis_app.cli.common import UserError, add_subcommand, model_from_args

MAX_SIDE = 4096
MIN_SIDE = 64
MISSING_EXTRA = "deepvis web needs Starlette and uvicorn: pip install deepvis[web]"


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "web", "the toolbox in a web browser (no display needed): the window as "
                            "a picture stream with its text, keys and clicks from the page; prints the address "
                            "with its access token first", run_web)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="PATH", help="image, folder, video, list file or sample:<name> "
                        "(default: the sample images)")
    source.add_argument("--camera", type=int, metavar="N", help="camera index to show live")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this "
                        "machine only; the token is needed from anywhere)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="another name the browser may reach this server by (its Host header), e.g. the "
                        "machine's DNS name with --host 0.0.0.0; loopback names and --host always are")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    parser.add_argument("--size", type=int, nargs=2, metavar=("W", "H"),
                        help=f"picture size in pixels, {MIN_SIDE} to {MAX_SIDE} each (default: window_size)")


def check_size(size: Any) -> tuple[int, int]:
    """(width, height) when each side is within MIN_SIDE..MAX_SIDE, else a one-line `UserError`."""
    width, height = (int(side) for side in size)
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise UserError(f"--size {width} {height}: each side must be {MIN_SIDE} to {MAX_SIDE} pixels")
    return width, height


def run_web(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port}: must be 0 to 65535")
    size = check_size(args.size) if args.size else None
    try:
        from deepvis_app.web.runner import WebOptions, serve
    except ImportError as exc:
        if exc.name in ("starlette", "uvicorn", "h11", "anyio"):
            raise UserError(f"{MISSING_EXTRA} ({exc})") from None
        raise
    from deepvis_app.core.app.session import Session
    from deepvis_app.core.nn.threads import prepare_live_process
    from deepvis_app.io.playlist import InputError
    from deepvis_app.io.sources import InputManager

    prepare_live_process()   # before loading: one torch thread by default, malloc's thresholds fixed
    loaded = model_from_args(args)
    settings = loaded.settings
    size = size or check_size(settings.window_size)
    try:
        inputs = InputManager(settings, args.input, camera=args.camera)
    except InputError as exc:
        raise UserError(str(exc)) from None
    options = WebOptions(args.host, args.port, size, tuple(args.allow_host), settings.window_background,
                         settings.unit_images_stack_vertical)
    return serve(Session(loaded, settings, inputs), options, sys.stdout)
