"""The probes' context: the tiny classifier's settings, sessions and windows built on changed settings,
each stopped (and checked for leftover threads) at the end of the probe."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tests.helpers.gui import assert_no_new_threads  # noqa: E402
from tests.helpers.sessions import press  # noqa: E402


@dataclass
class ProbeContext:
    """What a probe needs: ``name`` (the setting probed), ``base`` (the tiny model's settings),
    ``tmp`` (a folder of its own), and builders of loaded models, sessions and windows."""

    name: str
    loaded: Any
    tmp: Path
    request: Any
    _cleanups: list = field(default_factory=list)

    @property
    def base(self):
        return self.loaded.settings

    def settings(self, **changes):
        return self.base.replace(**changes)

    def load(self, **changes):
        """The tiny model loaded as the app loads it, with settings changes."""
        from deepvis_app.core.nn.model import load_model

        return load_model(self.settings(**changes))

    def session(self, *keys: str, spec: str = "sample:chelsea", loaded=None, **changes):
        """A started sync Session on changed settings after ``keys``; returns (session, latest result)."""
        from deepvis_app.core.app.session import Session
        from deepvis_app.io.sources import InputManager

        loaded = loaded or self.loaded
        settings = loaded.settings.replace(**changes)
        inputs = InputManager(settings, spec)
        self._cleanups.append(inputs.close)
        session = Session(loaded, settings, inputs, sync=True)
        self._cleanups.append(session.stop)
        session.start()
        return session, press(session, *keys)

    def result(self, *keys: str, **changes):
        return self.session(*keys, **changes)[1]

    def window(self, *keys: str, spec: str = "sample:chelsea", loaded=None, **changes):
        """The real Qt window (offscreen) on changed settings after ``keys`` (sync session)."""
        from PySide6.QtWidgets import QApplication  # noqa: TID251 (the window probes)

        from deepvis_app.core.app.session import Session
        from deepvis_app.gui.main_window import MainWindow
        from deepvis_app.gui.theme import apply_dark_theme
        from deepvis_app.io.sources import InputManager

        qtbot = self.request.getfixturevalue("qtbot")
        loaded = loaded or self.loaded
        settings = loaded.settings.replace(**changes)
        apply_dark_theme(QApplication.instance(), settings)
        inputs = InputManager(settings, spec)
        session = Session(loaded, settings, inputs, sync=True)
        window = MainWindow(session, settings)
        qtbot.addWidget(window)
        self._cleanups.append(inputs.close)
        self._cleanups.append(window.close)
        session.start()
        window.show()
        qtbot.waitExposed(window)
        for key in keys:
            assert session.handle_key(key), key
        session.process_pending()
        qtbot.waitUntil(lambda: window.last_result is not None
                        and window.last_result.generation == session.generation, timeout=20000)
        QApplication.processEvents()
        return window


@pytest.fixture
def probe_context(request, tiny_loaded, tmp_path):
    before = set(threading.enumerate())
    ctx = ProbeContext(request.node.callspec.params["name"], tiny_loaded, tmp_path, request)
    yield ctx
    for cleanup in reversed(ctx._cleanups):
        cleanup()
    assert_no_new_threads(before)


def colour_pixels(image: np.ndarray, rgb01: tuple[float, float, float], tolerance: int = 2) -> int:
    """How many pixels of an HxWx3 uint8 image have the colour ``rgb01`` (RGB in [0, 1])."""
    target = np.rint(np.asarray(rgb01) * 255).astype(int)
    return int((np.abs(image[..., :3].astype(int) - target).max(axis=-1) <= tolerance).sum())
