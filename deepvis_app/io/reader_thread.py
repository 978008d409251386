"""The shared skeleton of the camera and file/video reader threads.

Each reader owns one capture device or file and hands every frame it reads to a `publish`
callback, which only records it as the latest frame: frames are dropped, never queued, so a
slow consumer never makes a reader fall behind or grow memory. State changes from other
threads (active, frozen, stop) go through `_wake`, so a reader waiting for its next frame or
for a retry reacts at once instead of finishing its sleep. `frame_read` says a consumer took the
last frame published (a video player decodes its next frame only then: `StaticPlayer`).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import numpy as np

from deepvis_app.io.image_arrays import as_rgb_uint8, read_only

log = logging.getLogger("deepvis.io.reader_thread")

Publish = Callable[[np.ndarray, str], None]
Notify = Callable[[str], None]


def bgr_frame_to_rgb(frame: np.ndarray, mirror: bool = False) -> np.ndarray:
    """An OpenCV frame (BGR, BGRA or gray) as a read-only HxWx3 uint8 RGB image.

    cv2 does the conversion and the flip: they release the GIL, so a reader thread decoding
    a large video does not stall the window or the compute thread.
    """
    import cv2

    codes = {3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGB}
    if frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] in codes:
        rgb = cv2.cvtColor(frame, codes[frame.shape[2]])
    else:
        rgb = as_rgb_uint8(frame[:, :, 2::-1] if frame.ndim == 3 and frame.shape[2] >= 3 else frame)
    return read_only(cv2.flip(rgb, 1) if mirror else rgb)


class ReaderThread(threading.Thread):
    """A daemon thread with stop/active/frozen flags and an interruptible pause."""

    def __init__(self, name: str, publish: Publish, notify: Notify, active: bool = True):
        super().__init__(name=name, daemon=True)
        self._publish = publish
        self._notify = notify
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._active = active
        self._frozen = False
        self._read_at: float | None = 0.0   # when a consumer took the last frame published (None: not yet)

    # --- called from other threads ----------------------------------------------------------
    def stop(self) -> None:
        """Ask the thread to release its device and end (join it afterwards)."""
        with self._lock:
            self._stopping = True
        self._wake.set()

    def set_active(self, active: bool) -> None:
        """Inactive readers stop reading (and release a camera) until activated again."""
        with self._lock:
            self._active = active
        self._wake.set()

    def set_frozen(self, frozen: bool) -> None:
        """Frozen readers keep their device open but read no new frames."""
        with self._lock:
            self._frozen = frozen
        self._wake.set()

    def frame_read(self) -> None:
        """A consumer took the frame this reader published last (`InputManager.latest`)."""
        with self._lock:
            waiting = self._read_at is None
            if waiting:
                self._read_at = time.monotonic()
        if waiting:
            self._wake.set()

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen

    # --- used by the thread itself ----------------------------------------------------------
    def _state(self) -> tuple[bool, bool, bool]:
        with self._lock:
            return self._stopping, self._active, self._frozen

    def _read_time(self) -> float | None:
        """When the last frame published was taken, None while it waits for a consumer."""
        with self._lock:
            return self._read_at

    def _set_read_time(self, when: float | None) -> None:
        """None: a frame is about to be published; a time: treat the last one as taken then."""
        with self._lock:
            self._read_at = when

    def _pause(self, timeout: float | None) -> None:
        """Sleep until `timeout` passes or another thread changes a flag (None: until then)."""
        self._wake.wait(timeout)
        self._wake.clear()

    def run(self) -> None:
        try:
            while not self._state()[0]:
                try:
                    self._pause(self._step())
                except Exception as exc:  # the app must keep running; report and retry
                    log.exception("%s: unexpected error", self.name)
                    self._notify(f"{self.name}: unexpected error: {exc}")
                    self._pause(1.0)
        finally:
            self._release()

    def _step(self) -> float | None:
        """Do one unit of work; return how long to pause before the next (None: until woken)."""
        raise NotImplementedError

    def _release(self) -> None:
        """Free the device or file; called once, on the thread, when it ends."""
