"""Input sources with real threads: sample images, folders, files, videos, cameras, drag-and-drop."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from deepvis_app.io.camera import CameraReader
from deepvis_app.io.images import SAMPLE_NAMES
from deepvis_app.io.sources import Frame, InputError, InputManager
from deepvis_app.settings.defaults import Settings

DEADLINE_S = 10.0


def wait_until(predicate, timeout: float = DEADLINE_S, interval: float = 0.005):
    """Poll until `predicate()` is truthy; return its value or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


def next_frame(manager: InputManager, after: Frame | None) -> Frame:
    frame = manager.wait_for_frame(-1 if after is None else after.seq, DEADLINE_S)
    assert frame is not None, "no new frame before the deadline"
    return frame


def wait_for_message(manager: InputManager, text: str, seen: list[str] | None = None) -> list[str]:
    seen = [] if seen is None else seen

    def found():
        seen.extend(manager.pop_messages())
        return any(text in message for message in seen)

    wait_until(found)
    return seen


@pytest.fixture
def settings() -> Settings:
    return dataclasses.replace(Settings(), camera_retry_s=0.05, camera_sleep_s=0.005)


@pytest.fixture
def make_manager(settings):
    """InputManager factory: closes every manager and fails on threads left running."""
    before = set(threading.enumerate())
    managers: list[InputManager] = []

    def make(spec=None, camera=None, **changes) -> InputManager:
        manager = InputManager(dataclasses.replace(settings, **changes), spec, camera)
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.close()
    leaked = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not leaked, f"threads left running after close(): {leaked}"


def solid(value: tuple[int, int, int], shape=(20, 30)) -> np.ndarray:
    return np.tile(np.array(value, dtype=np.uint8), (*shape, 1))


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1]))
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    """b.png, a.png, c.png (solid colours), bad.png (not an image), notes.txt (not listed)."""
    root = tmp_path / "images"
    root.mkdir()
    write_rgb(root / "b.png", solid((0, 255, 0)))
    write_rgb(root / "a.png", solid((255, 0, 0)))
    write_rgb(root / "c.png", solid((0, 0, 255)))
    (root / "bad.png").write_bytes(b"this is not a png")
    (root / "notes.txt").write_text("not an image")
    return root


