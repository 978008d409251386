"""The unit-vis folder's one owner: where it is for a model's settings, the sprite grid, the optimize record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepvis_app.core.unitvis.store.unit_layout import (
    UnitVisFileError,
    UnitVisLayout,
    join_square_sprite,
    split_square_sprite,
    unit_vis_root,
)
from deepvis_app.errors import DeepvisError
from deepvis_app.settings.defaults import Settings


def test_unit_vis_root_follows_the_settings(tmp_path):
    assert unit_vis_root(Settings(unit_vis_dir=str(tmp_path / "uv"), model_dir=str(tmp_path))) == tmp_path / "uv"
    assert unit_vis_root(Settings(model_dir=str(tmp_path))) == tmp_path / "unit_vis"
    assert unit_vis_root(Settings()) is None


@pytest.mark.parametrize("count, side", [(1, 1), (9, 3), (10, 4), (40, 7)])
def test_sprite_is_the_originals_square_grid(count, side):
    tiles = [np.full((2, 3, 3), i, dtype=np.uint8) for i in range(count)]
    sprite = join_square_sprite(tiles)
    assert sprite.shape == (2 * side, 3 * side, 3)
    assert [int(t[0, 0, 0]) for t in split_square_sprite(sprite, count)] == list(range(count))


def test_objective_values_round_trip_and_foreign_file(tmp_path):
    layout = UnitVisLayout(tmp_path)
    assert layout.read_objective_values("conv") == {"layer": "conv", "units": {}}
    record = {"layer": "conv", "units": {"3": {"best": 1.5, "last": 1.0, "settings": "k"}}}
    path = layout.write_objective_values("conv", record)
    assert path == tmp_path / "regularized_opt" / "conv" / "objective_values.json"
    assert layout.read_objective_values("conv") == record
    assert [p.name for p in Path(path).parent.iterdir()] == ["objective_values.json"], "no temp file left"
    path.write_text('{"units": [1]}')
    with pytest.raises(UnitVisFileError, match="not an objective_values.json") as info:
        layout.read_objective_values("conv")
    assert isinstance(info.value, DeepvisError)


def test_a_diversity_set_is_shown_whole_in_the_per_unit_pane(tmp_path):
    """optimize --diversity writes copy 0 as the unit's image and copies 1.. as variants: the per-unit
    image becomes a square montage of the set, copy 0 first; without variants it is the image itself."""
    from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
    from deepvis_app.io.images import write_image

    layout = UnitVisLayout(tmp_path)
    rng = np.random.default_rng(0)
    copies = [rng.integers(0, 255, (12, 12, 3), dtype=np.uint8) for _ in range(3)]
    layout.write_unit_image("regularized_opt", "conv", 4, copies[0])
    np.testing.assert_array_equal(layout.read_unit_images("conv", 4).regularized_opt, copies[0])
    for index, image in enumerate(copies[1:], start=1):
        write_image(layout.unit_variant("conv", 4, index), image)
    shown = layout.read_unit_images("conv", 4).regularized_opt
    assert shown.shape == (2 * 12 + 3, 2 * 12 + 3, 3)          # 2x2 grid of 12 px tiles, 1 px padding
    for index, (row, col) in enumerate(((0, 0), (0, 1), (1, 0))):
        top, left = 1 + row * 13, 1 + col * 13
        np.testing.assert_array_equal(shown[top:top + 12, left:left + 12], copies[index])
