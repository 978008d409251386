"""What the window tests read back from the screen, the tiny model they run on, and the check that
no thread outlives a window. Qt objects come in as arguments: this module imports no PySide6."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from tests.helpers.models import WINDOW_CLASSES

WINDOW_MODEL = "tests.helpers.models:window_classifier"


def window_settings(tmp_dir: Path, *overrides: str):
    """Settings for `WINDOW_MODEL` at 64x64 on the CPU, labels written under `tmp_dir`."""
    from deepvis_app.settings.loader import load_settings

    labels = tmp_dir / "labels.txt"
    labels.write_text("\n".join(WINDOW_CLASSES) + "\n", encoding="utf-8")
    base = ["input_size=(64, 64)", f"labels={str(labels)!r}", "window_size=(1000, 620)", "device='cpu'"]
    return load_settings(model=WINDOW_MODEL, overrides=[*base, *overrides],
                         local_file=Path("/nonexistent/settings_local.py")).settings


def assert_no_new_threads(before: set, grace_s: float = 3.0) -> None:
    """Every thread not in `before` ends within `grace_s`."""
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
    """A QImage's pixels as HxWx3 uint8 (a copy)."""
    image = image.convertToFormat(type(image).Format.Format_RGB888)
    width, height = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return buffer.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3).copy()
