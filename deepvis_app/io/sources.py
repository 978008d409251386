"""The app's input: one object that says which frame to show, whatever the source.

The window and the compute worker ask `InputManager.latest()` for the current frame and rerun
the network when its `seq` changes; they never wait on a disk, a decoder or a camera. A frame
handed out by `latest` (or `wait_for_frame`) counts as taken: a video decodes its next frame only
then, so frames nobody would see are skipped, not decoded and converted (`StaticPlayer`). Behind
it, a files/video thread (`StaticPlayer`) and, when a camera is used, a capture thread
(`CameraReader`) each record only their latest frame. Problems (unreadable file, missing or
unplugged camera, video at its end) become messages for the status bar; nothing here raises
into the app once it runs. Threading only, no Qt.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from deepvis_app.io.camera import CameraReader
from deepvis_app.io.playlist import InputError, entries_from_paths, entries_from_spec, list_labels
from deepvis_app.io.static_player import StaticPlayer
from deepvis_app.settings.defaults import Settings

log = logging.getLogger("deepvis.io.sources")

__all__ = ["Frame", "InputError", "InputManager"]

JOIN_TIMEOUT_S = 5.0
# The camera `c` opens when none is configured: the original's input_updater_capture_device default.
DEFAULT_CAMERA = 0
MAX_MESSAGES = 50


@dataclass(frozen=True, eq=False)
class Frame:
    """One input frame. `image` is HxWx3 uint8 RGB, read-only, at the source's own size
    (camera frames already mirrored; the Preprocessor crops and resizes). `seq` grows whenever
    a new frame becomes the current one, including when switching sources."""

    image: np.ndarray
    name: str
    seq: int


class InputManager:
    """The static list (image files, folders, videos, sample images) and an optional camera.

    `spec`: an image file, an image folder (sorted by name), a video file, `sample:<name>`, or
    None for `settings.static_files_dir` or else the skimage sample images. `camera` (or
    `settings.capture_device`): that camera (an index, or a stream URL cv2 can open) is read in
    its own thread and the manager starts in camera mode. A spec naming nothing usable raises
    `InputError` (before any thread starts). Videos loop: at the end a message is queued and
    playback restarts from the first frame. Call `close()` (or use `with`) to stop and join
    the threads.
    """

    def __init__(self, settings: Settings, spec: str | None = None, camera: int | str | None = None):
        pairs = settings.two_inputs is not None
        entries, index, messages = entries_from_spec(spec, settings.static_files_dir, settings.static_files_regexp,
                                                     settings.static_files_ignore_case, pairs)
        self._settings = settings
        self._labels = list_labels([spec] if spec else [], pairs)   # {shown name: label} from a list file's 2nd column
        self._cond = threading.Condition()
        self._seq = 0
        self._last: dict[str, tuple[np.ndarray, str]] = {}
        self._current: Frame | None = None
        self._current_source = "static"   # the reader that gave `_current` ("static" or "camera")
        self._messages: deque[str] = deque(messages, maxlen=MAX_MESSAGES)
        self._camera_device = camera if camera is not None else settings.capture_device
        self._camera_mode = self._camera_device is not None
        self._camera: CameraReader | None = None
        self._closed = False
        self._listeners: list[Callable[[Frame], None]] = []
        self._message_listeners: list[Callable[[], None]] = []
        # Sources whose frames are ignored: checked under the lock when a frame arrives, so no
        # frame read before a freeze can slip in after `toggle_freeze` returns.
        self._frozen: set[str] = set()
        self._player = StaticPlayer(entries, index, self._publisher("static"), self._notify,
                                    paced=settings.video_paced, active=not self._camera_mode,
                                    max_pixels=settings.max_image_pixels)
        self._player.start()
        if self._camera_mode:
            self._ensure_camera().set_active(True)

    # --- reading --------------------------------------------------------------------------------
    def latest(self) -> Frame | None:
        """The newest frame of the active source (None until it has given one); never blocks. The
        frame counts as taken: a video moves on to the frame due next."""
        with self._cond:
            return self._taken(self._current)

    def peek(self) -> Frame | None:
        """The newest frame, not taken: a video does not move on for it (for "newer frames wait" checks)."""
        with self._cond:
            return self._current

    def _taken(self, frame: Frame | None) -> Frame | None:
        """``frame`` (the current one) handed to a consumer: its reader may read the next (under the lock)."""
        if frame is not None:
            reader = self._camera if self._current_source == "camera" else self._player
            if reader is not None:
                reader.frame_read()
        return frame

    def add_message_listener(self, callback: Callable[[], None]) -> None:
        """Call `callback()` after each new message (e.g. a camera that cannot be opened), so that a
        status line waiting for no new frame still shows it. Same rules as `add_frame_listener`."""
        with self._cond:
            self._message_listeners.append(callback)

    def add_frame_listener(self, callback: Callable[[Frame], None]) -> None:
        """Call `callback(frame)` whenever a new frame becomes current, e.g. to wake the worker.

        It runs in the thread that produced the frame (a reader thread, or the caller of a mode
        switch): keep it short and thread-safe; its exceptions become messages.
        """
        with self._cond:
            self._listeners.append(callback)

    def wait_for_frame(self, after_seq: int = -1, timeout: float | None = None) -> Frame | None:
        """Block until a frame with `seq > after_seq` is current (or timeout); for worker and tests.
        The caller has seen the frames up to `after_seq`: the current one counts as taken."""
        with self._cond:
            self._taken(self._current)
            self._cond.wait_for(lambda: self._current is not None and self._current.seq > after_seq, timeout)
            return self._taken(self._current) if self._current is not None and self._current.seq > after_seq else None

    @property
    def mode(self) -> str:
        """"camera", "video" (the static list shows a video file) or "files"."""
        if self._camera_mode:
            return "camera"
        return "video" if self._player.showing_video() else "files"

    @property
    def frozen(self) -> bool:
        """Whether the active camera or video is frozen (always False for still files)."""
        source = self._stream_source()
        with self._cond:
            return source is not None and source in self._frozen

    @property
    def camera_device(self) -> int | str | None:
        return self._camera_device

    def awaiting_frame(self) -> bool:
        """Whether the active source is still working on a frame to show (opening a file, decoding
        a video's first frame, a camera warming up): False once it gave one or reported that it
        cannot. Screenshot mode waits for it rather than grabbing the placeholder."""
        if self._camera_mode:
            return self._camera is not None and self._camera.connecting
        return self._player.loading()

    def position(self) -> tuple[int, int]:
        """(index, count) in the static list, for the status bar."""
        _, index, count = self._player.current()
        return index, count

    def ground_truth(self, frame: Frame) -> str | None:
        """The label a list file gives the image ``frame`` shows (``cat.jpg 285``), None without one
        (a camera frame never has one). Looked up by the frame's own name, so it always matches the
        picture, also while the next file is still loading."""
        return self._labels.get(re.sub(r" #\d+$", "", frame.name))   # a video frame's name ends in " #N"

    def pop_messages(self) -> list[str]:
        """Messages queued since the last call (oldest first), for the status bar."""
        with self._cond:
            messages = list(self._messages)
            self._messages.clear()
        return messages

    # --- actions ----------------------------------------------------------------------------------
    def next_file(self) -> None:
        """Next entry of the static list (wraps); in camera mode, back to the static list instead."""
        self._step(+1)

    def prev_file(self) -> None:
        """Previous entry of the static list (wraps); in camera mode, back to the static list instead."""
        self._step(-1)

    def toggle_camera(self) -> None:
        """Camera mode <-> the static list. With no camera configured this tries camera 0, as the
        original did; a missing one is reported (and retried while camera mode lasts), `c` or e/w
        go back to the files."""
        if self._camera_device is None and not self._closed:
            self._camera_device = DEFAULT_CAMERA
            self._notify(f"no camera configured: trying camera {DEFAULT_CAMERA} "
                         "(set capture_device or pass --camera N for another)")
        self._set_camera_mode(not self._camera_mode)

    def toggle_freeze(self) -> None:
        """Freeze or unfreeze the camera or video being shown (still images have nothing to freeze)."""
        source = self._stream_source()
        if source is None:
            self._notify("freeze applies to the camera and videos")
            return
        with self._cond:
            freeze = source not in self._frozen
            if freeze:
                self._frozen.add(source)
            else:
                self._frozen.discard(source)
        target = self._camera if source == "camera" else self._player
        if target is not None:
            target.set_frozen(freeze)

    def open_paths(self, paths: list[str]) -> None:
        """Files (in the given order) and folders (sorted) become the static list (drag-and-drop).

        Paths that cannot be used give messages; if none can, the current list stays.
        """
        entries, messages = entries_from_paths(paths, self._settings.static_files_regexp,
                                               self._settings.static_files_ignore_case,
                                               self._settings.two_inputs is not None)
        for message in messages:
            self._notify(message)
        if not entries:
            if not messages:
                self._notify("nothing to open")
            return
        self._labels = list_labels(paths)
        with self._cond:
            self._last.pop("static", None)  # not re-shown when leaving camera mode: it is replaced
            self._frozen.discard("static")  # the player unfreezes for a new entry too
        self._player.set_entries(entries, 0)
        self._set_camera_mode(False)

    def close(self) -> None:
        """Stop and join every thread this manager started (idempotent)."""
        self._closed = True
        readers = [r for r in (self._player, self._camera) if r is not None]
        for reader in readers:
            reader.stop()
        for reader in readers:
            if reader.is_alive():
                reader.join(JOIN_TIMEOUT_S)

    def __enter__(self) -> InputManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- internals ----------------------------------------------------------------------------
    def _step(self, delta: int) -> None:
        if self._camera_mode:
            self._set_camera_mode(False)
            return
        with self._cond:
            self._frozen.discard("static")  # the player unfreezes for a new entry too
        self._player.step(delta)

    def _stream_source(self) -> str | None:
        """"camera" or "static" when a camera or video is shown, None for still images."""
        if self._camera_mode:
            return "camera"
        return "static" if self._player.showing_video() else None

    def _ensure_camera(self) -> CameraReader:
        if self._camera_device is None:
            raise InputError("no camera: set capture_device or pass --camera")
        if self._camera is None:
            s = self._settings
            self._camera = CameraReader(self._camera_device, self._publisher("camera"), self._notify,
                                        mirror=s.camera_mirror, sleep_s=s.camera_sleep_s,
                                        retry_s=s.camera_retry_s, active=False)
            self._camera.start()
        return self._camera

    def _set_camera_mode(self, on: bool) -> None:
        if self._closed or on == self._camera_mode or (on and self._camera_device is None):
            return
        camera = self._ensure_camera() if on else self._camera
        # A camera frame from before is shown again only when frozen (the original re-pushed it);
        # a live camera's old frame would pretend the camera still works.
        reshow = not on or "camera" in self._frozen
        with self._cond:
            self._camera_mode = on
            self._current_source = "camera" if on else "static"
            last = self._last.get("camera" if on else "static") if reshow else None
            self._current = None if last is None else self._new_frame(*last)
            self._cond.notify_all()
            current = self._current
        self._player.set_active(not on)
        if camera is not None:
            camera.set_active(on)
        self._tell_listeners(current)

    def _publisher(self, source: str) -> Callable[[np.ndarray, str], None]:
        def publish(image: np.ndarray, name: str) -> None:
            frame = None
            with self._cond:
                if source in self._frozen:
                    return
                self._last[source] = (image, name)
                if (source == "camera") == self._camera_mode:
                    frame = self._current = self._new_frame(image, name)
                    self._current_source = source
                    self._cond.notify_all()
            self._tell_listeners(frame)

        return publish

    def _tell_listeners(self, frame: Frame | None) -> None:
        if frame is None:
            return
        with self._cond:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(frame)
            except Exception as exc:  # a listener's bug must not stop the readers
                log.exception("frame listener failed")
                self._notify(f"frame listener failed: {exc}")

    def _new_frame(self, image: np.ndarray, name: str) -> Frame:
        self._seq += 1
        return Frame(image, name, self._seq)

    def _notify(self, message: str) -> None:
        with self._cond:
            self._messages.append(message)
            listeners = list(self._message_listeners)
        for callback in listeners:
            try:
                callback()
            except Exception:  # a listener's bug must not stop the readers
                log.exception("message listener failed")
