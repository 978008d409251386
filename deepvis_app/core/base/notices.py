"""Notices: a method that ran but whose result is not what its name promises says so, once.

A rule-based method on a network without the activations it has rules for returns the plain
gradient; attention rollout on a network without attention returns an empty map. Both look like
working methods, so the method calls `notify`: a warning on its logger (the command line prints it
on stderr; logged once per text, so a video does not flood the log) and a message the app takes
with `pop_notices` for its status line.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

_pending: deque[str] = deque(maxlen=4)   # nobody may read them (the command line): keep only a few
_logged: set[str] = set()
_lock = threading.Lock()


def notify(text: str, logger: logging.Logger) -> None:
    """Warn on ``logger`` (the first time this text comes) and queue it for the app's status line."""
    with _lock:
        first = text not in _logged
        _logged.add(text)
        _pending.append(text)
    if first:
        logger.warning(text)


def pop_notices() -> list[str]:
    """The notices since the last call (the app's status line), oldest first, each once."""
    with _lock:
        texts = list(dict.fromkeys(_pending))
        _pending.clear()
    return texts
