"""The real compute thread behind the window; bad inputs and a missing camera never crash it."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import Qt

from deepvis_app.gui.app import open_inputs
from deepvis_app.io.images import write_image
from tests.helpers.gui import pane_pixels


def test_real_worker_thread_answers_keys(make_window, qtbot):
    window = make_window(sync=False)
    assert _compute_threads()
    qtbot.keyClick(window, Qt.Key.Key_K)
    qtbot.keyClick(window, Qt.Key.Key_L)
    qtbot.keyClick(window, Qt.Key.Key_B)
    qtbot.waitUntil(lambda: window.last_result.generation == window.session.generation
                    and not window.last_result.stale, timeout=20000)
    state = window.session.state
    assert (state.cursor_area, state.selected_unit, state.back_enabled) == ("bottom", 1, True)
    assert pane_pixels(window.panes["back"]).std() > 5.0
    window.close()
    assert not _compute_threads()


def test_closing_the_window_stops_the_session(make_window):
    before = set(threading.enumerate())
    window = make_window(sync=False)
    started = [t for t in threading.enumerate() if t not in before]
    assert started
    window.close()
    assert not any(t.is_alive() for t in started if t is not threading.current_thread())
    window.close()  # a second close is harmless


def _compute_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "deepvis-compute" and t.is_alive()]


def test_missing_camera_shows_a_message_and_keeps_running(make_window, qtbot):
    window = make_window(camera=99, sync=False)
    qtbot.waitUntil(lambda: "camera" in window.status.text().lower(), timeout=20000)
    qtbot.keyClick(window, Qt.Key.Key_C)  # back to the static files
    qtbot.waitUntil(lambda: pane_pixels(window.panes["input"]).std() > 10, timeout=20000)


def test_unreadable_image_file_is_a_status_message(make_window, qtbot, tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"this is not a jpeg")
    write_image(tmp_path / "good.png", np.full((40, 40, 3), 200, np.uint8))
    window = make_window(spec=str(tmp_path), sync=False)
    qtbot.waitUntil(lambda: "broken.jpg" in window.status.text(), timeout=10000)
    assert "not a readable image" in window.status.text()
    qtbot.keyClick(window, Qt.Key.Key_E)  # next file: the good one is computed and shown
    qtbot.waitUntil(lambda: window.session.inputs.latest() is not None
                    and window.session.inputs.latest().name == "good.png", timeout=10000)
    qtbot.waitUntil(lambda: window.last_result.generation == window.session.generation
                    and not window.last_result.stale, timeout=10000)
    assert window.last_result.error is None and pane_pixels(window.panes["input"]).mean() > 150


def test_folder_of_only_broken_files_keeps_the_window_up(make_window, qtbot, tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"this is not a jpeg")
    window = make_window(spec=str(tmp_path), sync=False)
    qtbot.waitUntil(lambda: "broken.jpg" in window.status.text(), timeout=10000)
    assert "not a readable image" in window.status.text()  # the file and why, in the status bar
    generation = window.session.generation
    qtbot.keyClick(window, Qt.Key.Key_K)  # into the grid: a new request
    assert window.session.generation > generation and window.session.state.cursor_area == "bottom"
    qtbot.waitUntil(lambda: window.last_result.generation == window.session.generation, timeout=10000)
    assert window.last_result.error is None  # the compute thread answered it, without an error


def test_missing_input_path_opens_the_samples_with_a_notice(make_window, tiny_loaded, tmp_path):
    missing = tmp_path / "nope.png"
    inputs, notice = open_inputs(tiny_loaded.settings, str(missing), None)
    window = make_window(inputs=inputs, notice=notice)
    assert "nope.png" in window.status.text()
    assert pane_pixels(window.panes["input"]).std() > 10


def test_the_status_bar_names_the_video_and_its_frame(make_window, qtbot, tmp_path):
    import cv2

    from deepvis_app.io.images import sample_image

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (96, 64))
    for index in range(30):
        writer.write(np.ascontiguousarray(np.roll(sample_image("coffee")[:64, :96, ::-1], index, axis=1)))
    writer.release()
    window = make_window(spec=str(path), sync=False)
    qtbot.waitUntil(lambda: "clip.avi #" in window.status.text(), timeout=20000)
    qtbot.keyClick(window, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: "frozen" in window.status.text(), timeout=20000)
