"""Shows the static list (images and video files) from a thread of its own.

Reading a large image or opening and decoding a video takes tens to hundreds of milliseconds;
doing it here keeps next/previous instant in the window: `step` only moves the index and
wakes this thread, and the latest request wins. An unreadable entry (an image that does not
decode, a video without a single decodable frame) is skipped in the direction of travel with a
message naming the file and the reason; when no entry can be shown, the last message says which
file failed and why. A video plays at its own frame rate (or one frame per frame read when `paced`
is False) and, at its end, reports it and loops back to the start; a video that cannot be
reopened is skipped like an unreadable entry.

A video frame is decoded only when it will be shown: the next one once the consumer took the last
(`frame_read`, from `InputManager.latest`). Frames that came due while the last one was still
waiting are skipped with `grab` (the demuxer moves on, no colour conversion, no publishing), so a
model slower than the video sees the video in real time without every frame of it being converted
and handed over; a consumer faster than the video gets every frame. Skipping costs a decode where the
codec needs one (each frame of H.264 depends on the last); an MJPG video, whose frames stand alone,
is read through OpenCV's own MJPEG reader, whose `grab` only moves past the frame's bytes.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from deepvis_app.io.image_arrays import read_only
from deepvis_app.io.images import ImageReadError, path_problem
from deepvis_app.io.opencv import import_cv2, open_capture
from deepvis_app.io.playlist import InputError, entry_name, is_video, read_entry_image
from deepvis_app.io.reader_thread import Notify, Publish, ReaderThread, bgr_frame_to_rgb

FALLBACK_FPS = 25.0
MAX_SKIP_S = 1.0   # at most this much video is skipped at once; further behind, playback restarts its clock


class _Video:
    """One open video file whose first frame decoded, and where its playback stands."""

    def __init__(self, path: str, capture: Any, first_frame: np.ndarray):
        cv2 = import_cv2()
        self.path = path
        self.name = entry_name(path)
        self.capture = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.period = 1.0 / fps if fps and 1.0 <= fps <= 1000.0 else 1.0 / FALLBACK_FPS
        self.frame_no = 0
        self.due = time.monotonic()
        self._pending: np.ndarray | None = first_frame

    @classmethod
    def open(cls, path: str) -> _Video:
        """Open `path` and decode its first frame; `InputError` naming the file and why it cannot play."""
        problem = path_problem(path)
        if problem is None and os.path.getsize(path) == 0:
            problem = "empty file"
        if problem is not None:
            raise InputError(f"{path}: {problem}")
        capture, frame = open_capture(path)  # OpenCV's and FFmpeg's own lines go to our log
        if not capture.isOpened():
            capture.release()
            raise InputError(f"{path}: not a video OpenCV can open (unknown format, or a damaged header)")
        if frame is None:
            capture.release()
            raise InputError(f"{path}: no frame could be decoded (a damaged file, or a codec OpenCV lacks)")
        return cls(path, *_standalone_frames(path, capture, frame))

    def skip(self) -> bool:
        """Move past the next frame without converting it; False at the end or on a decoding error."""
        if self._pending is not None:
            self._pending = None
            return True
        return bool(self.capture.grab())

    def read(self) -> np.ndarray | None:
        """The next BGR frame (the one decoded by `open` first), None at the end or on a decoding error."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        ok, frame = self.capture.read()
        return frame if ok else None

    def release(self) -> None:
        self.capture.release()


def _standalone_frames(path: str, capture: Any, frame: np.ndarray) -> tuple[Any, np.ndarray]:
    """An MJPG video opened again through OpenCV's MJPEG reader (skipping a frame decodes nothing),
    when that reader takes the file; else the capture as it is."""
    cv2 = import_cv2()
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
    if fourcc.to_bytes(4, "little").upper() != b"MJPG" or capture.getBackendName() == "CV_MJPEG":
        return capture, frame
    mjpeg, first = open_capture(path, cv2.CAP_OPENCV_MJPEG)
    if not mjpeg.isOpened() or first is None:
        mjpeg.release()
        return capture, frame
    capture.release()
    return mjpeg, first


