"""Running one settings file (plain Python) so that nothing it does can end or hang deepvis silently.

Settings files are run with `runpy`, as the original toolbox's were, so they may hold functions. That
also lets them raise anything, exit, or loop. `run_settings_code` turns each way into one line that
names the file (and the line, where the traceback has it):

- any exception, `BaseException` subclasses included, is a `SettingsFileProblem`; only
  KeyboardInterrupt goes on (it is the user's Ctrl+C, and the command line reports it);
- `sys.exit()` / `exit()` (SystemExit) and `os._exit()` are reported, not obeyed: `os._exit` cannot be
  caught, so it is replaced while the file runs (and restored in `finally`);
- a file still running after `SLOW_NOTICE_S` seconds (`while True: pass`) gets one warning line,
  "still running settings file X", from a timer thread; it is not killed (it may be slow on purpose).
"""

from __future__ import annotations

import logging
import os
import runpy
import threading
import traceback
from pathlib import Path
from typing import Any, NoReturn

from deepvis_app.settings.limits import cut_line

log = logging.getLogger("deepvis.settings")

SLOW_NOTICE_S = 3.0
_MESSAGE_CHARS = 300


class SettingsFileProblem(Exception):
    """Why running a settings file failed, as one line starting with `path:line`."""


class _ExitCalled(BaseException):
    """Raised in place of `os._exit(code)` while a settings file runs."""

    def __init__(self, code: Any):
        super().__init__(code)
        self.code = code


def run_settings_code(path: Path, run_name: str = "deepvis_settings") -> dict[str, Any]:
    """The namespace `path` leaves; `SettingsFileProblem` for every way it can fail (SyntaxError included)."""
    real_exit = os._exit

    def refused_exit(status: int) -> NoReturn:
        raise _ExitCalled(status)

    timer = threading.Timer(SLOW_NOTICE_S, log.warning, ("still running settings file %s (%.0f s so far; Ctrl+C "
                                                         "stops it)", path, SLOW_NOTICE_S))
    timer.daemon = True
    os._exit = refused_exit
    timer.start()
    try:
        return runpy.run_path(str(path), run_name=run_name)
    except SyntaxError as exc:
        raise SettingsFileProblem(f"{exc.filename or path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except SystemExit as exc:
        raise SettingsFileProblem(f"{where(path, exc)}: calls sys.exit({_code(exc.code)}); a settings file may "
                                  "only assign settings") from None
    except _ExitCalled as exc:
        raise SettingsFileProblem(f"{where(path, exc)}: calls os._exit({_code(exc.code)}); a settings file may "
                                  "only assign settings") from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - any failure of user code is reported, never raised
        raise SettingsFileProblem(f"{where(path, exc)}: running it failed: {type(exc).__name__}: "
                                  f"{_one_line(exc)}") from None
    finally:
        os._exit = real_exit
        timer.cancel()


def where(path: Path, exc: BaseException) -> str:
    """`path:line` of the deepest frame of the traceback that ran in `path` (just `path` if none)."""
    try:
        target = path.resolve()
        lines = [frame.lineno for frame in traceback.extract_tb(exc.__traceback__)
                 if Path(frame.filename).resolve() == target]
    except (OSError, RuntimeError, ValueError):
        lines = []
    return f"{path}:{lines[-1]}" if lines else str(path)


def _one_line(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception as error:  # noqa: BLE001 - a user's __str__ may fail too
        text = f"(its message cannot be shown: {type(error).__name__})"
    return cut_line(" ".join(text.split()), _MESSAGE_CHARS)


def _code(code: Any) -> str:
    return "" if code is None else cut_line(repr(code), 60)
