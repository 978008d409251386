"""Fixtures shared by the core tests that run a `Session` (on the root conftest's `tiny_loaded`)."""

from __future__ import annotations

import threading

import pytest

from deepvis_app.core.app.session import Session
from deepvis_app.io.sources import InputManager


@pytest.fixture
def tiny_session(tiny_loaded):
    """A factory of started Sessions on the tiny model (or ``loaded``) over ``spec`` (sync unless
    ``sync=False``), with settings changes (``unit_vis_dir=...``); each is stopped at the end and must leave
    no thread behind."""
    before = set(threading.enumerate())
    made: list[Session] = []

    def make(sync: bool = True, spec: str = "sample:chelsea", loaded=None, start: bool = True, **changes) -> Session:
        loaded = loaded or tiny_loaded
        settings = loaded.settings.replace(**changes) if changes else loaded.settings
        session = Session(loaded, settings, InputManager(settings, spec), sync=sync)
        made.append(session)
        if start:
            session.start()
        return session

    yield make
    for session in made:
        session.stop()
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leftover, f"threads left running: {leftover}"
