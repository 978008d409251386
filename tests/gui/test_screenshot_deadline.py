"""The screenshot driver's time limit: it counts from the end of --after-ms (never cutting that wait
short), and a grid without pattern images is a final picture, not a pane waiting for data."""

from __future__ import annotations

import time

from deepvis_app.gui.screenshot import ScreenshotDriver


def _run(qtbot, window, path, keys, after_ms, timeout_s):
    driver = ScreenshotDriver(window, path, keys, after_ms, timeout_s=timeout_s)
    start = time.monotonic()
    driver.start()
    window.resultShown.emit(window.last_result.generation)   # the window (made before) shows its result
    qtbot.waitUntil(lambda: driver.exit_code is not None, timeout=60000)
    return driver, time.monotonic() - start


def test_the_deadline_starts_after_after_ms(make_window, qtbot, tmp_path):
    """--after-ms longer than the timeout: the grab is made (exit 0) after --after-ms, no time-out."""
    window = make_window()
    driver, elapsed = _run(qtbot, window, tmp_path / "shot.png", ["k", "l"], after_ms=1500, timeout_s=0.5)
    assert (driver.exit_code, driver.error) == (0, None)
    assert elapsed >= 1.5 and (tmp_path / "shot.png").stat().st_size > 0
    assert window.session.state.selected_unit == 1


def test_pattern_mode_without_pattern_images_settles(make_window, qtbot, tmp_path):
    """Pattern mode on a model with no optimized images: each unit shows its placeholder and the
    grab is made at once (it waited for the 180 s time-out before)."""
    window = make_window()
    driver, elapsed = _run(qtbot, window, tmp_path / "shot.png", ["k", "s"], after_ms=0, timeout_s=30)
    assert (driver.exit_code, driver.error) == (0, None)
    assert window.session.state.pattern_mode and "layers" not in window.last_result.stale
    assert elapsed < 30
