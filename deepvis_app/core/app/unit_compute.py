"""The unit-image loader's on-demand fallback: top-9 and deconv montages from the sample images.

When no per-unit images are on disk for the selected unit, the loader thread computes them from
the built-in sample images. The model belongs to the compute thread, so the work runs under the
model lock and never overlaps its hooks; once the session closes, computations not yet started
are skipped (closing the window does not wait for them).
"""

from __future__ import annotations

import threading

import numpy as np

from deepvis_app.core.app.unit_image_loader import ComputeUnitImages
from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.io.images import SAMPLE_NAMES, sample_image
from deepvis_app.settings.defaults import Settings


def unit_compute(loaded: LoadedModel, settings: Settings, model_lock: threading.Lock,
                 cancel: threading.Event | None = None) -> ComputeUnitImages | None:
    """``compute(layer, unit)`` for the loader, or None when switched off (or unavailable)."""
    if not settings.unit_images_on_demand:
        return None
    try:
        from deepvis_app.core.unitvis.findmax.crops import unit_backprop_method
        from deepvis_app.core.unitvis.findmax.ondemand import compute_unit_images
    except ImportError:
        return None
    images: list[np.ndarray] = []

    def compute(layer: str, unit: int):
        if cancel is not None and cancel.is_set():
            return None
        if not images:
            images.extend(sample_image(name) for name in SAMPLE_NAMES)
        with model_lock:
            if cancel is not None and cancel.is_set():
                return None
            return compute_unit_images(loaded, layer, unit, images, method=unit_backprop_method(loaded))
    return compute
