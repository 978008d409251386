"""clear_negative_activations (the arikpoz fork's caffevis_clear_negative_activations): the per-unit
montages' tiles whose find-max value is below epsilon turn black, the others stay as written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deepvis_app.core.unitvis.store.inactive_images import clear_inactive
from deepvis_app.core.unitvis.store.montage import unit_montage
from deepvis_app.core.unitvis.store.unit_layout import UnitImages, UnitVisLayout
from deepvis_app.io.images import write_bytes_atomic

TILE = 10


def _record(layout: UnitVisLayout, values: list[float], top: int) -> None:
    units = [[{"path": f"img_{i}.png", "value": v} for i, v in enumerate(values)], []]
    write_bytes_atomic(layout.find_max_json("conv"), json.dumps({"layer": "conv", "top": top, "units": units}).encode())


def _tiles(count: int) -> list[np.ndarray]:
    return [np.full((TILE, TILE, 3), 40 + 20 * i, dtype=np.uint8) for i in range(count)]


def _tile(montage: np.ndarray, index: int, side: int) -> np.ndarray:
    row, col = divmod(index, side)
    top, left = 1 + row * (TILE + 1), 1 + col * (TILE + 1)
    return montage[top:top + TILE, left:left + TILE]


@pytest.mark.parametrize("values, top, slots", [
    ([5.0, 2.0, 1e-20, 0.0, -3.0], 9, 9),        # a full record: 3x3 grid, 5 entries
    ([5.0, -1.0, 2.0, 0.0, 1.0, 1.0, 1.0], 9, 4),  # crops --N 4: 2x2 grid of the 4 best
])
def test_tiles_below_epsilon_turn_black(tmp_path, values, top, slots):
    layout = UnitVisLayout(tmp_path)
    _record(layout, values, top)
    count = min(len(values), slots)
    max_im, deconv = unit_montage(_tiles(count), slots, TILE), unit_montage(_tiles(count)[::-1], slots, TILE)
    images = UnitImages(None, max_im, deconv)
    cleared = clear_inactive(layout, images, "conv", 0)
    side = int(np.ceil(np.sqrt(slots)))
    for before, after in ((max_im, cleared.max_im), (deconv, cleared.max_deconv)):
        for index in range(count):
            got, was = _tile(after, index, side), _tile(before, index, side)
            if values[index] < np.finfo(float).eps:
                assert not got.any(), index
            else:
                assert np.array_equal(got, was) and was.any(), index
        mask = np.ones(before.shape[:2], dtype=bool)
        for index in range(count):
            row, col = divmod(index, side)
            mask[1 + row * (TILE + 1):1 + row * (TILE + 1) + TILE, 1 + col * (TILE + 1):1 + col * (TILE + 1) + TILE] = 0
        assert np.array_equal(after[mask], before[mask]), "padding and empty slots unchanged"


def test_units_without_a_record_or_inactive_tiles_are_untouched(tmp_path):
    layout = UnitVisLayout(tmp_path)
    montage = unit_montage(_tiles(4), 4, TILE)
    images = UnitImages(None, montage, None)
    assert clear_inactive(layout, images, "conv", 0) is images, "no find-max record (the original's folders)"
    _record(layout, [3.0, 2.0, 1.0, 0.5], 4)
    assert clear_inactive(layout, images, "conv", 0) is images
    _record(layout, [3.0, -2.0, 1.0, 0.5], 4)
    odd = UnitImages(None, montage[:-3], None)   # a montage deepvis did not make: no grid fits
    assert clear_inactive(layout, odd, "conv", 0).max_im is odd.max_im


def test_the_forks_setting_name_maps_to_ours(tmp_path):
    from deepvis_app.settings.loader import load_settings

    local = tmp_path / "settings_local.py"
    local.write_text("caffevis_clear_negative_activations = True\n")
    loaded = load_settings(local_file=local)
    assert loaded.settings.clear_negative_activations is True and loaded.notes == ()


@pytest.mark.parametrize("setting", [True, False])
def test_the_unit_image_loader_applies_the_setting(tmp_path, setting):
    """The per-unit pane's loader blacks the inactive tiles only when clear_negative_activations is on."""
    from deepvis_app.core.app.unit_image_loader import UnitImageLoader
    from deepvis_app.core.base.cache import ByteLRUCache

    layout = UnitVisLayout(tmp_path)
    _record(layout, [4.0, -1.0, 2.0, 1.0], 4)
    montage = unit_montage(_tiles(4), 4, TILE)
    layout.write_unit_image("max_im", "conv", 0, montage)
    loader = UnitImageLoader(layout, ByteLRUCache(1 << 24), synchronous=True, clear_inactive=setting)
    shown = loader.request("conv", 0).max_im
    written = layout.read_unit_images("conv", 0).max_im
    assert _tile(shown, 1, 2).any() != setting
    assert np.array_equal(_tile(shown, 0, 2), _tile(written, 0, 2)) and _tile(shown, 0, 2).any()
