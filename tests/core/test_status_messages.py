"""A status message is shown for MESSAGE_SHOWN_S from the first result that carries it: one that came
while the machine was busy (the missing-camera report during a slow start) is still seen."""

from __future__ import annotations

import time

from deepvis_app.core.base import notices as notices_module
from deepvis_app.core.base.notices import Notices


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