def write_video(path: Path, frames: int = 12, fps: float = 60.0) -> Path:
    """An MJPG clip whose frame i is a uniform gray of 20 * i (RGB = BGR for gray)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (32, 24))
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((24, 32, 3), 20 * i, dtype=np.uint8))
    writer.release()
    return path


# --- sample images and static files --------------------------------------------------------------
def test_samples_are_the_default_and_wrap_both_ways(make_manager):
    manager = make_manager()
    frame = next_frame(manager, None)
    assert (frame.name, manager.mode, manager.frozen) == ("sample:chelsea", "files", False)
    assert frame.image.dtype == np.uint8 and frame.image.shape == data.chelsea().shape
    np.testing.assert_array_equal(frame.image, data.chelsea())
    assert not frame.image.flags.writeable
    names = []
    for _ in SAMPLE_NAMES:
        manager.next_file()
        frame = next_frame(manager, frame)
        names.append(frame.name)
    assert names == [f"sample:{n}" for n in SAMPLE_NAMES[1:]] + ["sample:chelsea"]
    manager.prev_file()
    assert next_frame(manager, frame).name == f"sample:{SAMPLE_NAMES[-1]}"


def test_sample_spec_starts_at_that_sample(make_manager):
    manager = make_manager("sample:coffee")
    np.testing.assert_array_equal(next_frame(manager, None).image, data.coffee())


def test_folder_sorted_skips_unreadable_and_wraps(make_manager, folder):
    manager = make_manager(str(folder))
    frame = next_frame(manager, None)
    assert frame.name == "a.png"
    np.testing.assert_array_equal(frame.image, solid((255, 0, 0)))
    manager.next_file()
    frame = next_frame(manager, frame)
    assert frame.name == "b.png"
    manager.next_file()  # bad.png: skipped, with a message naming it
    frame = next_frame(manager, frame)
    assert frame.name == "c.png"
    np.testing.assert_array_equal(frame.image, solid((0, 0, 255)))
    assert any("bad.png" in m for m in manager.pop_messages())
    assert manager.position() == (3, 4)
    manager.next_file()
    frame = next_frame(manager, frame)
    assert frame.name == "a.png"
    manager.prev_file()
    assert next_frame(manager, frame).name == "c.png"


def test_going_backwards_skips_unreadable_backwards(make_manager, folder):
    manager = make_manager(str(folder))
    frame = next_frame(manager, None)
    for expected in ("c.png", "b.png"):  # a -> (wrap) c -> (bad skipped) b
        manager.prev_file()
        frame = next_frame(manager, frame)
        assert frame.name == expected


def test_single_image_file(make_manager, folder):
    manager = make_manager(str(folder / "b.png"))
    frame = next_frame(manager, None)
    manager.next_file()
    assert next_frame(manager, frame).name == "b.png"


def test_all_unreadable_keeps_running(make_manager, tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"")
    manager = make_manager(str(tmp_path / "x.jpg"))
    wait_for_message(manager, "x.jpg")
    assert manager.latest() is None


def settled_messages(manager: InputManager) -> list[str]:
    """Every message once the static list has finished opening its entry (the status bar shows the last)."""
    wait_until(lambda: not manager.awaiting_frame())
    return manager.pop_messages()


def test_the_only_input_unreadable_the_last_message_names_it_and_why(make_manager, tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"")
    manager = make_manager(str(tmp_path / "x.jpg"))
    messages = settled_messages(manager)
    assert messages and "x.jpg" in messages[-1] and "empty file" in messages[-1], messages
    assert manager.latest() is None


def test_no_readable_entry_the_last_message_names_the_last_file_and_why(make_manager, tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "b.png").write_bytes(b"not a png at all")
    manager = make_manager(str(tmp_path))
    messages = settled_messages(manager)
    assert any("a.jpg" in m and "empty file" in m for m in messages), messages
    assert "b.png" in messages[-1] and "2 inputs" in messages[-1], messages


def write_undecodable_video(path: Path) -> Path:
    """A video whose header OpenCV accepts but whose frames do not decode (data garbled)."""
    data = bytearray(write_video(path, frames=8).read_bytes())
    for i in range(400, len(data) - 200):
        data[i] = (data[i] * 7 + 3) % 256
    path.write_bytes(bytes(data))
    capture = cv2.VideoCapture(str(path))
    opened, decoded = capture.isOpened(), capture.isOpened() and capture.read()[0]
    capture.release()
    assert opened and not decoded, "precondition: OpenCV opens the file but decodes no frame"
    return path


def test_video_without_a_decodable_frame_is_skipped_for_the_next_entry(make_manager, folder, tmp_path):
    broken = write_undecodable_video(tmp_path / "broken.avi")
    manager = make_manager()
    next_frame(manager, None)
    manager.open_paths([str(broken), str(folder / "c.png")])
    wait_until(lambda: manager.latest().name == "c.png")
    messages = manager.pop_messages()
    assert any("broken.avi" in m and "no frame could be decoded" in m for m in messages), messages


def test_a_video_that_cannot_be_reopened_at_its_end_moves_on(make_manager, folder, tmp_path):
    clip = write_video(tmp_path / "clip.avi", frames=12, fps=12.0)
    manager = make_manager()
    next_frame(manager, None)
    manager.open_paths([str(clip), str(folder / "a.png")])
    wait_until(lambda: manager.latest().name.startswith("clip.avi #"))
    clip.unlink()  # the capture still reads the open file; reopening it for the next loop fails
    wait_until(lambda: manager.latest().name == "a.png")
    messages = manager.pop_messages()
    assert any("clip.avi" in m and "no such file" in m for m in messages), messages


@pytest.mark.parametrize("spec", ["/nonexistent/image.png", "sample:nope", "EMPTY"])
def test_unusable_spec_raises_input_error_naming_it(settings, tmp_path, spec):
    spec = str(tmp_path) if spec == "EMPTY" else spec
    before = set(threading.enumerate())
    with pytest.raises(InputError, match=Path(spec).name if spec != "sample:nope" else "sample:nope"):
        InputManager(settings, spec)
    assert set(threading.enumerate()) == before


def test_list_file_names_entries_relative_to_itself(make_manager, folder):
    listing = folder / "list.txt"
    listing.write_text("b.png 1\n# a comment\n\n  a.png,2\nsample:coffee\nmissing.png 3\n")
    manager = make_manager(str(listing))
    frame = next_frame(manager, None)
    assert frame.name == "b.png" and manager.position() == (0, 3)
    assert any("1 of 4" in m and "missing.png" in m for m in manager.pop_messages())
    for expected in ("a.png", "sample:coffee", "b.png"):
        manager.next_file()
        frame = next_frame(manager, frame)
        assert frame.name == expected
    manager.open_paths([str(folder / "notes.txt")])  # a text file naming no image: a message only
    assert manager.position() == (0, 3)
    assert any("notes.txt" in m and "not found" in m for m in manager.pop_messages())


def test_settings_folder_used_when_no_spec(make_manager, folder):
    manager = make_manager(static_files_dir=str(folder))
    assert next_frame(manager, None).name == "a.png"


# --- video ----------------------------------------------------------------------------------------
def test_video_frames_advance_and_loop_at_eof(make_manager, tmp_path):
    manager = make_manager(str(write_video(tmp_path / "clip.avi")))
    heard: list[tuple[int, float, float]] = []  # (frame index, time, mean pixel)
    manager.add_frame_listener(lambda f: heard.append((int(f.name.split("#")[1]), time.monotonic(), f.image.mean())))
    assert manager.mode == "video"

    def restarts() -> list[int]:
        return [i for i in range(1, len(heard)) if heard[i][0] < heard[i - 1][0]]

    first, second = wait_until(lambda: restarts()[:2] if len(restarts()) >= 2 else None)
    run = heard[first:second]  # one whole pass, heard frame by frame (the listener misses none)
    assert [index for index, _, _ in run] == list(range(12))
    assert all(abs(mean - 20 * index) <= 8 for index, _, mean in run)  # MJPG is lossy
    assert run[-1][1] - run[0][1] >= 0.9 * 11 / 60.0  # paced at the file's 60 fps, not decode speed
    messages = manager.pop_messages()
    assert any("clip.avi" in m and "end of video" in m for m in messages)


def test_unpaced_video_plays_all_frames(make_manager, tmp_path):
    manager = make_manager(str(write_video(tmp_path / "clip.avi", fps=1.0)), video_paced=False)
    wait_for_message(manager, "end of video")  # 12 frames at 1 fps would take 12 s when paced


def test_freeze_stops_the_video_and_unfreeze_resumes(make_manager, tmp_path):
    manager = make_manager(str(write_video(tmp_path / "clip.avi")))
    next_frame(manager, None)
    manager.toggle_freeze()
    assert manager.frozen
    frozen = manager.latest()
    time.sleep(0.1)  # six frame periods at 60 fps
    assert manager.latest() is frozen  # not even a frame read before the freeze slips in
    manager.toggle_freeze()
    assert not manager.frozen
    next_frame(manager, frozen)


def test_freeze_on_still_images_is_a_message(make_manager):
    manager = make_manager()
    manager.toggle_freeze()
    assert not manager.frozen
    assert any("freeze" in m for m in manager.pop_messages())


def test_unopenable_video_in_list_is_skipped(make_manager, folder):
    (folder / "broken.avi").write_bytes(b"garbage" * 100)
    manager = make_manager()
    manager.open_paths([str(folder / "broken.avi"), str(folder / "c.png")])
    wait_until(lambda: (f := manager.latest()) is not None and f.name == "c.png")
    assert any("broken.avi" in m for m in manager.pop_messages())


def test_mixed_list_switches_between_video_and_files(make_manager, folder, tmp_path):
    clip = write_video(tmp_path / "clip.avi")
    manager = make_manager()
    next_frame(manager, None)
    manager.open_paths([str(clip), str(folder / "a.png")])
    assert manager.mode == "video"
    wait_until(lambda: manager.latest().name.startswith("clip.avi #"))
    manager.toggle_freeze()
    manager.next_file()
    wait_until(lambda: manager.latest().name == "a.png")
    assert (manager.mode, manager.frozen) == ("files", False)
    manager.next_file()  # back to the video: it plays again, not frozen
    frame = wait_until(lambda: (f := manager.latest()).name.startswith("clip.avi") and f)
    assert manager.mode == "video" and not manager.frozen
    next_frame(manager, frame)


def test_frame_listener_sees_every_new_frame(make_manager, tmp_path):
    manager = make_manager(str(write_video(tmp_path / "clip.avi")))
    heard: list[Frame] = []
    manager.add_frame_listener(heard.append)
    wait_until(lambda: len(heard) >= 5)
    seqs = [frame.seq for frame in heard]
    assert seqs == sorted(set(seqs))
    assert all(frame.name.startswith("clip.avi #") for frame in heard)


# --- camera ---------------------------------------------------------------------------------------
def test_missing_camera_reports_and_keeps_running(make_manager):
    manager = make_manager(camera=99)
    assert manager.mode == "camera"
    wait_for_message(manager, "camera 99")
    assert manager.latest() is None
    manager.next_file()  # like the original's e/w: leave camera mode for the static list
    assert manager.mode == "files"
    frame = next_frame(manager, None)
    assert frame.name == "sample:chelsea"
    manager.toggle_camera()
    assert manager.mode == "camera" and manager.latest() is None
    wait_for_message(manager, "camera 99")  # reported again on re-entering camera mode
    manager.toggle_camera()
    assert next_frame(manager, frame).name == "sample:chelsea"  # re-shown with a newer seq


def test_camera_from_settings(make_manager):
    manager = make_manager(capture_device=99)
    assert manager.mode == "camera" and manager.camera_device == 99
    wait_for_message(manager, "not found")


def test_toggle_camera_without_camera_is_a_message(make_manager):
    manager = make_manager()
    manager.toggle_camera()
    assert manager.mode == "files"
    assert any("camera" in m for m in manager.pop_messages())


def write_half_bright_video(path: Path, frames: int = 5) -> Path:
    """Frames whose left half is black and right half white (to see the mirroring)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (32, 24))
    image = np.zeros((24, 32, 3), dtype=np.uint8)
    image[:, 16:] = 255
    for _ in range(frames):
        writer.write(image)
    writer.release()
    return path


