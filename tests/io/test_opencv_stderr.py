"""OpenCV's and FFmpeg's own stderr lines (past cv2's log level) end in our log, not the terminal."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from deepvis_app.io.opencv import import_cv2, stderr_into_log


def test_c_level_stderr_goes_to_the_debug_log(capfd, caplog):
    with caplog.at_level(logging.DEBUG, logger="deepvis.io"), stderr_into_log("opening x.avi"):
        os.write(2, b"Unexpected element. Expected: LIST.\n")
    assert capfd.readouterr().err == ""
    assert any("x.avi" in r.getMessage() and "Expected: LIST" in r.getMessage() for r in caplog.records)
    os.write(2, b"after\n")       # file descriptor 2 is back
    assert capfd.readouterr().err == "after\n"


def _truncated_avi(folder: Path) -> Path:
    cv2 = import_cv2()
    whole = folder / "clip.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    for i in range(20):
        writer.write(np.full((64, 64, 3), i * 10, np.uint8))
    writer.release()
    cut = folder / "cut.avi"
    cut.write_bytes(whole.read_bytes()[:3000])
    return cut


def test_a_truncated_video_prints_nothing_but_our_message(tmp_path):
    """OpenCV's AVI parser writes "Unexpected element..." with fprintf: checked in a real process."""
    cut = _truncated_avi(tmp_path)
    code = ("import sys; from deepvis_app.io.static_player import _Video\n"
            "try:\n    _Video.open(sys.argv[1])\nexcept Exception as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code, str(cut)], capture_output=True, text=True, timeout=120)
    assert "cut.avi" in done.stdout
    assert done.stderr == ""
