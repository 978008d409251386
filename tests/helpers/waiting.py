"""Polling with a deadline for tests of threads (input sources, cameras): wait for a condition, a
new frame or a message, and fail with a clear message at the deadline instead of hanging."""

from __future__ import annotations

import time

import pytest

DEADLINE_S = 10.0


def wait_until(predicate, timeout: float = DEADLINE_S, interval: float = 0.005):
    """Poll until `predicate()` is truthy; return its value or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


def next_frame(manager, after):
    """The manager's first frame newer than `after` (any frame when None)."""
    frame = manager.wait_for_frame(-1 if after is None else after.seq, DEADLINE_S)
    assert frame is not None, "no new frame before the deadline"
    return frame


def wait_for_message(manager, text: str, seen: list[str] | None = None) -> list[str]:
    """Messages popped from the manager (added to `seen`) until one contains `text`."""
    seen = [] if seen is None else seen

    def found():
        seen.extend(manager.pop_messages())
        return any(text in message for message in seen)

    wait_until(found)
    return seen
