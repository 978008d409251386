"""GUI tests run offscreen (Qt must see QT_QPA_PLATFORM before it is imported).

`make_window` builds the real window on the real Session (sync mode unless asked otherwise) over
a tiny random-weight network, and fails the test if any thread outlives the windows it made.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

TINY_MODEL = "tests.gui.tiny_net:build"
CLASSES = [f"class_{i}" for i in range(10)]


def tiny_settings(tmp_dir: Path, *overrides: str):
    from deepvis_app.settings.loader import load_settings

    labels = tmp_dir / "labels.txt"
    labels.write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    base = ["input_size=(64, 64)", f"labels={str(labels)!r}", "window_size=(1000, 620)", "device='cpu'"]
    return load_settings(model=TINY_MODEL, overrides=[*base, *overrides],
                         local_file=Path("/nonexistent/settings_local.py")).settings


@pytest.fixture(scope="session")
def tiny_loaded(tmp_path_factory):
    from deepvis_app.core.model import load_model

    return load_model(tiny_settings(tmp_path_factory.mktemp("tiny")))


@pytest.fixture
def make_window(qtbot, tiny_loaded):
    """make_window(spec=..., camera=None, sync=True, settings=None, notice=None) -> MainWindow."""
    from deepvis_app.core.session import Session
    from deepvis_app.gui.main_window import MainWindow
    from deepvis_app.gui.theme import apply_dark_theme
    from deepvis_app.io.sources import InputManager

    before = set(threading.enumerate())
    made = []

    def make(spec="sample:chelsea", camera=None, sync=True, settings=None, notice=None, inputs=None):
        settings = settings or tiny_loaded.settings
        apply_dark_theme(qtbot_app(), settings)
        inputs = inputs or InputManager(settings, spec, camera)
        session = Session(tiny_loaded, settings, inputs, sync=sync)
        window = MainWindow(session, settings, notice=notice)
        made.append((window, inputs))
        qtbot.addWidget(window)
        session.start()
        window.show()
        qtbot.waitExposed(window)
        if not sync:
            qtbot.waitUntil(lambda: window.last_result is not None, timeout=20000)
        return window

    yield make
    for window, inputs in made:
        window.close()
        inputs.close()
    assert_no_new_threads(before)


def qtbot_app():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance()


def assert_no_new_threads(before: set, grace_s: float = 3.0) -> None:
    deadline = time.monotonic() + grace_s
    while True:
        extra = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not extra or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not extra, f"threads outlived the window: {[t.name for t in extra]}"


def pane_pixels(pane) -> np.ndarray:
    """What the pane shows on screen now (its drawn image area), as HxWx3 uint8."""
    rect = pane.image_rect().toAlignedRect() if pane.image is not None else pane.rect()
    return qimage_to_array(pane.grab(rect).toImage())


def window_pixels(window) -> np.ndarray:
    return qimage_to_array(window.grab().toImage())


def qimage_to_array(image) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return buffer.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3).copy()