@pytest.mark.parametrize("mirror", [True, False])
def test_camera_stream_is_mirrored_and_reconnects_after_it_ends(make_manager, tmp_path, mirror):
    """A video file opened as a camera stream: real cv2 reads; its end looks like an unplug."""
    stream = str(write_half_bright_video(tmp_path / "cam.avi"))
    manager = make_manager(camera=stream, camera_mirror=mirror)
    frame = next_frame(manager, None)
    assert frame.name == f"camera {stream}" and manager.mode == "camera"
    left, right = frame.image[:, :12].mean(), frame.image[:, -12:].mean()
    assert (left > 200 and right < 50) if mirror else (left < 50 and right > 200)
    seen = wait_for_message(manager, "unplugged")
    wait_for_message(manager, "connected", seen)  # retried and opened again
    next_frame(manager, manager.latest())


def test_frozen_camera_frame_is_shown_again_after_files(make_manager, tmp_path):
    manager = make_manager(camera=str(write_half_bright_video(tmp_path / "cam.avi", frames=1000)))
    frame = next_frame(manager, None)
    manager.toggle_freeze()
    assert manager.frozen
    frozen = manager.latest()
    manager.toggle_camera()
    assert manager.mode == "files" and not manager.frozen
    frame = next_frame(manager, frozen)
    assert frame.name == "sample:chelsea"
    manager.toggle_camera()
    again = manager.latest()
    assert again.image is frozen.image and again.seq > frame.seq and manager.frozen
    manager.toggle_freeze()
    assert next_frame(manager, again).image is not frozen.image


