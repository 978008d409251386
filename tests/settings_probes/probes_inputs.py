"""Probes of the input settings: which files a folder offers, how a frame is fitted, the camera
(a video file opened as a camera stream: real cv2 reads), video pacing and the image size limit."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from deepvis_app.core.nn.preprocess import Preprocessor
from deepvis_app.io.images import write_image
from deepvis_app.io.sources import InputManager
from tests.helpers.waiting import DEADLINE_S, next_frame, wait_for_message
from tests.settings_probes.registry import probe


def _manager(ctx, spec=None, **changes) -> InputManager:
    manager = InputManager(ctx.settings(**changes), spec)
    ctx._cleanups.append(manager.close)
    return manager


def _folder(ctx) -> Path:
    folder = ctx.tmp / "images"
    folder.mkdir(exist_ok=True)
    write_image(folder / "a_red.png", np.full((16, 16, 3), (255, 0, 0), np.uint8))
    write_image(folder / "b_blue.jpg", np.full((16, 16, 3), (0, 0, 255), np.uint8))
    return folder


@probe("static_files_dir")
def static_files_dir_is_the_default_input(ctx):
    assert next_frame(_manager(ctx, static_files_dir=str(_folder(ctx))), None).name == "a_red.png"
    assert next_frame(_manager(ctx), None).name.startswith("sample:")


@probe("static_files_regexp")
def static_files_regexp_selects_files(ctx):
    folder = str(_folder(ctx))
    only_jpg = _manager(ctx, static_files_dir=folder, static_files_regexp=r".*\.jpg$")
    assert next_frame(only_jpg, None).name == "b_blue.jpg"
    assert next_frame(_manager(ctx, static_files_dir=folder), None).name == "a_red.png"


@probe("static_file_stretch_mode")
def stretch_keeps_the_whole_frame(ctx):
    wide = np.full((32, 64, 3), 255, np.uint8)
    wide[:, :12] = 0                               # a black left edge, outside the centre crop
    assert (Preprocessor(ctx.settings(static_file_stretch_mode=True)).fit_frame(wide)[:, 0] < 30).all()
    assert (Preprocessor(ctx.base).fit_frame(wide) > 200).all()
    path = ctx.tmp / "wide.png"
    write_image(path, np.repeat(np.repeat(wide, 4, axis=0), 4, axis=1))
    session, _ = ctx.session(spec=str(path), static_file_stretch_mode=True)
    assert session.state.stretch_mode and (session.engine.last_forward.fitted[:, 0] < 30).all()
    session, _ = ctx.session(spec=str(path))
    assert not session.state.stretch_mode and (session.engine.last_forward.fitted > 200).all()


def _video(path: Path, frames: int = 3, fps: float = 30.0) -> str:
    """Frames whose left half is black and right half white (to see the mirroring)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (32, 24))
    image = np.zeros((24, 32, 3), dtype=np.uint8)
    image[:, 16:] = 255
    for _ in range(frames):
        writer.write(image)
    writer.release()
    return str(path)


@probe("capture_device")
def capture_device_starts_on_the_camera(ctx):
    manager = _manager(ctx, capture_device=_video(ctx.tmp / "cam.avi", 30))
    assert manager.mode == "camera" and next_frame(manager, None).name.startswith("camera ")
    assert _manager(ctx).mode == "files"


@probe("camera_mirror")
def camera_frames_are_mirrored(ctx):
    stream = _video(ctx.tmp / "cam.avi", 30)
    mirrored = next_frame(_manager(ctx, capture_device=stream), None).image
    plain = next_frame(_manager(ctx, capture_device=stream, camera_mirror=False), None).image
    assert mirrored[:, :8].mean() > 200 and mirrored[:, -8:].mean() < 50
    assert plain[:, :8].mean() < 50 and plain[:, -8:].mean() > 200


def _no_frame_after(manager, frame, seconds: float) -> bool:
    return manager.wait_for_frame(frame.seq, seconds) is None


@probe("camera_sleep_s", slow=True)
def camera_sleep_spaces_the_reads(ctx):
    stream = _video(ctx.tmp / "cam.avi", 30)
    slow = _manager(ctx, capture_device=stream, camera_sleep_s=30.0)
    assert _no_frame_after(slow, next_frame(slow, None), 1.5)
    fast = _manager(ctx, capture_device=stream)
    assert not _no_frame_after(fast, next_frame(fast, None), DEADLINE_S)


@probe("camera_retry_s", slow=True)
def camera_retry_waits_before_reopening(ctx):
    """A 2-frame stream ends (as an unplugged camera): it is reopened after camera_retry_s."""
    stream = _video(ctx.tmp / "cam.avi", 2)
    slow = _manager(ctx, capture_device=stream, camera_retry_s=30.0, camera_sleep_s=0.0)
    wait_for_message(slow, "no frame")
    assert _no_frame_after(slow, slow.latest(), 3.0)          # the default (2 s) would have reopened it
    fast = _manager(ctx, capture_device=stream, camera_retry_s=0.05, camera_sleep_s=0.0)
    wait_for_message(fast, "no frame")
    assert not _no_frame_after(fast, fast.latest(), DEADLINE_S)


def _frames_in(manager, seconds: float) -> int:
    frames: list = []
    manager.add_frame_listener(lambda frame: frames.append(frame) or manager.latest())   # each taken at once
    manager.latest()             # one published before the listener was attached is taken too
    time.sleep(seconds)          # counting frames over a fixed span (not racing a condition)
    return len(frames)


@probe("video_paced", slow=True)
def unpaced_video_plays_as_fast_as_it_decodes(ctx):
    """A 3-frame video at 1 fps (it loops): paced, at most 2 frames in 1.5 s; unpaced, many."""
    video = _video(ctx.tmp / "slow.avi", 3, fps=1.0)
    paced = _manager(ctx, spec=video)
    next_frame(paced, None)
    assert _frames_in(paced, 1.5) <= 2
    fast = _manager(ctx, spec=video, video_paced=False)
    next_frame(fast, None)
    assert _frames_in(fast, 1.5) >= 10


@probe("max_image_pixels")
def large_images_are_refused(ctx):
    folder = str(_folder(ctx))
    limited = _manager(ctx, static_files_dir=folder, max_image_pixels=100)
    wait_for_message(limited, "a_red.png")
    assert limited.latest() is None
    assert next_frame(_manager(ctx, static_files_dir=folder), None).name == "a_red.png"


@probe("static_files_ignore_case")
def case_sensitive_matching_when_asked(ctx):
    """The regexp names lower-case extensions: "UPPER.PNG" matches only while case is ignored."""
    folder = ctx.tmp / "mixed"
    folder.mkdir()
    write_image(folder / "UPPER.PNG", np.zeros((8, 8, 3), np.uint8))
    write_image(folder / "lower.png", np.zeros((8, 8, 3), np.uint8))
    assert next_frame(_manager(ctx, static_files_dir=str(folder)), None).name == "UPPER.PNG"
    exact = _manager(ctx, static_files_dir=str(folder), static_files_ignore_case=False)
    assert next_frame(exact, None).name == "lower.png"
    exact.next_file()
    assert next_frame(exact, exact.latest()).name == "lower.png"      # the only entry
