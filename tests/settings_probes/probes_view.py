"""Probes of the view settings, read back from what the Qt-free session draws: the unit grid's
shape and moves, boosts, the normblur view, what is shown at start, keys, the panes' colours and the
methods' options."""

from __future__ import annotations

import math

import numpy as np

from deepvis_app.keymap import KEYMAP
from tests.settings_probes.conftest import colour_pixels
from tests.settings_probes.registry import probe

ODD = (0.9, 0.1, 0.6)        # a colour nothing else draws


@probe("layers_aspect_ratio")
def aspect_ratio_widens_the_grid(ctx):
    """Layer "0" has 8 units: ceil(sqrt(8 * aspect)) columns; a row down moves that many units."""
    wide, _ = ctx.session("k", "k", layers_aspect_ratio=4.0)
    square, _ = ctx.session("k", "k")
    assert wide.latest_result().grid_shape[1] == math.ceil(math.sqrt(8 * 4.0)) == 6
    assert square.latest_result().grid_shape[1] == 3
    assert (wide.state.selected_unit, square.state.selected_unit) == (6, 3)


@probe("fast_move_dist")
def fast_moves_go_that_far(ctx):
    moved, _ = ctx.session("k", "L", fast_move_dist=5)
    default, _ = ctx.session("k", "L")
    assert (moved.state.selected_unit, default.state.selected_unit) == (5, 3)


def _grid(result) -> np.ndarray:
    return result.images["layers"].astype(int)


@probe("boost_indiv_default_idx", "boost_gamma_default_idx")
def boost_starts_at_the_index(ctx):
    session, boosted = ctx.session(**{ctx.name: 2})
    info = session.info
    if ctx.name == "boost_indiv_default_idx":
        assert session.state.boost_indiv(info) == ctx.base.boost_indiv_choices[2]
    else:
        assert session.state.boost_gamma(info) == ctx.base.boost_gamma_choices[2]
    assert not np.array_equal(_grid(boosted), _grid(ctx.result()))


@probe("boost_indiv_choices", "boost_gamma_choices")
def boost_choices_are_cycled(ctx):
    key = "T" if ctx.name == "boost_indiv_choices" else "t"
    choices = (0.0, 0.9) if ctx.name == "boost_indiv_choices" else (1.0, 0.2)
    session, boosted = ctx.session(key, **{ctx.name: choices})
    default_session, default = ctx.session(key)
    value = (session.state.boost_indiv if key == "T" else session.state.boost_gamma)(session.info)
    assert value == choices[1]
    assert not np.array_equal(_grid(boosted), _grid(default))


def _total_variation(image: np.ndarray) -> float:
    grey = image.astype(float).mean(axis=2)
    return float(np.abs(np.diff(grey, axis=0)).sum() + np.abs(np.diff(grey, axis=1)).sum())


@probe("grad_norm_blur_radius")
def normblur_blurs_by_the_radius(ctx):
    keys = ("k", "b", "v", "v", "v")       # gradient, view raw -> gray -> norm -> normblur
    sharp, _ = ctx.session(*keys, grad_norm_blur_radius=0.5)
    assert sharp.state.back_view == "normblur"
    variation = {radius: _total_variation(ctx.result(*keys, grad_norm_blur_radius=radius).images["back"])
                 for radius in (0.5, 12.0)}
    default = _total_variation(ctx.result(*keys).images["back"])
    assert variation[0.5] > default * 1.2 and variation[12.0] < default / 1.2


@probe("init_show_label_predictions")
def labels_hidden_at_start(ctx):
    assert ctx.result(init_show_label_predictions=False).top_labels == ()
    assert len(ctx.result().top_labels) == 5


@probe("init_show_unit_jpgs")
def unit_pane_hidden_at_start(ctx):
    assert "unit_images" in ctx.result(init_show_unit_jpgs=False).hidden_panes
    assert "unit_images" not in ctx.result().hidden_panes


@probe("key_overrides")
def key_overrides_rebind_actions(ctx):
    session, _ = ctx.session(key_overrides={"sel_down": ("x",)})
    assert session.handle_key("x") and session.state.in_grid
    assert not session.handle_key("k")
    default, _ = ctx.session()
    assert not default.handle_key("x")
    assert "sel_down" in {b.action for b in KEYMAP}


@probe("window_background")
def window_background_fills_the_panes(ctx):
    assert colour_pixels(ctx.result(window_background=ODD).images["back"], ODD) > 0   # back off: background
    assert colour_pixels(ctx.result().images["back"], ODD) == 0


@probe("stale_background")
def stale_panes_have_their_colour(ctx):
    """A slow method's first (0 %) result shows the back pane stale, in its colour."""
    def first_partial(**changes):
        session, _ = ctx.session("k", "b", **changes,
                                 method_options={"occlusion": {"window": 4, "stride": 2, "perturbations_per_eval": 8}})
        seen: list = []
        session.set_on_result(lambda: seen.append(session.latest_result()))
        while session.state.back_method != "occlusion":
            session.handle_key("N")
        session.process_pending()
        stale = [r for r in seen if "back" in r.stale and r.progress is not None]
        assert stale, "no stale back pane while occlusion ran"
        return stale[0].images["back"]
    assert colour_pixels(first_partial(stale_background=ODD), ODD) > 0
    assert colour_pixels(first_partial(), ODD) == 0


@probe("layer_clr_cursor")
def the_selected_unit_is_outlined(ctx):
    assert colour_pixels(ctx.result("k", layer_clr_cursor=ODD).images["layers"], ODD) > 0
    assert colour_pixels(ctx.result("k").images["layers"], ODD) == 0


@probe("layer_clr_back_sel")
def the_frozen_back_unit_is_outlined(ctx):
    keys = ("k", "b", "d", "l")            # freeze the origin at unit 0, move the cursor to unit 1
    assert colour_pixels(ctx.result(*keys, layer_clr_back_sel=ODD).images["layers"], ODD) > 0
    assert colour_pixels(ctx.result(*keys).images["layers"], ODD) == 0


@probe("layer_clr_back_background")
def back_diffs_grid_has_its_background(ctx):
    keys = ("k", "b", "a")                 # the grid shows back diffs
    assert colour_pixels(ctx.result(*keys, layer_clr_back_background=ODD).images["layers"], ODD) > 0
    assert colour_pixels(ctx.result(*keys).images["layers"], ODD) == 0


@probe("method_options", slow=True)
def method_options_reach_the_method(ctx):
    """SmoothGrad of a unit of layer "3" (its gradient depends on the input, unlike the first conv's)
    with a seed gives the same map twice; with more noise, another map."""
    def smoothgrad(**options):
        session, _ = ctx.session("l", "l", "l", "k", "b", method_options={"smoothgrad": options})
        while session.state.back_method != "smoothgrad":
            session.handle_key("N")
        session.process_pending()
        return np.array(session.engine._back.input_grad)
    seeded = smoothgrad(seed=0, samples=4)
    np.testing.assert_array_equal(seeded, smoothgrad(seed=0, samples=4))
    assert not np.allclose(seeded, smoothgrad(seed=0, samples=4, noise_level=0.9))
