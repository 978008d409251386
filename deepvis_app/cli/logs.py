"""Logging for one command run: the `deepvis` logger's handlers, the log file, and internal-error reports.

Every module logs to `logging.getLogger("deepvis.<module>")`. On stderr: records at `--log-level` (or
`DEEPVIS_LOG_LEVEL`, default warning), one line each (tracebacks only at debug). Into a log file: everything
from info up, with tracebacks; the file is `--log-file` when given, and for the window (commands that set
`log_to_file`) `$XDG_STATE_HOME/deepvis/deepvis.log` (`~/.local/state/deepvis/deepvis.log`) by default.
An internal error (a bug) writes its traceback to the log file and one line on stderr saying where; in the
window, exceptions escaping a Qt slot or a thread are reported the same way (the window keeps running).
Library warnings (numpy, torch, `warnings.warn`) go to the log file, not to stderr (they are no message for
the user; at `--log-level debug` stderr shows them too).
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path

from deepvis_app.cli.common import LOG_LEVELS, UserError, check_output_file
from deepvis_app.settings.limits import cut_line

LOG_ENV = "DEEPVIS_LOG_LEVEL"
LOG_FILE_BYTES = 2 * 1024 * 1024
EXIT_INTERNAL_ERROR = 1

log = logging.getLogger("deepvis")


def default_log_file() -> Path:
    """$XDG_STATE_HOME/deepvis/deepvis.log, or ~/.local/state/deepvis/deepvis.log (XDG base directories)."""
    state = os.environ.get("XDG_STATE_HOME", "")
    root = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
    return root / "deepvis" / "deepvis.log"


def log_level(args: argparse.Namespace) -> int:
    """The stderr log level: --log-level, else $DEEPVIS_LOG_LEVEL, else warning."""
    name = getattr(args, "log_level", None)
    if name is None:
        name = os.environ.get(LOG_ENV, "").strip().lower() or "warning"
        if name not in LOG_LEVELS:
            raise UserError(f"{LOG_ENV}={os.environ[LOG_ENV]}: not a log level (use {', '.join(LOG_LEVELS)})")
    return logging.getLevelName(name.upper())


class OneLineFormatter(logging.Formatter):
    """`deepvis: LEVEL: message`, without the traceback (that goes to the log file)."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


class LogSetup:
    """The `deepvis` logger's handlers for one command: stderr, and a file when asked (or for the window)."""

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.handlers: list[logging.Handler] = []
        self.file: Path | None = None
        self.file_handler: logging.Handler | None = None
        self._old_level = log.level
        self._old_hooks: tuple | None = None
        self._warnings_log = logging.getLogger("py.warnings")
        self._old_warnings: tuple | None = None

    def start(self, args: argparse.Namespace) -> None:
        level = log_level(args)
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(level)
        if level <= logging.DEBUG:
            stderr.setFormatter(logging.Formatter("deepvis: %(levelname)s %(name)s: %(message)s"))
        else:
            stderr.setFormatter(OneLineFormatter("deepvis: %(levelname)s: %(message)s"))
        self._add(stderr)
        named = getattr(args, "log_file", None)
        if named:
            self._open_file(check_output_file(named))
        elif getattr(args, "log_to_file", False):
            try:
                self._open_file(default_log_file())
            except OSError as exc:
                log.warning("no log file: cannot write %s (%s); pass --log-file PATH", default_log_file(),
                            exc.strerror or exc)
        log.setLevel(min(level, logging.INFO) if self.file_handler else level)
        if self.file_handler:
            log.info("deepvis %s", " ".join(self.argv))
        if getattr(args, "log_to_file", False):
            self._catch_uncaught()
        self._capture_warnings(stderr if level <= logging.DEBUG else None)

    def _capture_warnings(self, stderr: logging.Handler | None) -> None:
        """`warnings.warn` (numpy's, torch's) into the log file, not onto stderr (there too at debug level)."""
        self._old_warnings = (self._warnings_log.handlers[:], self._warnings_log.propagate)
        handlers = [h for h in (self.file_handler, stderr) if h is not None] or [logging.NullHandler()]
        self._warnings_log.handlers = handlers
        self._warnings_log.propagate = False
        logging.captureWarnings(True)

    def _open_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_FILE_BYTES, backupCount=1, encoding="utf-8")
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
        self._add(handler)
        self.file, self.file_handler = path, handler

    def _add(self, handler: logging.Handler) -> None:
        log.addHandler(handler)
        self.handlers.append(handler)

    def _catch_uncaught(self) -> None:
        """Exceptions escaping a Qt slot (sys.excepthook) or a thread: logged, the window keeps running."""
        self._old_hooks = (sys.excepthook, threading.excepthook)

        def in_slot(kind, value, tb):
            self._report(value, "internal error in the window", tb)

        def in_thread(hook_args):
            if hook_args.exc_type is not SystemExit:
                self._report(hook_args.exc_value, f"internal error in thread {hook_args.thread.name}",
                             hook_args.exc_traceback)

        sys.excepthook, threading.excepthook = in_slot, in_thread

    def internal_error(self, exc: BaseException) -> int:
        """The traceback into the log file; one line on stderr saying so (the traceback there if no file)."""
        self._report(exc, "internal error", exc.__traceback__)
        return EXIT_INTERNAL_ERROR

    def _report(self, exc: BaseException | None, what: str, tb) -> None:
        text = str(exc).strip()
        summary = type(exc).__name__ + (f": {cut_line(text.splitlines()[0], 300)}" if text else "")
        record = logging.LogRecord("deepvis", logging.ERROR, __file__, 0, "%s running: deepvis %s",
                                   (what, " ".join(self.argv)), (type(exc), exc, tb))
        try:
            if self.file_handler is None:
                self._open_file(default_log_file())
            self.file_handler.handle(record)
            self.file_handler.flush()
        except OSError as write_error:
            logging.StreamHandler(sys.stderr).handle(record)
            where = f"above (the log file {default_log_file()} is not writable: {write_error.strerror})"
        else:
            where = f"in {self.file}"
        print(f"deepvis: {what} ({summary}); this is a bug in deepvis, the traceback is {where}", file=sys.stderr)

    def stop(self) -> None:
        if self._old_hooks is not None:
            sys.excepthook, threading.excepthook = self._old_hooks
        if self._old_warnings is not None:
            logging.captureWarnings(False)
            self._warnings_log.handlers, self._warnings_log.propagate = self._old_warnings
        for handler in self.handlers:
            log.removeHandler(handler)
            handler.close()
        log.setLevel(self._old_level)
