"""Bad or slow inputs in the real window (issue 8 §5): the status bar names the file and the reason,
playback moves on past an unreadable entry, and a screenshot waits for the input's first frame."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepvis_app.io.images import read_image, write_image
from tests.helpers.datasets import write_undecodable_video
from tests.helpers.gui import WINDOW_MODEL, pane_pixels
from tests.helpers.models import WINDOW_CLASSES

ROOT = Path(__file__).resolve().parents[2]

RED_BGR = (20, 20, 230)


def test_a_video_that_decodes_no_frame_is_named_and_playback_moves_on(make_window, qtbot, tmp_path):
    write_undecodable_video(tmp_path / "a_broken.avi")
    write_image(tmp_path / "b_good.png", np.full((40, 40, 3), 200, np.uint8))
    (tmp_path / "list.txt").write_text("a_broken.avi\nb_good.png\n")
    window = make_window(spec=str(tmp_path / "list.txt"), sync=False)
    qtbot.waitUntil(lambda: window.session.inputs.latest() is not None, timeout=10000)
    assert window.session.inputs.latest().name == "b_good.png"
    window.send_pane_sizes()  # a new request: its result carries the messages queued so far
    qtbot.waitUntil(lambda: "a_broken.avi" in window.status.text(), timeout=10000)
    assert "no frame could be decoded" in window.status.text()
    qtbot.waitUntil(lambda: pane_pixels(window.panes["input"]).mean() > 150, timeout=10000)


def test_the_only_input_unreadable_the_status_bar_says_which_file_and_why(make_window, qtbot, tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"this is not a jpeg")
    window = make_window(spec=str(tmp_path / "broken.jpg"), sync=False)
    qtbot.waitUntil(lambda: not window.session.inputs.awaiting_frame(), timeout=10000)
    window.send_pane_sizes()
    qtbot.waitUntil(lambda: "broken.jpg" in window.status.text(), timeout=10000)
    assert "not a" in window.status.text() or "cannot" in window.status.text(), window.status.text()
    assert "no readable image or video" not in window.status.text()


SLOW_CAMERA_SCREENSHOT = """
import sys, threading, time
import numpy as np
import pytest
from deepvis_app.io import camera

class WarmingUpCamera:  # opens at once; its first frame comes after {delay_s} s, as a real one warming up
    def __init__(self):
        self.start = time.monotonic()
    def isOpened(self):
        return True
    def read(self):
        time.sleep(max(0.02, self.start + {delay_s} - time.monotonic()))
        return True, np.tile(np.array({bgr}, np.uint8), (48, 64, 1))
    def release(self):
        pass

camera._open_cv_capture = lambda device: WarmingUpCamera()
from deepvis_app.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_screenshot_waits_for_a_slow_camera_first_frame(tmp_path):
    """The real command line in its own process (screenshot mode ends the Qt event loop for good)."""
    from deepvis_app.gui.screenshot import NO_FRAME_IDLE_S

    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(WINDOW_CLASSES), encoding="utf-8")
    out = tmp_path / "shot.png"
    script = SLOW_CAMERA_SCREENSHOT.format(delay_s=NO_FRAME_IDLE_S + 2.0, bgr=RED_BGR)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "DEEPVIS_SETTINGS_LOCAL": ""}
    command = [sys.executable, "-c", script, "gui", "--model", WINDOW_MODEL, "--set", "input_size=(64, 64)",
               "--set", f"labels={str(labels)!r}", "--set", "window_size=(900, 560)", "--device", "cpu",
               "--camera", "0", "--screenshot", str(out)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    shot = read_image(out).astype(int)
    red = (shot[..., 0] > 180) & (shot[..., 1] < 60) & (shot[..., 2] < 60)
    assert red.sum() > 1000, "the grab shows the placeholder, not the camera's first frame"
