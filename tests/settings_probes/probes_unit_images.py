"""Probes of the per-unit image settings: where the per-unit pane reads its images, for which layers,
how it caches and arranges them, and what the optimize-unit key (g) runs."""

from __future__ import annotations

import json
import time

import numpy as np

from deepvis_app.core.unitvis.optimize.config import PRESETS
from deepvis_app.core.unitvis.optimize.job import check_optimize_settings
from deepvis_app.core.unitvis.store.montage import unit_montage
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import write_bytes_atomic
from tests.settings_probes.conftest import colour_pixels
from tests.settings_probes.registry import probe

MAGENTA = (200 / 255, 30 / 255, 90 / 255)
CYAN = (20 / 255, 190 / 255, 210 / 255)


def _write(root, kind: str = "max_im", layer: str = "0", unit: int = 0, colour=MAGENTA,
           side: int = 30) -> UnitVisLayout:
    layout = UnitVisLayout(root)
    layout.write_unit_image(kind, layer, unit, np.full((side, side, 3), np.rint(np.array(colour) * 255), np.uint8))
    return layout


def _shown(result, colour=MAGENTA) -> int:
    return colour_pixels(result.images["unit_images"], colour, tolerance=6)


@probe("unit_vis_dir")
def unit_vis_dir_is_read(ctx):
    _write(ctx.tmp)
    assert _shown(ctx.result("k", unit_vis_dir=str(ctx.tmp))) > 0
    assert _shown(ctx.result("k")) == 0


@probe("model_dir")
def model_dir_holds_the_unit_images(ctx):
    _write(ctx.tmp / "unit_vis")
    assert _shown(ctx.result("k", model_dir=str(ctx.tmp), unit_vis_dir=None)) > 0
    assert _shown(ctx.result("k", unit_vis_dir=None)) == 0


@probe("jpgvis_layers")
def jpgvis_layers_limits_the_layers_with_images(ctx):
    _write(ctx.tmp)
    assert _shown(ctx.result("k", unit_vis_dir=str(ctx.tmp))) > 0
    result = ctx.result("k", unit_vis_dir=str(ctx.tmp), jpgvis_layers=("3",))
    assert "unit_images" not in result.images or _shown(result) == 0


@probe("jpgvis_remap")
def jpgvis_remap_shows_another_layers_images(ctx):
    _write(ctx.tmp)                          # layer "0" only
    keys = ("l", "l", "l", "k")              # layer "3"
    assert _shown(ctx.result(*keys, unit_vis_dir=str(ctx.tmp), jpgvis_remap={"3": "0"})) > 0
    assert _shown(ctx.result(*keys, unit_vis_dir=str(ctx.tmp))) == 0


@probe("jpg_cache_mib")
def a_small_cache_rereads_the_files(ctx):
    """Units 0 and 1 (0.6 MB each) are shown, then unit 0's image is deleted: the default cache still
    shows it; a 1 MiB cache, which held only unit 1, reads the disk again and finds nothing."""
    def after_delete(**changes):
        root = ctx.tmp / str(len(changes))
        layout = _write(root, side=450)
        _write(root, unit=1, side=450)
        session, first = ctx.session("k", unit_vis_dir=str(root), **changes)
        assert _shown(first) > 0
        session.handle_key("l")
        session.process_pending()
        layout.unit_image("max_im", "0", 0).unlink()
        session.handle_key("j")
        session.process_pending()
        return _shown(session.latest_result())
    assert after_delete() > 0
    assert after_delete(jpg_cache_mib=1) == 0


@probe("unit_images_on_demand")
def unit_images_are_computed_when_none_are_on_disk(ctx):
    """(The tiny model's settings turn it off.) On: the selected unit's top images are computed."""
    def top_images(on: bool):
        session, _ = ctx.session("k", unit_vis_dir=str(ctx.tmp / "empty"), loaded=ctx.load(unit_images_on_demand=on))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            session.process_pending()
            images = session.loader.request("0", 0)
            if images is not None and (images.max_im is not None or not on):
                return images.max_im
            time.sleep(0.05)
        raise AssertionError("no unit images within 120 s")
    assert top_images(True) is not None
    assert top_images(False) is None


@probe("unit_backprop")
def unit_backprop_picks_the_backward_montage(ctx):
    _write(ctx.tmp, "max_deconv", colour=MAGENTA)
    _write(ctx.tmp, "max_guided", colour=CYAN)
    default = ctx.result("k", unit_vis_dir=str(ctx.tmp))
    guided = ctx.result("k", loaded=ctx.load(unit_backprop="guided"), unit_vis_dir=str(ctx.tmp))
    assert _shown(default, MAGENTA) > 0 and _shown(default, CYAN) == 0     # auto: max-pool switches -> deconv
    assert _shown(guided, CYAN) > 0 and _shown(guided, MAGENTA) == 0


@probe("clear_negative_activations")
def inactive_top_images_turn_black(ctx):
    layout = UnitVisLayout(ctx.tmp)
    units = [[{"path": f"img_{i}.png", "value": v} for i, v in enumerate([4.0, -1.0, 2.0, 1.0])]]
    write_bytes_atomic(layout.find_max_json("0"), json.dumps({"layer": "0", "top": 4, "units": units}).encode())
    tile = np.full((20, 20, 3), np.rint(np.array(MAGENTA) * 255), np.uint8)
    layout.write_unit_image("max_im", "0", 0, unit_montage([tile] * 4, 4, 20))
    shown = _shown(ctx.result("k", unit_vis_dir=str(ctx.tmp)))
    cleared = _shown(ctx.result("k", unit_vis_dir=str(ctx.tmp), clear_negative_activations=True))
    assert 0 < cleared < shown and abs(cleared / shown - 0.75) < 0.1     # one tile of four


@probe("optimize_on_request_preset", "optimize_on_request_steps")
def optimize_key_runs_the_preset_for_the_steps(ctx):
    if ctx.name == "optimize_on_request_preset":
        config = check_optimize_settings(ctx.settings(optimize_on_request_preset="lucent"))
        assert config == PRESETS["lucent"].replace(steps=ctx.base.optimize_on_request_steps)
        assert config != check_optimize_settings(ctx.base)
    else:
        assert check_optimize_settings(ctx.settings(optimize_on_request_steps=7)).steps == 7


@probe("unit_images_stack_vertical")
def unit_images_side_by_side(ctx):
    _write(ctx.tmp, "regularized_opt")        # the first of the three images
    def where(**changes):
        pane = ctx.result("k", unit_vis_dir=str(ctx.tmp), **changes).images["unit_images"]
        ys, xs = np.nonzero(colour_pixels_mask(pane, MAGENTA))
        return ys.max() / pane.shape[0], xs.max() / pane.shape[1]
    bottom, right = where()
    assert bottom < 0.34 and right > 0.5                  # a column: the top third
    _, right = where(unit_images_stack_vertical=False)
    assert right < 0.34                                   # a row: the left third


def colour_pixels_mask(image, rgb01, tolerance: int = 6):
    target = np.rint(np.asarray(rgb01) * 255).astype(int)
    return np.abs(image[..., :3].astype(int) - target).max(axis=-1) <= tolerance
