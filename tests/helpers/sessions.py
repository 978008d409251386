"""Driving a Qt-free `Session` from tests: a key press and the result it leads to."""

from __future__ import annotations

from deepvis_app.core.app.session import Session


def press(session: Session, *keys: str):
    for key in keys:
        assert session.handle_key(key), key
    session.process_pending()
    return session.latest_result()
