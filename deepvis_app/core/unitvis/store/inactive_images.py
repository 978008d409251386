"""The `clear_negative_activations` setting: black out top images the unit did not respond to.

The arikpoz fork's `caffevis_clear_negative_activations` ("should we black maximal input images with
zero or negative activation score", caffevis_helper.get_image_from_files): when the per-unit pane
loads a unit's top images and their deconv images, every image whose recorded find-max value is below
float epsilon is multiplied by 0. A unit that fires on few images of the dataset otherwise shows
its "top" images that in fact left it at zero, which look like real preferences.

Here the top images are one montage per kind (max_im/, max_deconv/, ...; `montage.unit_montage`, a
square grid, best first, 1 px padding), so the slots of the entries whose value (find_max/<layer>.json)
is below epsilon are filled with black. Montages that find-max did not rank (the original toolbox's
downloaded unit_jpg_vis) carry no values and are left as they are, as in the fork. The grid size is
that of the crops (`doc["top"]` slots, or fewer after `deepvis crops --N`), judged by the montage's
shape; a montage that fits none is left as it is.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from deepvis_app.core.unitvis.store.montage import montage_side, slot_box
from deepvis_app.core.unitvis.store.unit_layout import UnitImages, UnitVisLayout

EPSILON = sys.float_info.epsilon   # the fork's threshold: value < epsilon is "zero or negative"
PADDING = 1                        # unit_montage's padding


def clear_slots(montage: np.ndarray, values: Sequence[float], side: int, padding: int = PADDING) -> np.ndarray:
    """A copy of the montage with the tiles of values below EPSILON black (tile i: row-major, best first)."""
    out = montage.copy()
    for index, value in enumerate(values[:side * side]):
        if value < EPSILON:
            top, left, height, width = slot_box(montage.shape, index, side * side, padding)
            out[top:top + height, left:left + width] = 0
    return out


def clear_inactive(layout: UnitVisLayout, images: UnitImages, layer: str, unit: int) -> UnitImages:
    """`images` with the top-image and backward montages' inactive slots black (see the module docstring)."""
    found = layout.unit_scores(layer, unit)
    if found is None or all(value >= EPSILON for value in found[0]):
        return images
    values, top = found
    changed: dict[str, Any] = {}
    for kind in ("max_im", "max_deconv"):
        montage = getattr(images, kind)
        side = None if montage is None else montage_side(montage.shape, (top, len(values), *range(top, 0, -1)))
        if montage is not None and side is not None:
            changed[kind] = clear_slots(montage, values, side)
    return dataclasses.replace(images, **changed) if changed else images
