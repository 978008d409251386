"""Session "result ready" callbacks -> one queued Qt signal on the UI thread.

The session calls `notify` from its render thread, possibly many times per repaint. At most one
event is pending in the Qt queue at any time: the UI fetches the *latest* result when it gets
there, so a slow paint never builds a backlog. Results older than the one shown are dropped.
A notification made in the UI thread itself (a session computing inline) is delivered at once.
The cross-thread connection goes to a `@Slot` method (PySide6 crashes with lambdas there).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot


class ShownResult(Protocol):
    """What the bridge reads of a result."""

    @property
    def generation(self) -> int: ...


class ResultSource(Protocol):
    """What the bridge needs of the session."""

    def set_on_result(self, callback: Callable[[], None]) -> None: ...

    def latest_result(self) -> ShownResult | None: ...


class ResultBridge(QObject):
    """Delivers each new result of a session to the UI thread as `delivered(result)`."""

    _ready = Signal()
    delivered = Signal(object)

    def __init__(self, session: ResultSource, parent: QObject | None = None):
        super().__init__(parent)
        self._session = session
        self._lock = threading.Lock()
        self._pending = False
        self._shown_generation = -1
        self._shown: ShownResult | None = None
        self._ready.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        session.set_on_result(self.notify)

    def notify(self) -> None:
        """Called from any thread when the session has a new result; coalesces to one event."""
        if QThread.currentThread() == self.thread():
            self._deliver()
            return
        with self._lock:
            if self._pending:
                return
            self._pending = True
        self._ready.emit()

    def detach(self) -> None:
        """Stop listening (the window is closing); late notifications are ignored."""
        self._session.set_on_result(_ignore)

    @Slot()
    def _deliver(self) -> None:
        with self._lock:
            self._pending = False
        result = self._session.latest_result()
        if result is None or result is self._shown or result.generation < self._shown_generation:
            return
        self._shown = result
        self._shown_generation = result.generation
        self.delivered.emit(result)


def _ignore() -> None:
    """Result callback installed after the window closed."""
