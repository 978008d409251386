"""Notices: the one channel for text meant for the app's status line.

Messages used to reach the status line through four channels (the inputs' queue, the unit-image
loader's queue, a global queue of method notices, the session's own message), read by the render
thread at drawing time, so a picture could carry a message about a newer frame. Now every producer
posts into one `Notices` per session: a method that ran but whose result is not what its name
promises (`notify`: a rule-based method on a network without the activations it has rules for
returns the plain gradient), a file that cannot be read, the optimize job's end, a key's feedback,
an error; and a standing line while something runs (`Notices.hold`: the optimize job's progress).
The compute thread takes `current` and `held` into the snapshot each picture is drawn from.

`notify` reaches the `Notices` that the calling thread is routed to (`routed_to`, set by the session
around its compute); with none (the command line) the text only waits in a small queue for
`pop_notices`. Either way it is a warning on its logger the first time (the command line prints it
on stderr; a video does not flood the log).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

MESSAGE_SHOWN_S = 8.0    # a status message goes away after this long (and the next picture)

_pending: deque[str] = deque(maxlen=4)   # unrouted: nobody may read them (the command line): keep only a few
_logged: set[str] = set()
_lock = threading.Lock()
_route = threading.local()


class Notices:
    """The status line's messages (thread-safe): `current` is the latest, shown for `MESSAGE_SHOWN_S`
    from the first snapshot that carries it. Counting from when it was posted let a message that came
    while the machine was busy expire before any picture showed it."""

    def __init__(self, first: str | None = None):
        self._lock = threading.Lock()
        self._text: str | None = first
        self._since: float | None = None
        self._held: str | None = None

    def post(self, text: str) -> None:
        with self._lock:
            self._text, self._since = text, None

    def post_all(self, texts: Iterable[str]) -> None:
        """Post each of ``texts`` in order (the last one is shown)."""
        for text in texts:
            self.post(text)

    def hold(self, text: str | None) -> None:
        """Show ``text`` until the next `hold` (None: nothing), beside the messages: a running job's progress."""
        with self._lock:
            self._held = text

    def held(self) -> str | None:
        with self._lock:
            return self._held

    def current(self) -> str | None:
        """The message to show now (its time starts with the first call that returns it), else None."""
        with self._lock:
            now = time.monotonic()
            if self._since is None:
                self._since = now
            return self._text if now - self._since < MESSAGE_SHOWN_S else None


@contextmanager
def routed_to(notices: Notices) -> Iterator[Notices]:
    """While inside, `notify` in this thread posts to ``notices`` (nested routes: the innermost)."""
    previous = getattr(_route, "notices", None)
    _route.notices = notices
    try:
        yield notices
    finally:
        _route.notices = previous


def notify(text: str, logger: logging.Logger) -> None:
    """Warn on ``logger`` (the first time this text comes) and post it to this thread's `Notices`
    (`routed_to`), else queue it for `pop_notices`."""
    routed: Notices | None = getattr(_route, "notices", None)
    with _lock:
        first = text not in _logged
        _logged.add(text)
        if routed is None:
            _pending.append(text)
    if routed is not None:
        routed.post(text)
    if first:
        logger.warning(text)


def pop_notices() -> list[str]:
    """The unrouted notices since the last call, oldest first, each once."""
    with _lock:
        texts = list(dict.fromkeys(_pending))
        _pending.clear()
    return texts
