"""Start the toolbox: Qt application, inputs, session, window; tear everything down on exit.

Called by `deepvis gui` (and run_toolbox.py). A bad `--input` does not stop the app: the window
opens on the sample images with the problem in the status bar, as for a missing camera (whose
thread reports and retries by itself). Ctrl+C in the terminal closes the window cleanly. A Qt
binding known to crash after minutes (see binding_check) stops it before the window opens.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from deepvis_app.core.app.session import Session
from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.gui.binding_check import BindingError, require_sound_binding
from deepvis_app.gui.main_window import TITLE, MainWindow
from deepvis_app.gui.screenshot import ScreenshotDriver
from deepvis_app.gui.theme import apply_dark_theme
from deepvis_app.io.playlist import sample_entries
from deepvis_app.io.sources import InputError, InputManager
from deepvis_app.settings.defaults import Settings

SIGINT_POLL_MS = 250


@dataclass(frozen=True)
class GuiOptions:
    """What the command line asked for."""

    input: str | None = None
    camera: int | None = None
    screenshot: str | None = None
    keys: list[str] = field(default_factory=list)
    after_ms: int = 0
    drag: tuple[float, float, float, float] | None = None   # screenshot mode: a drag on the input pane


def open_inputs(settings: Settings, spec: str | None, camera: int | None) -> tuple[InputManager, str | None]:
    """The InputManager for the spec, or the sample images plus a message saying why not."""
    try:
        return InputManager(settings, spec, camera), None
    except InputError as exc:
        return InputManager(settings, sample_entries()[0], camera), f"{exc} (showing the sample images)"


def application() -> QApplication:
    """The process's QApplication (created once)."""
    app = QApplication.instance()
    return app if app is not None else QApplication(["deepvis"])


def run_gui(loaded: LoadedModel, options: GuiOptions) -> tuple[int, str | None]:
    """Open the window and run until it closes; (exit code, error message or None)."""
    settings: Settings = loaded.settings
    app = application()
    try:  # before any thread starts: other threads touching None would blur the measurement
        require_sound_binding()
    except BindingError as exc:
        return 2, str(exc)
    apply_dark_theme(app, settings)
    inputs, notice = open_inputs(settings, options.input, options.camera)
    session = window = None
    try:
        session = Session(loaded, settings, inputs)
        window = MainWindow(session, settings, notice=notice, title=f"{TITLE} - {settings.model}")
        driver = _screenshot_driver(window, options) if options.screenshot else None
        session.start()
        window.show()
        previous = signal.signal(signal.SIGINT, lambda *_: window.close())
        ticker = QTimer(interval=SIGINT_POLL_MS)  # lets Python run its signal handlers during exec()
        ticker.start()
        code = app.exec()
        ticker.stop()
        signal.signal(signal.SIGINT, previous)
        if driver is not None:
            return (code if driver.exit_code is None else driver.exit_code), driver.error
        return code, None
    finally:
        if window is not None:
            window.close()
        if session is not None:
            session.stop()
        inputs.close()


def _screenshot_driver(window: MainWindow, options: GuiOptions) -> ScreenshotDriver:
    driver = ScreenshotDriver(window, options.screenshot, options.keys, options.after_ms, drag=options.drag)
    driver.finished.connect(window.finish)
    driver.start()
    return driver
