"""OpenCV, imported with its console logging quieted.

OpenCV prints `[ WARN:0@0.1] global ...` and `[ERROR:0@0.2] ...` lines straight to stderr (a video
it cannot open, a codec it lacks, a file it half-decodes). deepvis reports those problems itself,
in one line naming the file, so OpenCV's own lines only duplicate them in a less readable form.
`import_cv2()` returns the module with OpenCV's log level set to silent, unless the
`deepvis.io` logger is at DEBUG, where OpenCV's messages are left on for diagnosis. OpenCV has no
hook to route its messages into Python logging, so silencing is the choice here. Some parts of
OpenCV (its own AVI/MJPEG parser: "Unexpected element. Expected: LIST") and FFmpeg write to the
C stderr directly, past that log level: `open_capture` catches file descriptor 2 while a capture
opens and decodes its first frame, and puts what was written there into our log at DEBUG. Still
images are decoded by Pillow (`io.decode`), so libpng/libjpeg messages from OpenCV's codecs do
not arise.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

log = logging.getLogger("deepvis.io")


def import_cv2() -> ModuleType:
    """The cv2 module, its log level set (process-wide) as described above."""
    import cv2

    wanted = cv2.utils.logging.LOG_LEVEL_WARNING if log.isEnabledFor(logging.DEBUG) else \
        cv2.utils.logging.LOG_LEVEL_SILENT
    if cv2.utils.logging.getLogLevel() != wanted:
        cv2.utils.logging.setLogLevel(wanted)
    return cv2


_FD2_LOCK = threading.Lock()


@contextmanager
def stderr_into_log(what: str) -> Iterator[None]:
    """What C code writes to file descriptor 2 meanwhile goes to our log (DEBUG), not the terminal.

    Process-wide for its (short) duration; nested or concurrent uses wait for each other.
    """
    with _FD2_LOCK:
        sys.stderr.flush()
        saved = os.dup(2)
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                text = sink.read().decode(errors="replace").strip()
                if text:
                    log.debug("%s (from OpenCV/FFmpeg): %s", what, text)


def open_capture(source: int | str, api: int | None = None) -> tuple[Any, Any]:
    """(cv2.VideoCapture for ``source`` (through backend ``api``, default: OpenCV's choice), its first
    frame or None), the libraries' stderr lines logged."""
    cv2 = import_cv2()
    with stderr_into_log(f"opening {source}"):
        capture = cv2.VideoCapture(source) if api is None else cv2.VideoCapture(source, api)
        frame = None
        if capture.isOpened():
            ok, frame = capture.read()
            frame = frame if ok else None
    return capture, frame