class FakeDevice:
    """A camera stand-in: gives `frames` frames per plug-in, then fails as if unplugged."""

    def __init__(self, frames: int, frame: np.ndarray, log: list[str]):
        self.frames, self.frame, self.log = frames, frame, log

    def isOpened(self) -> bool:  # noqa: N802 - cv2's name
        return True

    def read(self):
        self.frames -= 1
        return (True, self.frame.copy()) if self.frames >= 0 else (False, None)

    def release(self) -> None:
        self.log.append("release")


def test_camera_reader_mirrors_retries_and_reconnects():
    bgr = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    published, messages, log = [], [], []
    opens = iter([None, FakeDevice(3, bgr, log), FakeDevice(2, bgr, log)])  # absent, plugged, replugged

    def open_capture(device):
        log.append(f"open {device}")
        return next(opens, None)

    reader = CameraReader(5, lambda img, name: published.append((img, name)), messages.append,
                          mirror=True, sleep_s=0.001, retry_s=0.01, open_capture=open_capture)
    reader.start()
    try:
        wait_until(lambda: len(published) >= 5)
        wait_until(lambda: sum(m.endswith("connected") for m in messages) >= 1)
    finally:
        reader.stop()
        reader.join(DEADLINE_S)
    assert not reader.is_alive()
    image, name = published[0]
    assert name == "camera 5" and not image.flags.writeable
    np.testing.assert_array_equal(image, bgr[:, ::-1, ::-1])  # RGB and mirrored left-right
    assert log[:2] == ["open 5", "open 5"] and log.count("release") >= 2
    assert "not found" in messages[0] and any("unplugged" in m for m in messages)


