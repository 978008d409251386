"""Pattern mode's arikpoz sources (`S`): weights histogram, max-activation histogram, weights and
activations correlation, and the order `S` cycles all sources in.

The weight pictures are checked against `value_histogram` / `matrix_picture` of the weights read here
straight off the model; the find-max pictures are written through `UnitVisLayout` in tmp_path.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from torch import nn

from deepvis_app.core.app.render import placeholder
from deepvis_app.core.app.state import PATTERN_SOURCES
from deepvis_app.core.app.unit_image_loader import UnitImageLoader, tile_bound
from deepvis_app.core.app.unit_weights import weight_module_name
from deepvis_app.core.base.cache import ByteLRUCache
from deepvis_app.core.imaging import tiles
from deepvis_app.core.imaging.display import value_histogram
from deepvis_app.core.unitvis.findmax.summary import matrix_picture
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from tests.helpers.models import session_classifier
from tests.helpers.patterns import TRIM, UNITS, blocks, grid_tile, mismatch, palette
from tests.helpers.sessions import press

CYCLE = ["optimized", "diversity", "max input", "weights histogram", "max-activation histogram",
         "weights correlation", "activations correlation"]


def _weights(loaded, index: int = 0) -> np.ndarray:
    """The tiny model's conv `index` weights, one row per unit (read here, not through unit_weights)."""
    return loaded.module[index].weight.detach().cpu().numpy().reshape(UNITS if index == 0 else 16, -1)


def _press_to(session, source: str):
    """From pattern mode off: `S` until `source` shows."""
    result = None
    for _ in range(len(PATTERN_SOURCES)):
        result = press(session, "S")
        if session.state.pattern_source == source:
            return result
    raise AssertionError(f"S never reached {source}")


def test_S_cycles_every_source_in_the_forks_order_and_names_it_in_the_status_line(tiny_session, tmp_path):
    session = tiny_session(unit_vis_dir=str(tmp_path))
    result = press(session, "s")
    seen = []
    for _ in range(len(CYCLE) + 1):
        seen.append(result.status.split("  ")[0])
        result = press(session, "S")
    assert seen == [f"pattern: {name}" for name in CYCLE + CYCLE[:1]]


def test_the_weight_module_of_a_conv_its_relu_and_pool_a_block_and_a_layer_without_one():
    model = session_classifier()
    assert [weight_module_name(model, layer, n) for layer, n in
            (("0", 8), ("1", 8), ("2", 8), ("3", 16), ("4", 16), ("5", 16), ("7", 10))] == \
        ["0", "0", "0", "3", "3", "3", "7"]
    nested = nn.Sequential(OrderedDict(block=nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Conv2d(4, 6, 1)),
                                       norm=nn.BatchNorm2d(6), act=nn.ReLU()))
    assert weight_module_name(nested, "block", 6) == "block.2"        # the last one inside
    assert weight_module_name(nested, "norm", 6) == "block.2"         # a BatchNorm's scale is not weights
    assert weight_module_name(nested, "act", 6) == "block.2"
    assert weight_module_name(nested, "block.1", 4) == "block.0"
    assert weight_module_name(nested, "act", 5) is None               # no module makes 5 channels
    assert weight_module_name(nn.Sequential(nn.ReLU()), "0", 3) is None


@pytest.mark.parametrize("layer_keys", [(), ("o",)])     # conv "0", then the ReLU "1" after it
def test_weights_histogram_tiles_are_each_units_weights_histogram(tiny_session, tmp_path, tiny_loaded, layer_keys):
    session = tiny_session(unit_vis_dir=str(tmp_path))
    if layer_keys:
        press(session, *layer_keys)
        assert session.info.layers[session.state.layer_idx] == "1"
    result = _press_to(session, "weights_histogram")
    assert "layers" not in result.stale and len(result.tile_rects) == UNITS
    side = tile_bound(UNITS)
    expected = [value_histogram(row, (side, side)) for row in _weights(tiny_loaded)]
    for unit in range(UNITS):     # resampling moves the bars' edges a little: the other units' are far off
        tile = grid_tile(result, unit)
        assert mismatch(tile, expected[unit]) < 12, unit
        assert all(mismatch(tile, expected[other]) > 30 for other in range(UNITS) if other != unit), unit


