"""Cameras with real threads: a missing device, a video file as a stream (mirroring, unplug and
reconnect), a frozen camera frame, and CameraReader on stand-in devices."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepvis_app.io.camera import CameraReader
from tests.helpers.waiting import DEADLINE_S, next_frame, wait_for_message, wait_until


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


@pytest.mark.skipif(Path("/dev/video0").exists(), reason="a real camera 0 is present")
def test_toggle_camera_without_camera_tries_camera_0(make_manager):
    """As the original (input_updater_capture_device = 0): `c` tries device 0; none here, so a
    message, and the files are still there."""
    manager = make_manager()
    frame = next_frame(manager, None)
    manager.toggle_camera()
    assert manager.mode == "camera" and manager.camera_device == 0
    seen = wait_for_message(manager, "trying camera 0")
    wait_for_message(manager, "camera 0: not found", seen)
    manager.toggle_camera()
    assert manager.mode == "files"
    assert next_frame(manager, frame).name == "sample:chelsea"


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
