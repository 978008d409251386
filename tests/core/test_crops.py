"""Crops, per-position backprop, montages and on-demand unit images on a tiny model with known windows."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deepvis_app.core.imaging.display import norm01c, to_uint8
from deepvis_app.core.methods.backprop import backprop_from_unit
from deepvis_app.core.unitvis.findmax.crop_pipeline import CropRequest, make_crops
from deepvis_app.core.unitvis.findmax.crops import (
    backprop_at_positions,
    cut,
    has_max_pool_switches,
    unit_backprop_kind,
    unit_backprop_method,
)
from deepvis_app.core.unitvis.findmax.ondemand import compute_unit_images
from deepvis_app.core.unitvis.findmax.scan import FindMaxRequest, find_max
from deepvis_app.core.unitvis.store.montage import unit_montage
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import read_image
from tests.helpers.datasets import make_dataset
from tests.helpers.hostile_images import png_bytes
from tests.helpers.models import FIND_MAX_SIZE, find_max_model


def test_cut_pads_outside_the_image():
    image = np.arange(5 * 6 * 1).reshape(5, 6, 1)
    crop = cut(image, (-2, 3, 2, 8), fill=-1)
    assert crop.shape == (4, 5, 1)
    assert (crop[:2] == -1).all() and (crop[:, 3:] == -1).all()
    assert (crop[2:, :3, 0] == image[:2, 3:6, 0]).all()


@pytest.mark.parametrize("method", ["deconv", "guided", "gradient"])
def test_per_row_positions_equal_backprop_from_unit(method):
    model = find_max_model().module
    torch.manual_seed(3)
    x = torch.randn(3, 3, *FIND_MAX_SIZE)
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
    loaded = find_max_model()
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
            padded = np.zeros((FIND_MAX_SIZE[0] + 20, FIND_MAX_SIZE[1] + 20, 3), dtype=np.uint8)
            padded[10:10 + FIND_MAX_SIZE[0], 10:10 + FIND_MAX_SIZE[1]] = image
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
        padded = np.zeros((FIND_MAX_SIZE[0] + 20, FIND_MAX_SIZE[1] + 20, 3))
        padded[10:10 + FIND_MAX_SIZE[0], 10:10 + FIND_MAX_SIZE[1]] = grad
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
    dataset = make_dataset(tmp_path / "images", count=12)
    out = tmp_path / "unit_vis"
    loaded = find_max_model()
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


class _FunctionalMaxPoolNet(torch.nn.Module):
    """Max-pools with F.max_pool2d (no module a module scan would find)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return torch.nn.functional.max_pool2d(torch.relu(self.conv(x)), 2)


def _loaded(module: torch.nn.Module, **settings):
    from deepvis_app.core.nn.model import LoadedModel, prepare_for_visualization
    from deepvis_app.core.nn.preprocess import Preprocessor
    from deepvis_app.settings.defaults import Settings

    s = Settings(input_size=FIND_MAX_SIZE, **settings)
    return LoadedModel(prepare_for_visualization(module), s, torch.device("cpu"), [], [], Preprocessor(s))


@pytest.mark.parametrize("module, has_switches", [
    (torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2)), True),
    (torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveMaxPool2d(1)), True),
    (_FunctionalMaxPoolNet(), True),
    (torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AvgPool2d(2)), False),
])
def test_auto_unit_backprop_is_deconv_only_with_max_pool_switches(module, has_switches):
    loaded = _loaded(module)
    assert has_max_pool_switches(loaded) is has_switches
    assert unit_backprop_method(loaded) == ("deconv" if has_switches else "guided")
    assert unit_backprop_kind(loaded) == ("max_deconv" if has_switches else "max_guided")
    assert unit_backprop_method(_loaded(module, unit_backprop="gradient")) == "gradient"
    assert unit_backprop_kind(loaded, "gradient") == "max_backprop"


def test_without_max_pool_every_deconv_is_the_same_picture_and_guided_is_not():
    """Why auto picks guided: with no switches the deconv signal ignores the input image."""
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.ReLU())
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)
    deconv = backprop_at_positions(module, x, "3", [1, 1], [(4, 4), (4, 4)], "deconv")
    guided = backprop_at_positions(module, x, "3", [1, 1], [(4, 4), (4, 4)], "guided")
    torch.testing.assert_close(deconv[0], deconv[1])
    assert (guided[0] - guided[1]).abs().max() > 1e-3


def test_layout_reads_the_backprop_montage_it_is_told(cropped):
    _, _, out = cropped
    for kind in ("max_deconv", "max_guided"):
        images = UnitVisLayout(out, kind).read_unit_images("pool", 2)
        expected = read_image(UnitVisLayout(out).unit_image(kind, "pool", 2))
        assert images.backprop_kind == kind and np.array_equal(images.max_deconv, expected)
    with pytest.raises(ValueError, match="unknown backprop montage"):
        UnitVisLayout(out, "max_nothing")


def test_ondemand_images_say_which_backprop_they_hold(cropped):
    loaded, dataset, _ = cropped
    images = [read_image(p) for p in sorted(dataset.rglob("img_*.png"))]
    result = compute_unit_images(loaded, "pool", 3, images, top=4, tile=20, method="guided")
    assert result.backprop_kind == "max_guided"
