"""End to end under a real X server: real key events (xdotool, XTEST) reach the real window.

Starts Xvfb, runs `run_toolbox.py` on the xcb platform, types `k b` then `h` with xdotool, grabs
the screen with ImageMagick's `import` and checks what a user would see: the back pane goes from
flat to a gradient image, the help overlay dims the window, and `q` ends the process with 0.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from deepvis_app.core.app.window_layout import GAP
from deepvis_app.io.images import read_image

ROOT = Path(__file__).resolve().parents[2]
TITLE = "Deep Visualization Toolbox"
WIDTH, HEIGHT = 900, 560
TOOLS = ("Xvfb", "xdotool", "import")

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS),
    reason=f"needs {', '.join(TOOLS)} (apt-get install xvfb xdotool imagemagick libxcb-cursor0 ...)")]


@pytest.fixture
def x_display():
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)


def _x(display: str, *args: str, timeout: float = 20) -> str:
    done = subprocess.run(list(args), env={**os.environ, "DISPLAY": display}, capture_output=True, text=True,
                          timeout=timeout)
    return done.stdout.strip() if done.returncode == 0 else ""


def _screen(display: str, tmp_path: Path, name: str) -> np.ndarray:
    path = tmp_path / f"{name}.png"
    _x(display, "import", "-window", "root", str(path))
    return read_image(path)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if isinstance(value, np.ndarray) or value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def _back_pane(shot: np.ndarray, left: int, top: int) -> np.ndarray:
    """A central patch of the back pane (third square of the left column)."""
    side = min((HEIGHT - 30 - 2 * GAP) // 3, (WIDTH - 2 * GAP) // 5)
    y0 = top + 2 * (side + GAP)
    return shot[y0 + side // 4: y0 + 3 * side // 4, left + side // 4: left + 3 * side // 4]


def test_real_keys_change_the_real_window(x_display, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(f"class_{i}" for i in range(10)), encoding="utf-8")
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT),
           "DEEPVIS_SETTINGS_LOCAL": ""}
    app = subprocess.Popen([sys.executable, "run_toolbox.py", "--model", "tests.helpers.models:window_classifier",
                            "--set", "input_size=(64, 64)", "--set", f"labels={str(labels)!r}",
                            "--set", f"window_size=({WIDTH}, {HEIGHT})", "--device", "cpu"],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        window = _wait(lambda: _x(x_display, "xdotool", "search", "--name", TITLE).split("\n")[0], 60, "the window")
        geometry = dict(line.split("=") for line in _x(x_display, "xdotool", "getwindowgeometry", "--shell",
                                                        window).splitlines())
        left, top = int(geometry["X"]), int(geometry["Y"])
        _wait(lambda: _screen(x_display, tmp_path, "first")[top:top + 100, left:left + 100].std() > 10, 60,
              "the first frame")
        before = _back_pane(_screen(x_display, tmp_path, "before"), left, top)
        _x(x_display, "xdotool", "windowactivate", "--sync", window)
        _x(x_display, "xdotool", "windowfocus", "--sync", window)
        _x(x_display, "xdotool", "key", "--delay", "60", "k", "b")
        after = _wait(lambda: (lambda p: p if p.std() > 5 else None)(
            _back_pane(_screen(x_display, tmp_path, "after_b"), left, top)), 30, "the back pane after k b")
        assert before.std() < 1.0 < 5.0 < after.std()
        full_before = _screen(x_display, tmp_path, "before_h")[top:top + HEIGHT, left:left + WIDTH]
        _x(x_display, "xdotool", "key", "h")
        _wait(lambda: _screen(x_display, tmp_path, "help")[top:top + HEIGHT, left:left + WIDTH].mean()
              < full_before.mean() - 3, 30, "the help overlay")
        _x(x_display, "xdotool", "key", "q")
        assert app.wait(30) == 0
    finally:
        if app.poll() is None:
            app.kill()
        out, err = app.communicate(timeout=10)
    assert "Traceback" not in err, err
