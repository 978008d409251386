"""Fixtures shared by the core tests that run a `Session`."""

from __future__ import annotations

import pytest

from deepvis_app.core.model import load_model
from deepvis_app.settings.loader import load_settings
from tests.helpers.models import session_classifier


@pytest.fixture(scope="module")
def tiny_loaded():
    """The session tests' tiny classifier, loaded as the app loads a model (no per-unit images on demand)."""
    settings = load_settings().settings.replace(
        builder=session_classifier, model="tiny", model_dir=None, weights=None, labels=None, input_size=(32, 32),
        layers=None, pretty_names=None, output_layer=None, unit_images_on_demand=False)
    return load_model(settings)
