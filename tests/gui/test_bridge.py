"""ResultBridge: many worker notifications -> at most one pending UI event; old generations dropped."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtWidgets import QApplication

from deepvis_app.gui.bridge import ResultBridge


@dataclass(frozen=True)
class _Result:
    generation: int


class _Source:
    """Only what the bridge calls; the thing under test is the bridge."""

    def __init__(self):
        self.result = None
        self.callback = None

    def set_on_result(self, callback):
        self.callback = callback

    def latest_result(self):
        return self.result


def test_notifications_from_a_thread_coalesce_into_one_delivery(qtbot):
    source = _Source()
    bridge = ResultBridge(source)
    shown = []
    bridge.delivered.connect(lambda r: shown.append(r.generation))

    def burst():
        for generation in range(1, 201):
            source.result = _Result(generation)
            source.callback()

    thread = threading.Thread(target=burst)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: bool(shown), timeout=2000)
    QApplication.processEvents()
    assert shown == [200]


def test_older_generation_is_dropped(qtbot):
    source = _Source()
    bridge = ResultBridge(source)
    shown = []
    bridge.delivered.connect(lambda r: shown.append(r.generation))
    source.result = _Result(5)
    bridge.notify()  # from the UI thread: delivered at once
    source.result = _Result(3)
    bridge.notify()  # from the UI thread: delivered at once
    source.result = _Result(6)
    bridge.notify()  # from the UI thread: delivered at once
    assert shown == [5, 6]


def test_detach_ignores_late_notifications(qtbot):
    source = _Source()
    bridge = ResultBridge(source)
    bridge.detach()
    source.callback()  # must not raise, must not queue
    assert not bridge._pending


def test_a_notification_from_the_ui_thread_is_delivered_at_once(qtbot):
    """A session computing inline (sync mode) notifies from the UI thread: no event-loop turn needed."""
    source = _Source()
    bridge = ResultBridge(source)
    shown = []
    bridge.delivered.connect(lambda r: shown.append(r.generation))
    source.result = _Result(4)
    source.callback()
    assert shown == [4]
