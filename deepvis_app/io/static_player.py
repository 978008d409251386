"""Shows the static list (images and video files) from a thread of its own.

Reading a large image or opening and decoding a video takes tens to hundreds of milliseconds;
doing it here keeps next/previous instant in the window: `step` only moves the index and
wakes this thread, and the latest request wins. An unreadable entry is skipped (in the
direction of travel) with a message naming the file. A video plays at its own frame rate
(or as fast as it decodes when `paced` is False) and, at its end, reports it and loops
back to the start.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from deepvis_app.io.images import ImageReadError
from deepvis_app.io.playlist import entry_name, is_video, read_entry_image
from deepvis_app.io.reader_thread import Notify, Publish, ReaderThread, bgr_frame_to_rgb, read_only

FALLBACK_FPS = 25.0


class _Video:
    """One open video file and where its playback stands."""

    def __init__(self, path: str, capture: Any):
        import cv2

        self.path = path
        self.name = entry_name(path)
        self.capture = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.period = 1.0 / fps if fps and 1.0 <= fps <= 1000.0 else 1.0 / FALLBACK_FPS
        self.frame_no = 0
        self.due = time.monotonic()

    @classmethod
    def open(cls, path: str) -> _Video | None:
        import cv2

        capture = cv2.VideoCapture(path)
        if capture.isOpened():
            return cls(path, capture)
        capture.release()
        return None

    def rewind(self) -> bool:
        """Back to the first frame (reopened: seeking is unreliable across codecs)."""
        import cv2

        self.capture.release()
        self.capture = cv2.VideoCapture(self.path)
        self.frame_no = 0
        return bool(self.capture.isOpened())

    def release(self) -> None:
        self.capture.release()


class StaticPlayer(ReaderThread):
    """The static side of the inputs: a list of entries, the current index, video playback."""

    def __init__(self, entries: list[str], index: int, publish: Publish, notify: Notify,
                 *, paced: bool = True, active: bool = True):
        super().__init__("deepvis-files", publish, notify, active)
        self._paced = paced
        self._entries = list(entries)
        self._index = index % len(entries)
        self._request: tuple[int, int] | None = (self._index, 1)
        self._video: _Video | None = None
        self._was_paused = False

    # --- called from other threads ----------------------------------------------------------
    def step(self, delta: int) -> None:
        """Show the entry `delta` places on (wrapping); unreadable ones are skipped that way."""
        with self._lock:
            self._index = (self._index + delta) % len(self._entries)
            self._request = (self._index, 1 if delta >= 0 else -1)
            self._frozen = False  # the next video plays; freezing belongs to the one shown
        self._wake.set()

    def set_entries(self, entries: list[str], index: int = 0) -> None:
        """Replace the list (drag-and-drop) and show `index`."""
        if not entries:
            raise ValueError("the static list needs at least one entry")
        with self._lock:
            self._entries = list(entries)
            self._index = index % len(entries)
            self._request = (self._index, 1)
            self._frozen = False
        self._wake.set()

    def current(self) -> tuple[str, int, int]:
        """(entry, index, count) as last requested or landed on."""
        with self._lock:
            return self._entries[self._index], self._index, len(self._entries)

    def showing_video(self) -> bool:
        with self._lock:
            return is_video(self._entries[self._index])

    # --- the thread -------------------------------------------------------------------------
    def _step(self) -> float | None:
        with self._lock:
            request, self._request = self._request, None
            entries = self._entries
        if request is not None:
            self._show(entries, *request)
        _, active, frozen = self._state()
        paused = frozen or not active
        resumed, self._was_paused = self._was_paused and not paused, paused
        if self._video is None or paused:
            return None
        if resumed:
            self._video.due = time.monotonic()
        return self._play(self._video)

    def _show(self, entries: list[str], index: int, direction: int) -> None:
        self._close_video()
        for attempt in range(len(entries)):
            position = (index + attempt * direction) % len(entries)
            loaded = self._open_entry(entries[position])
            if loaded is None:
                continue
            with self._lock:
                replaced = self._entries is not entries  # a list dropped meanwhile: show nothing of this one
                if not replaced and self._request is None:
                    self._index = position
            if isinstance(loaded, _Video):
                self._video = loaded
            elif not replaced:
                self._publish(read_only(loaded), entry_name(entries[position]))
            return
        self._notify("no readable image or video in the input list")

    def _open_entry(self, entry: str) -> np.ndarray | _Video | None:
        """The entry's image or opened video; None (with a message naming it) when unreadable."""
        if is_video(entry):
            video = _Video.open(entry)
            if video is None:
                self._notify(f"skipped {entry}: cannot open this video")
            return video
        try:
            return read_entry_image(entry)
        except ImageReadError as exc:  # its message starts with the path
            self._notify(f"skipped {exc}")
        except ValueError as exc:  # an image with a shape no network can take
            self._notify(f"skipped {entry}: {exc}")
        return None

    def _play(self, video: _Video) -> float | None:
        """Publish the next frame when due; return the time until the one after."""
        now = time.monotonic()
        if self._paced and now < video.due:
            return video.due - now
        ok, frame = video.capture.read()
        if not ok or frame is None:
            return self._end_of_video(video)
        self._publish(bgr_frame_to_rgb(frame), f"{video.name} #{video.frame_no}")
        video.frame_no += 1
        video.due = max(video.due + video.period, now)
        return max(0.0, video.due - now) if self._paced else 0.0

    def _end_of_video(self, video: _Video) -> float | None:
        if video.frame_no == 0:
            self._notify(f"{video.path}: no frame could be read from this video")
            self._close_video()
            return None
        self._notify(f"{video.name}: end of video, playing again from the start")
        if not video.rewind():
            self._notify(f"{video.path}: cannot reopen this video")
            self._close_video()
            return None
        return 0.0

    def _close_video(self) -> None:
        if self._video is not None:
            self._video.release()
            self._video = None

    def _release(self) -> None:
        self._close_video()