class StaticPlayer(ReaderThread):
    """The static side of the inputs: a list of entries, the current index, video playback."""

    def __init__(self, entries: list[str], index: int, publish: Publish, notify: Notify,
                 *, paced: bool = True, active: bool = True, max_pixels: int | None = None):
        super().__init__("deepvis-files", publish, notify, active)
        self._max_pixels = max_pixels  # the max_image_pixels setting
        self._paced = paced
        self._entries = list(entries)
        self._index = index % len(entries)
        self._request: tuple[int, int] | None = (self._index, 1)
        self._video: _Video | None = None
        self._was_paused = False
        self._showing = False  # between taking a request and showing (or giving up on) its entry

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

    def loading(self) -> bool:
        """Whether an entry is being opened (its frame is on its way, or a message that it cannot be)."""
        with self._lock:
            return self._request is not None or self._showing

    # --- the thread -------------------------------------------------------------------------
    def _step(self) -> float | None:
        with self._lock:
            request, self._request = self._request, None
            entries = self._entries
            self._showing = request is not None
        if request is not None:
            try:
                self._show(entries, *request)
            finally:
                with self._lock:
                    self._showing = False
        _, active, frozen = self._state()
        paused = frozen or not active
        resumed, self._was_paused = self._was_paused and not paused, paused
        if self._video is None or paused:
            return None
        if resumed:   # a frame dropped while frozen or inactive was never shown: play on from now
            self._video.due = time.monotonic()
            self._set_read_time(self._video.due)
        if self._read_time() is None:
            return None   # the last frame is still waiting for the consumer: `frame_read` wakes us
        return self._play(self._video)

    def _show(self, entries: list[str], index: int, direction: int) -> None:
        """Show the first readable entry from `index` on, in the direction of travel."""
        self._close_video()
        problem = ""
        for attempt in range(len(entries)):
            position = (index + attempt * direction) % len(entries)
            try:
                loaded = self._open_entry(entries[position])
            except InputError as exc:
                problem = str(exc)
                if len(entries) > 1:
                    self._notify(f"skipped {problem}")
                continue
            with self._lock:
                replaced = self._entries is not entries  # a list dropped meanwhile: show nothing of this one
                if not replaced and self._request is None:
                    self._index = position
            if isinstance(loaded, _Video):
                self._video = loaded
                if not replaced:
                    self._play(loaded)  # its first frame, at once
            elif not replaced:
                self._publish(read_only(loaded), entry_name(entries[position]))
            return
        self._notify(f"cannot show {problem}" if len(entries) == 1 else
                     f"none of the {len(entries)} inputs can be shown (last: {problem})")

    def _open_entry(self, entry: str) -> np.ndarray | _Video:
        """The entry's image or opened video; `InputError` naming the file and the reason when unreadable."""
        if is_video(entry):
            return _Video.open(entry)
        try:
            return read_entry_image(entry, self._max_pixels)
        except ImageReadError as exc:  # its message starts with the path
            raise InputError(str(exc)) from exc
        except ValueError as exc:  # an image with a shape no network can take
            raise InputError(f"{entry}: {exc}") from exc

    def _play(self, video: _Video) -> float | None:
        """Publish the next frame when due (skipping those that came due while the last one waited
        for the consumer); return the time until the one after."""
        now = time.monotonic()
        if self._paced and now < video.due:
            return video.due - now
        skipped = self._behind(video)
        for _ in range(skipped):
            if not video.skip():
                return self._end_of_video(video)
        frame = video.read()
        if frame is None:
            return self._end_of_video(video)
        video.frame_no += skipped
        self._set_read_time(None)
        self._publish(bgr_frame_to_rgb(frame), f"{video.name} #{video.frame_no}")
        video.frame_no += 1
        video.due = max(video.due + (skipped + 1) * video.period, now)
        return max(0.0, video.due - now) if self._paced else 0.0

    def _behind(self, video: _Video) -> int:
        """How many frames to skip: those whose next frame was already due when the last one was taken."""
        read_at = self._read_time()
        if not self._paced or read_at is None or read_at < video.due + video.period:
            return 0
        behind = int((read_at - video.due) / video.period)
        if behind * video.period > MAX_SKIP_S:   # far behind (a stall): restart the clock instead
            video.due = time.monotonic()
            return 0
        return behind

    def _end_of_video(self, video: _Video) -> float | None:
        """Loop: reopen the file (seeking is unreliable across codecs); move on when that fails."""
        self._close_video()
        try:
            self._video = _Video.open(video.path)
        except InputError as exc:
            self._move_on(str(exc))
            return 0.0
        self._notify(f"{video.name}: end of video, playing again from the start")
        return 0.0

    def _move_on(self, problem: str) -> None:
        """The entry shown became unreadable: on to the next one (unless it is the only one)."""
        with self._lock:
            alone = len(self._entries) == 1
            if not alone and self._request is None:
                self._index = (self._index + 1) % len(self._entries)
                self._request = (self._index, 1)
        self._notify(f"cannot show {problem}" if alone else f"skipped {problem}")

    def _close_video(self) -> None:
        if self._video is not None:
            self._video.release()
            self._video = None

    def _release(self) -> None:
        self._close_video()
