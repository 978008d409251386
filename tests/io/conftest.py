"""Fixtures for the input-source tests: settings with fast camera retries, and an InputManager
factory that closes every manager and fails on threads left running."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from deepvis_app.io.sources import InputManager
from deepvis_app.settings.defaults import Settings


@pytest.fixture
def input_settings() -> Settings:
    return dataclasses.replace(Settings(), camera_retry_s=0.05, camera_sleep_s=0.005)


@pytest.fixture
def make_manager(input_settings):
    """InputManager factory: closes every manager and fails on threads left running."""
    before = set(threading.enumerate())
    managers: list[InputManager] = []

    def make(spec=None, camera=None, **changes) -> InputManager:
        manager = InputManager(dataclasses.replace(input_settings, **changes), spec, camera)
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.close()
    leaked = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not leaked, f"threads left running after close(): {leaked}"
