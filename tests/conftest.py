"""Shared fixtures: the default model loaded once per test session, tiny models, isolated settings."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """The tests measured over ~3 s on the shared 2-core machine (`tests/slow_tests.py`) are marked slow,
    as if decorated, so `-m "not slow"` leaves them out (before pytest deselects by marker)."""
    from tests.slow_tests import MEASURED_SLOW, MEASURED_SLOW_2

    slow = MEASURED_SLOW | MEASURED_SLOW_2
    for item in items:
        if item.nodeid in slow or item.nodeid.split("[")[0] in slow:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _isolated_local_settings(tmp_path_factory, monkeypatch):
    """Tests never read the developer's own settings/settings_local.py (an empty value: no local file),
    nor write logs under the real home ($XDG_STATE_HOME/deepvis)."""
    if "DEEPVIS_SETTINGS_LOCAL" not in os.environ:
        monkeypatch.setenv("DEEPVIS_SETTINGS_LOCAL", "")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.getbasetemp() / "xdg_state"))


@pytest.fixture(scope="session")
def default_model():
    """EfficientNet-Lite0 with its ImageNet weights (loaded once; do not mutate)."""
    from deepvis_app.core.nn.model import load_model
    from deepvis_app.settings.loader import load_settings

    return load_model(load_settings(local_file=_nonexistent()).settings)


@pytest.fixture(scope="module")
def tiny_loaded():
    """The session tests' tiny classifier, loaded as the app loads a model (no per-unit images on demand)."""
    from deepvis_app.core.nn.model import load_model
    from deepvis_app.settings.loader import load_settings
    from tests.helpers.models import session_classifier

    settings = load_settings().settings.replace(
        builder=session_classifier, model="tiny", model_dir=None, weights=None, labels=None, input_size=(32, 32),
        layers=None, pretty_names=None, output_layer=None, unit_images_on_demand=False)
    return load_model(settings)


def _nonexistent():
    from pathlib import Path

    return Path("/nonexistent/settings_local.py")