def test_weights_correlation_fills_the_pane_and_selects_no_tile(tiny_session, tmp_path, tiny_loaded):
    session = tiny_session(unit_vis_dir=str(tmp_path))
    result = _press_to(session, "weights_correlation")
    assert result.status.startswith("pattern: weights correlation  ")
    assert result.tile_rects == () and "layers" not in result.stale and result.error is None
    pane = result.images["layers"]
    expected = matrix_picture(np.corrcoef(_weights(tiny_loaded)), "0: correlation of the units' weights")
    fitted = tiles.fit_to_pane(expected, (pane.shape[1], pane.shape[0]), session.settings.window_background)[0]
    assert np.array_equal(pane, fitted)
    unit = session.state.selected_unit
    session.click("layers", 5, 40)
    assert session.state.selected_unit == unit


def test_max_activation_histograms_come_from_disk_with_a_placeholder_where_missing(tiny_session, tmp_path):
    layout = UnitVisLayout(tmp_path)
    pictures = {unit: blocks(palette(400 + unit), 80) for unit in (0, 3, 6)}
    for unit, image in pictures.items():
        layout.write_png(layout.max_histogram("0", unit), image)
    session = tiny_session(unit_vis_dir=str(tmp_path))
    result = _press_to(session, "max_histogram")
    assert result.status.startswith("pattern: max-activation histogram  ") and len(result.tile_rects) == UNITS
    missing = [unit for unit in range(UNITS) if unit not in pictures]
    for unit, image in pictures.items():
        assert mismatch(grid_tile(result, unit), image) < 8, unit
    first = grid_tile(result, missing[0])
    assert all(np.array_equal(grid_tile(result, unit), first) for unit in missing[1:])   # one placeholder
    assert not (first == first[TRIM, TRIM]).all()                                     # with its label
    assert all(mismatch(first, image) > 25 for image in pictures.values())


def test_activations_correlation_is_finds_picture_or_a_labelled_placeholder(tiny_session, tmp_path):
    session = tiny_session(unit_vis_dir=str(tmp_path / "none"))
    result = _press_to(session, "activations_correlation")
    pane = result.images["layers"]
    assert result.tile_rects == () and "layers" not in result.stale
    expected = placeholder((pane.shape[1], pane.shape[0]), "no channels_correlation.png (find-max --summaries)",
                           session.settings)
    assert np.array_equal(pane, expected) and not (pane == pane[TRIM, TRIM]).all()

    picture = blocks(palette(7), 120)
    UnitVisLayout(tmp_path / "find").write_png(UnitVisLayout(tmp_path / "find").channels_correlation("0"), picture)
    session = tiny_session(unit_vis_dir=str(tmp_path / "find"))
    result = _press_to(session, "activations_correlation")
    pane = result.images["layers"]
    fitted = tiles.fit_to_pane(picture, (pane.shape[1], pane.shape[0]), session.settings.window_background)[0]
    assert result.tile_rects == () and np.array_equal(pane, fitted)


def test_the_weight_pictures_are_drawn_once_per_layer(tmp_path, tiny_loaded):
    calls = []

    def weights():
        calls.append(1)
        return _weights(tiny_loaded)

    loader = UnitImageLoader(UnitVisLayout(tmp_path), ByteLRUCache(64 << 20), synchronous=True)
    first = loader.request_sprite("0", UNITS, "weights_histogram", weights)
    again = loader.request_sprite("0", UNITS, "weights_histogram", weights)
    assert first is not None and again is not None and len(calls) == 1
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert loader.request_sprite("0", UNITS, "weights_histogram", lambda: None) is not None
    none = loader.request_sprite("1", UNITS, "weights_histogram", lambda: None)
    assert none == [None] * UNITS
    assert loader.request_sprite("1", UNITS, "weights_correlation", lambda: None) == [None]
