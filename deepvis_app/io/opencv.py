"""OpenCV, imported with its console logging quieted.

OpenCV prints `[ WARN:0@0.1] global ...` and `[ERROR:0@0.2] ...` lines straight to stderr (a video
it cannot open, a codec it lacks, a file it half-decodes). deepvis reports those problems itself,
in one line naming the file, so OpenCV's own lines only duplicate them in a less readable form.
`import_cv2()` returns the module with OpenCV's log level set to silent, unless the
`deepvis.io` logger is at DEBUG, where OpenCV's messages are left on for diagnosis. OpenCV has no
hook to route its messages into Python logging, so silencing is the choice here. Still images are
decoded by Pillow (`io.decode`), so libpng/libjpeg messages from OpenCV's codecs do not arise.
"""

from __future__ import annotations

import logging
from types import ModuleType

log = logging.getLogger("deepvis.io")


def import_cv2() -> ModuleType:
    """The cv2 module, its log level set (process-wide) as described above."""
    import cv2

    wanted = cv2.utils.logging.LOG_LEVEL_WARNING if log.isEnabledFor(logging.DEBUG) else \
        cv2.utils.logging.LOG_LEVEL_SILENT
    if cv2.utils.logging.getLogLevel() != wanted:
        cv2.utils.logging.setLogLevel(wanted)
    return cv2
