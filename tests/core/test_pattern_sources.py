"""Pattern mode's per-unit image sources (`S`): optimized sprite, diversity set, top-1 dataset crop
(the arikpoz fork's weight and find-max sources: test_pattern_weights.py).

Each test writes a unit-vis folder through `UnitVisLayout`, drives a sync `Session` on the tiny model and
compares each grid tile with the image it should show, resized to the tile independently here
(the `tiny_session` fixture is tests/core/conftest.py's, the picture helpers tests/helpers/patterns.py's).
"""

from __future__ import annotations

import numpy as np
import pytest

from deepvis_app.core.app.state import PATTERN_SOURCE_NAMES, PATTERN_SOURCES
from deepvis_app.core.unitvis.store.montage import unit_montage
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout, montage_tile
from tests.helpers.patterns import LAYER, TRIM, UNITS, blocks, grid_tile, mismatch, palette
from tests.helpers.sessions import press


def _write_folder(root) -> dict[str, dict[int, np.ndarray]]:
    """Each source's images for some units (the others have none); returns {source: {unit: image}}."""
    layout = UnitVisLayout(root)
    optimized = {unit: blocks(palette(unit)) for unit in range(UNITS) if unit != 3}
    layout.write_sprite(LAYER, [optimized.get(unit, np.zeros((48, 48, 3), np.uint8)) for unit in range(UNITS)])
    diversity = {}
    for unit in (1, 4):
        copies = [np.full((40, 40, 3), color, np.uint8) for color in palette(100 + unit)]
        layout.write_unit_image("regularized_opt", LAYER, unit, copies[0])
        for copy, image in enumerate(copies[1:], start=1):
            layout.write_png(layout.unit_variant(LAYER, unit, copy), image)
        diversity[unit] = unit_montage(copies, 4, 40)       # the set as the unit pane shows it
    layout.write_unit_image("regularized_opt", LAYER, 6, np.full((40, 40, 3), 90, np.uint8))  # no variants
    max_input = {}
    for unit in (2, 5, 7):
        crops = [blocks(palette(200 + 10 * unit + rank), 64) for rank in range(9)]
        layout.write_unit_image("max_im", LAYER, unit, unit_montage(crops, 9, 64))
        max_input[unit] = crops[0]
    own_crop = blocks(palette(300), 64)[:, :48]       # `deepvis crops` wrote unit 5's crop: it wins
    layout.write_png(layout.crop("maxim", LAYER, 5, 0), own_crop)
    max_input[5] = own_crop
    return {"optimized": optimized, "diversity": diversity, "max_input": max_input}


def test_each_source_shows_its_image_in_each_tile_and_a_placeholder_where_none(tiny_session, tmp_path):
    expected = _write_folder(tmp_path)
    session = tiny_session(unit_vis_dir=str(tmp_path))
    result = press(session, "s")
    for source in expected:
        assert session.state.pattern_source == source and session.state.pattern_mode
        assert result.status.startswith(f"pattern: {PATTERN_SOURCE_NAMES[source]}  ")
        assert "layers" not in result.stale and len(result.tile_rects) == UNITS
        images = expected[source]
        for unit in range(UNITS):
            tile = grid_tile(result, unit)
            if unit in images:
                assert mismatch(tile, images[unit]) < 8, (source, unit)
                others = [img for other, img in images.items() if other != unit]
                assert all(mismatch(tile, img) > 25 for img in others), (source, unit)
            else:   # the labelled placeholder: neither blank nor any unit's image
                assert not (tile == tile[TRIM, TRIM]).all(), (source, unit)
                assert all(mismatch(tile, img) > 25 for img in images.values()), (source, unit)
        result = press(session, "S")
    assert session.state.pattern_source == PATTERN_SOURCES[len(expected)]   # the next: the weights histogram


def test_S_turns_pattern_mode_on_and_switching_back_shows_the_cached_source_again(tiny_session, tmp_path):
    expected = _write_folder(tmp_path)
    session = tiny_session(unit_vis_dir=str(tmp_path))
    result = press(session, "S")
    assert session.state.pattern_mode and session.state.pattern_source == "diversity"
    assert mismatch(grid_tile(result, 4), expected["diversity"][4]) < 8
    first = result.images["layers"].copy()
    result = press(session, *["S"] * (len(PATTERN_SOURCES) - 1))    # max input ... round to optimized
    assert mismatch(grid_tile(result, 4), expected["optimized"][4]) < 8
    result = press(session, "S")                     # diversity again: the same picture, not the last one
    assert np.array_equal(result.images["layers"], first)
    result = press(session, "s")
    assert result.status.startswith("fwd  ") and session.state.pattern_source == "diversity"
    result = press(session, "Esc")
    assert session.state.pattern_source == PATTERN_SOURCES[0]


def test_a_folder_without_diversity_sets_or_crops_shows_placeholders_only(tiny_session, tmp_path):
    UnitVisLayout(tmp_path).write_unit_image("regularized_opt", LAYER, 0, np.full((40, 40, 3), 90, np.uint8))
    session = tiny_session(unit_vis_dir=str(tmp_path))
    for _ in range(2):
        result = press(session, "S")
        tiles = [grid_tile(result, unit) for unit in range(UNITS)]
        assert "layers" not in result.stale and result.error is None
        assert all(np.array_equal(tile, tiles[0]) for tile in tiles[1:])     # the same placeholder
        assert not (tiles[0] == tiles[0][TRIM, TRIM]).all()                  # with its label


def test_montage_tile_reads_back_unit_montage_slots():
    crops = [np.full((10 + i, 12, 3), 20 * i, np.uint8) for i in range(7)]    # fewer than 9: blank slots
    montage = unit_montage(crops, 9, 16)
    for index in range(9):
        tile = montage_tile(montage, index)
        assert tile.shape == (16, 16, 3)
        expected = 20 * index if index < 7 else 32                          # MONTAGE_FILL
        assert (tile == expected).all(), index
    with pytest.raises(ValueError, match="no tile 9"):
        montage_tile(montage, 9)