# --- drag and drop --------------------------------------------------------------------------------
def test_drop_folder_then_files_then_nothing_usable(make_manager, folder, tmp_path):
    manager = make_manager(camera=99)
    manager.open_paths([str(folder)])
    assert manager.mode == "files"
    frame = next_frame(manager, None)
    assert frame.name == "a.png" and manager.position() == (0, 4)
    manager.open_paths([str(folder / "c.png"), str(folder / "a.png")])
    frame = next_frame(manager, frame)
    assert frame.name == "c.png" and manager.position() == (0, 2)
    manager.next_file()
    frame = next_frame(manager, frame)
    assert frame.name == "a.png"
    manager.open_paths([str(tmp_path / "missing.png"), str(folder / "notes.txt")])
    messages = manager.pop_messages()
    assert any("missing.png" in m for m in messages) and any("notes.txt" in m for m in messages)
    assert manager.position() == (1, 2)


def test_close_is_idempotent_and_stops_everything(settings):
    before = set(threading.enumerate())
    with InputManager(settings, camera=99) as manager:
        assert len(set(threading.enumerate()) - before) == 2  # files thread and camera thread
    manager.close()
    assert {t for t in set(threading.enumerate()) - before if t.is_alive()} == set()
    manager.toggle_camera()  # after close: no new thread
    assert {t for t in set(threading.enumerate()) - before if t.is_alive()} == set()


class WarmingUpDevice(FakeDevice):
    """A camera whose first frame takes until `ready` is set, as a real one warming up."""

    def __init__(self, frame: np.ndarray, ready: threading.Event):
        super().__init__(10**6, frame, [])
        self.ready = ready

    def read(self):
        self.ready.wait(DEADLINE_S)
        time.sleep(0.002)
        return super().read()


def test_a_camera_is_connecting_until_its_first_frame_or_its_failure():
    ready, published, messages = threading.Event(), [], []
    frame = np.zeros((6, 8, 3), np.uint8)
    reader = CameraReader(3, lambda img, name: published.append(name), messages.append, sleep_s=0.001,
                          retry_s=0.01, open_capture=lambda device: WarmingUpDevice(frame, ready))
    missing = CameraReader(4, lambda img, name: None, messages.append, retry_s=0.01,
                           open_capture=lambda device: None)
    reader.start()
    missing.start()
    try:
        time.sleep(0.2)
        assert reader.connecting and not published  # still waiting for the first frame
        ready.set()
        wait_until(lambda: published and not reader.connecting)
        wait_until(lambda: any("camera 4" in m and "not found" in m for m in messages))
        assert not missing.connecting  # it reported; nothing is on its way
    finally:
        for r in (reader, missing):
            r.stop()
            r.join(DEADLINE_S)


def test_awaiting_frame_ends_with_the_frame_or_with_the_failure(make_manager, folder):
    manager = make_manager(str(folder / "a.png"))
    next_frame(manager, None)
    wait_until(lambda: not manager.awaiting_frame())
    manager = make_manager(camera=99)
    wait_for_message(manager, "camera 99")
    assert not manager.awaiting_frame() and manager.latest() is None


CAMERA_RETRIES = """
import logging, sys, time
logging.basicConfig(level=logging.WARNING, format="LOG %(name)s %(levelname)s %(message)s")
logging.getLogger("deepvis.io.camera").setLevel(logging.DEBUG)
from deepvis_app.io.camera import CameraReader
messages = []
reader = CameraReader(99, lambda img, name: None, messages.append, retry_s=0.02)
reader.start()
time.sleep(0.6)
reader.stop()
reader.join(5)
print(len(messages), messages)
"""


def test_camera_retries_print_no_opencv_warnings_and_go_to_our_log():
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", CAMERA_RETRIES], cwd=root, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1 "), done.stdout  # the user is told once
    lines = done.stderr.splitlines()
    assert not [line for line in lines if "WARN" in line or "ERROR" in line], done.stderr
    retries = [line for line in lines if line.startswith("LOG deepvis.io.camera") and "camera 99" in line]
    assert len(retries) >= 5, done.stderr  # every retry is in our log
