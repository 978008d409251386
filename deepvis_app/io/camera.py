"""A camera read in its own thread, so a slow or stalled device never blocks the window or the model.

The thread opens the camera by index while active, records only the latest (mirrored) frame,
sleeps between reads, and releases the device when camera mode is left. A camera that is
missing or stops giving frames (unplugged) is reported once and retried every `retry_s`
seconds while camera mode lasts; it never raises into the app. OpenCV's own `[ WARN ]` lines
for each failed retry are silenced (`io.opencv`); the retries are logged on `deepvis.io.camera`.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from deepvis_app.io.reader_thread import Notify, Publish, ReaderThread, bgr_frame_to_rgb

log = logging.getLogger("deepvis.io.camera")


def _open_cv_capture(device: int | str) -> Any:
    from deepvis_app.io.opencv import import_cv2, stderr_into_log

    with stderr_into_log(f"opening camera {device}"):   # OpenCV's own lines go to our log
        return import_cv2().VideoCapture(device)


class CameraReader(ReaderThread):
    """Reads camera `device` while active and not frozen; see the module docstring.

    `device` is a camera index, or any source string cv2.VideoCapture takes (a stream URL).
    """

    def __init__(self, device: int | str, publish: Publish, notify: Notify, *, mirror: bool = True,
                 sleep_s: float = 0.05, retry_s: float = 2.0, active: bool = True,
                 open_capture: Callable[[int | str], Any] | None = None):
        super().__init__(f"deepvis-camera-{device}", publish, notify, active)
        self.device = device
        self.label = f"camera {device}"
        self._mirror = mirror
        self._sleep_s = sleep_s
        self._retry_s = retry_s
        self._open_capture = open_capture  # None: cv2.VideoCapture (looked up when opening)
        self._capture: Any = None
        self._failing = False  # a failure was reported and not yet followed by a frame
        self._reactivated = False
        self._delivered = False  # a frame since camera mode was (re)entered

    def set_active(self, active: bool) -> None:
        with self._lock:
            self._reactivated = self._reactivated or active
            if active:
                self._delivered = False
        super().set_active(active)

    @property
    def connecting(self) -> bool:
        """Active, and neither a frame nor a failure yet: the camera is opening or warming up."""
        with self._lock:
            return self._active and not self._delivered and not (self._failing and not self._reactivated)

    def _step(self) -> float | None:
        _, active, frozen = self._state()
        with self._lock:
            if self._reactivated:  # entering camera mode again reports a missing camera again
                self._reactivated, self._failing = False, False
        if not active:
            self._release()
            return None
        if self._capture is None and not self._open():
            return self._retry_s
        if frozen:
            return None
        if not self._read_one():
            self._release()
            return self._retry_s
        return self._sleep_s

    def _open(self) -> bool:
        capture = (self._open_capture or _open_cv_capture)(self.device)
        if capture is not None and capture.isOpened():
            self._capture = capture
            return True
        if capture is not None:
            capture.release()
        self._report(f"{self.label}: not found or busy; retrying every {self._retry_s:g} s")
        return False

    def _read_one(self) -> bool:
        ok, frame = self._capture.read()
        if not ok or frame is None:
            self._report(f"{self.label}: no frame (unplugged?); retrying every {self._retry_s:g} s")
            return False
        self._publish(bgr_frame_to_rgb(frame, self._mirror), self.label)
        with self._lock:
            self._delivered = True
        if self._failing:
            self._failing = False
            self._notify(f"{self.label}: connected")
        return True

    def _report(self, message: str) -> None:
        """Tell the user once per failure; each further retry goes to the log (DEBUG), not to stderr."""
        if self._failing:
            log.debug("%s (still)", message)
            return
        with self._lock:
            self._failing = True
        log.info("%s", message)
        self._notify(message)

    def _release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
