"""Crops, per-position backprop, montages and on-demand unit images on a tiny model with known windows."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deepvis_app.core.backprop import backprop_from_unit
from deepvis_app.core.display import norm01c, to_uint8
from deepvis_app.core.unitvis.crop_pipeline import CropRequest, make_crops
from deepvis_app.core.unitvis.crops import backprop_at_positions, cut
from deepvis_app.core.unitvis.find_max import FindMaxRequest, find_max
from deepvis_app.core.unitvis.layout import UnitVisLayout
from deepvis_app.core.unitvis.montage import unit_montage
from deepvis_app.core.unitvis.ondemand import compute_unit_images
from deepvis_app.io.images import read_image
from tests.core.test_find_max import SIZE, make_dataset, tiny_model


def test_cut_pads_outside_the_image():
    image = np.arange(5 * 6 * 1).reshape(5, 6, 1)
    crop = cut(image, (-2, 3, 2, 8), fill=-1)
    assert crop.shape == (4, 5, 1)
    assert (crop[:2] == -1).all() and (crop[:, 3:] == -1).all()
    assert (crop[2:, :3, 0] == image[:2, 3:6, 0]).all()


@pytest.mark.parametrize("method", ["deconv", "guided", "gradient"])
def test_per_row_positions_equal_backprop_from_unit(method):
    model = tiny_model().module
    torch.manual_seed(3)
    x = torch.randn(3, 3, *SIZE)
    units, positions = [0, 4, 2], [(0, 1), (1, 1), (1, 0)]
    batched = backprop_at_positions(model, x, "pool", units, positions, method)
    for row in range(3):
        single = backprop_from_unit(model, x[row:row + 1], "pool", units[row], method=method, seed="position",
                                    position=positions[row]).input_grad
        torch.testing.assert_close(batched[row:row + 1], single)


@pytest.fixture(scope="module")
def cropped(tmp_path_factory):
    dataset = make_dataset(tmp_path_factory.mktemp("images"), count=12)
    out = tmp_path_factory.mktemp("unit_vis")
    loaded = tiny_model()
    find_max(loaded, FindMaxRequest(dataset, ("pool", "fc"), out, top=4, batch_size=5))
    make_crops(loaded, CropRequest(out, ("pool", "fc"), methods=("deconv", "guided"), tile=20, save_crops=True))
    return loaded, dataset, out


def test_crops_are_the_receptive_field_windows(cropped):
    loaded, dataset, out = cropped
    layout = UnitVisLayout(out)
    units = json.loads(layout.find_max_json("pool").read_text())["units"]
    for unit in (0, 3):
        for rank, entry in enumerate(units[unit]):
            image = read_image(dataset / entry["path"])          # already 16x16: no resize
            i, j = entry["pos"]
            # conv 3x3 pad 1 then avg-pool 8: window 10 px, stride 8, starting at -1 (hand-computed)
            padded = np.zeros((SIZE[0] + 20, SIZE[1] + 20, 3), dtype=np.uint8)
            padded[10:10 + SIZE[0], 10:10 + SIZE[1]] = image
            expected = padded[10 - 1 + 8 * i:10 - 1 + 8 * i + 10, 10 - 1 + 8 * j:10 - 1 + 8 * j + 10]
            assert np.array_equal(read_image(layout.crop("maxim", layer="pool", unit=unit, rank=rank)), expected)


def test_deconv_crops_match_backprop_from_unit(cropped):
    loaded, dataset, out = cropped
    layout = UnitVisLayout(out)
    entry = json.loads(layout.find_max_json("pool").read_text())["units"][2][0]
    x = loaded.preprocessor.to_tensor(read_image(dataset / entry["path"]))
    i, j = entry["pos"]
    for method in ("deconv", "guided"):
        grad = backprop_from_unit(loaded.module, x, "pool", 2, method=method, seed="position",
                                  position=(i, j)).input_grad[0].numpy().transpose(1, 2, 0)
        padded = np.zeros((SIZE[0] + 20, SIZE[1] + 20, 3))
        padded[10:10 + SIZE[0], 10:10 + SIZE[1]] = grad
        window = padded[9 + 8 * i:19 + 8 * i, 9 + 8 * j:19 + 8 * j]
        saved = read_image(layout.crop(method, "pool", 2, 0))
        limit = np.percentile(np.abs(window), 99.5)
        expected = to_uint8(norm01c(np.clip(window, -limit, limit)))
        assert np.abs(saved.astype(int) - expected.astype(int)).max() <= 1


def test_montages_written_for_every_unit(cropped):
    loaded, _, out = cropped
    layout = UnitVisLayout(out)
    for layer, units in (("pool", 5), ("fc", 4)):
        for unit in range(units):
            images = layout.read_unit_images(layer, unit)
            assert images.max_im.shape == images.max_deconv.shape == (2 * 20 + 3, 2 * 20 + 3, 3)  # top-4: a 2x2 grid
            assert layout.unit_image("max_guided", layer, unit).is_file()
    # fc crops are whole images; the montage's first tile is the best image (JPEG: approximately)
    best = json.loads(layout.find_max_json("fc").read_text())["units"][1][0]["path"]
    crops = [read_image(layout.crop("maxim", "fc", 1, r)) for r in range(4)]
    assert np.array_equal(crops[0], read_image(cropped[1] / best))
    montage = layout.read_unit_images("fc", 1).max_im.astype(float)
    expected = unit_montage(crops, 4, 20).astype(float)
    for row, col in np.ndindex(2, 2):  # noise images do not survive JPEG pixel by pixel: compare tile means
        tile = (slice(1 + 21 * row, 21 + 21 * row), slice(1 + 21 * col, 21 + 21 * col))
        assert np.abs(montage[tile].mean((0, 1)) - expected[tile].mean((0, 1))).max() < 4


def test_ondemand_ranks_and_crops_like_the_pipeline(cropped):
    loaded, dataset, out = cropped
    images = [read_image(p) for p in sorted(dataset.rglob("img_*.png"))]
    result = compute_unit_images(loaded, "pool", 3, images, top=4, tile=20)
    layout = UnitVisLayout(out)
    crops = [read_image(layout.crop("maxim", "pool", 3, r)) for r in range(4)]
    assert np.array_equal(result.max_im, unit_montage(crops, 4, 20))
    assert compute_unit_images(loaded, "pool", 3, []) is None
    with pytest.raises(ValueError, match="out of range"):
        compute_unit_images(loaded, "pool", 9, images[:2])


def test_images_that_became_unreadable_are_listed_not_fatal(tmp_path):
    """Top images replaced after find-max (a header claiming 65536x65536, which raised a raw
    cv2.error before, and garbage): listed with their problem, every unit still gets its montage."""
    from tests.io.hostile_images import png_bytes

    dataset = make_dataset(tmp_path / "images", count=12)
    out = tmp_path / "unit_vis"
    loaded = tiny_model()
    find_max(loaded, FindMaxRequest(dataset, ("fc",), out, top=4, batch_size=5))
    best = [unit[0]["path"] for unit in json.loads(UnitVisLayout(out).find_max_json("fc").read_text())["units"]]
    (dataset / best[0]).write_bytes(png_bytes(65536, 65536, rows=0))
    if best[1] != best[0]:
        (dataset / best[1]).write_bytes(b"garbage")
    result = make_crops(loaded, CropRequest(out, ("fc",), tile=20))
    assert result.layers == {"fc": 4}
    assert str(dataset / best[0]) in result.missing_images
    assert "65536x65536" in result.problems[str(dataset / best[0])]
    assert all(UnitVisLayout(out).unit_image("max_im", "fc", unit).is_file() for unit in range(4))
