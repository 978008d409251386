"""GUI tests run offscreen (Qt must see QT_QPA_PLATFORM before it is imported).

`make_window` builds the real window on the real Session (sync mode unless asked otherwise) over
a tiny random-weight network, and fails the test if any thread outlives the windows it made.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import threading  # noqa: E402

import pytest  # noqa: E402

from tests.helpers.gui import assert_no_new_threads, window_settings  # noqa: E402


@pytest.fixture(scope="session")
def tiny_loaded(tmp_path_factory):
    from deepvis_app.core.nn.model import load_model

    return load_model(window_settings(tmp_path_factory.mktemp("tiny")))


@pytest.fixture
def make_window(qtbot, tiny_loaded):
    """make_window(spec=..., camera=None, sync=True, settings=None, notice=None) -> MainWindow."""
    from deepvis_app.core.app.session import Session
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
