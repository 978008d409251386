"""A status message is shown for MESSAGE_SHOWN_S from the first result that carries it: one that came
while the machine was busy (the missing-camera report during a slow start) is still seen."""

from __future__ import annotations

import logging
import time

from deepvis_app.core.base import notices as notices_module
from deepvis_app.core.base.notices import Notices, notify, pop_notices, routed_to


def test_the_time_shown_counts_from_the_first_showing(monkeypatch):
    monkeypatch.setattr(notices_module, "MESSAGE_SHOWN_S", 0.2)
    messages = Notices(None)
    messages.post("camera 99: not found")
    time.sleep(0.3)                       # longer than it is shown, before any result took it
    assert messages.current() == "camera 99: not found"
    time.sleep(0.3)
    assert messages.current() is None
    messages.post("next")
    assert messages.current() == "next"


def test_a_notice_goes_to_the_notices_its_thread_is_routed_to_and_nowhere_else():
    """A session's compute routes `notify` to its own Notices: another session, or the command line's
    queue, does not get it (the app read one global queue, so any session could show another's notice)."""
    log = logging.getLogger("tests.notices")
    pop_notices()
    mine, other = Notices(), Notices()
    with routed_to(mine):
        notify("mine: plain gradient", log)
    assert mine.current() == "mine: plain gradient"
    assert other.current() is None and pop_notices() == []
    notify("unrouted: for the command line", log)          # no route: the queue the command line reads
    assert pop_notices() == ["unrouted: for the command line"] and mine.current() == "mine: plain gradient"


def test_a_held_line_stays_beside_the_messages_until_released():
    """The optimize job's progress is held (shown while it runs, never expiring); messages come and go."""
    notices = Notices("h for help")
    notices.hold("optimizing 0 unit 3: 5/200 steps, 1 s")
    notices.post("cancelling")
    assert (notices.held(), notices.current()) == ("optimizing 0 unit 3: 5/200 steps, 1 s", "cancelling")
    notices.hold(None)
    assert notices.held() is None and notices.current() == "cancelling"
