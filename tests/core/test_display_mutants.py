"""Display filters at their edges: the cases mutation testing found untested (`scripts/mutate.sh`,
docs/testing.md): clipped scaling, fixed ranges, tiny and constant maps, half-precision input, grey and RGBA
pictures under an overlay, the histogram's bars and zero line, the unit grid's columns."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from deepvis_app.core.imaging.display import (
    BACK_VIEWS,
    HISTOGRAM_BINS,
    ViewScale,
    apply_colormap,
    back_view,
    grid_cols,
    norm01,
    norm01c,
    overlay,
    sign_colors,
    to_uint8,
    value_histogram,
)

GREY = (200, 200, 200)
RED = (220, 40, 40)


def test_norm01_keeps_float_precision_and_scales_other_types():
    assert norm01(np.array([1.0, 3.0], np.float32)).dtype == np.float32
    np.testing.assert_allclose(norm01(np.array([2, 4, 6], np.int64)), [0.0, 0.5, 1.0], atol=1e-9)
    np.testing.assert_allclose(norm01(np.array([False, True])), [0.0, 1.0], atol=1e-9)   # a mask


def test_tiny_ranges_stay_within_zero_to_one():
    """The 1e-10 guard is added to the range, never taken from it: a map whose values are all about 1e-10
    apart is scaled, not divided by zero."""
    assert np.all((norm01(np.array([0.0, 1e-10])) >= 0) & (norm01(np.array([0.0, 1e-10])) <= 1))
    assert np.all(np.isfinite(norm01c(np.array([0.0, 5e-11]))))
    assert np.abs(sign_colors(np.array([[[1e-10]]]))).max() <= 1.0
    centred = ViewScale(clip_percent=10.0).unit(np.array([-5e-11, 5e-11]), centred=True)
    np.testing.assert_allclose(centred, [0.25, 0.75], atol=1e-6)
    plain = ViewScale(clip_percent=10.0).unit(np.array([0.0, 1e-10]))
    assert plain[1] > 0.5


def test_half_precision_maps_show_as_their_double_precision_values():
    """A float16 back-projection (a half-precision model) is computed in double precision: squares and
    doubled maxima of values near 1000 would overflow float16 to infinity."""
    grad = np.random.default_rng(1).uniform(-1000.0, 1000.0, size=(3, 6, 6))
    for view in BACK_VIEWS:
        np.testing.assert_array_equal(back_view(grad.astype(np.float16), view),
                                      back_view(grad.astype(np.float16).astype(np.float64), view), err_msg=view)
    np.testing.assert_allclose(norm01c(np.array([-40000.0, 40000.0], np.float16)), [0.0, 1.0], atol=1e-9)
    wide = ViewScale(value_range=(-70000.0, 70000.0)).unit(np.array([0.0], np.float16))
    np.testing.assert_allclose(wide, [0.5], atol=1e-9)
    clipped = ViewScale(clip_percent=1.0).unit(np.array([-60000.0, 10000.0, 60000.0], np.float16))
    top = 10000.0 + 0.98 * 50000.0                       # the 99th percentile of the three values
    np.testing.assert_allclose(clipped[1], 70000.0 / (top + 60000.0), rtol=1e-3)


def test_to_uint8_clips_before_it_converts():
    np.testing.assert_array_equal(to_uint8(np.array([-0.5, 0.0, 0.5, 1.002, 1.5])), [0, 0, 128, 255, 255])


def test_apply_colormap_default_is_jet_and_the_error_lists_the_maps():
    values = np.linspace(0.0, 1.0, 12).reshape(3, 4)
    np.testing.assert_array_equal(apply_colormap(values), apply_colormap(values, "jet"))
    with pytest.raises(ValueError, match="gray, jet, plasma"):
        apply_colormap(values, "nope")


def test_view_scale_bounds():
    ViewScale(alpha=0.0)
    ViewScale(alpha=1.0)
    ViewScale(clip_percent=49.9)
    with pytest.raises(ValueError, match="below 50"):
        ViewScale(clip_percent=50.0)
    with pytest.raises(ValueError, match="below 50"):
        ViewScale(clip_percent=-1.0)


def test_clip_percent_saturates_the_top_values():
    """Min-max scaling where the top `clip_percent` % saturate: with 101 values 0..100 and 10 %, the 90th
    percentile (90) maps to 1; centred, the 90th percentile of |x| maps to 0 or 1."""
    values = np.arange(101.0)
    unit = ViewScale(clip_percent=10.0).unit(values)
    np.testing.assert_allclose(unit[[0, 45, 90, 100]], [0.0, 0.5, 1.0, 1.0], atol=1e-9)
    shifted = ViewScale(clip_percent=10.0).unit(values + 10.0)     # low 10, top 100
    np.testing.assert_allclose(shifted[[0, 45, 90, 100]], [0.0, 0.5, 1.0, 1.0], atol=1e-9)
    signed = np.arange(-100.0, 101.0)                               # |x|: 0, 1, 1, ..., 100, 100
    centred = ViewScale(clip_percent=10.0).unit(signed, centred=True)
    at = {value: centred[int(value) + 100] for value in (-100, -45, 0, 45, 100)}
    np.testing.assert_allclose([at[-100], at[-45], at[0], at[45], at[100]], [0.0, 0.25, 0.5, 0.75, 1.0],
                               atol=1e-9)
    # no clipping: the plain min-max and centred scalings
    np.testing.assert_allclose(ViewScale().unit(values), values / 100.0, atol=1e-9)
    np.testing.assert_allclose(ViewScale().unit(signed, centred=True), signed / 200.0 + 0.5, atol=1e-9)


def test_a_fixed_range_clips_both_ends():
    unit = ViewScale(value_range=(1.0, 3.0)).unit(np.array([0.0, 1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(unit, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-12)


def test_normblur_is_a_gaussian_of_the_norm_and_takes_the_scale():
    grad = np.zeros((2, 15, 15))
    grad[0, 7, 7], grad[1, 3, 4] = 3.0, 1.0
    norm = np.linalg.norm(grad, axis=0)
    for sigma in (0.5, 2.0):
        blurred = gaussian_filter(norm, sigma, mode="nearest")
        expected = np.rint(255 * (blurred - blurred.min()) / (blurred.max() - blurred.min()))
        np.testing.assert_allclose(back_view(grad, "normblur", blur_sigma=sigma)[..., 0], expected, atol=1)
    np.testing.assert_array_equal(back_view(grad, "normblur"), back_view(grad, "normblur", blur_sigma=4.0))
    assert not np.array_equal(back_view(grad, "normblur"), back_view(grad, "normblur", blur_sigma=5.0))
    fixed = ViewScale(value_range=(0.0, 6.0))                       # the spike's norm 3 is half the range
    assert back_view(grad, "normblur", blur_sigma=0.0, scale=fixed)[7, 7, 0] == 128
    image = np.zeros((15, 15, 3), np.uint8)
    shown = back_view(grad, "overlay", image=image, blur_sigma=0.0, scale=fixed, colormap="gray")
    assert tuple(shown[7, 7]) == (np.rint(128 * 0.5 ** 0.8),) * 3  # grey 128 at opacity 0.5 ** 0.8


def test_sum_pos_keeps_the_positive_sums_below_one():
    grad = np.array([[[-1.0, 0.5, 2.0]]])                          # sums -1, 0.5, 2 -> 0, 0.5, 2 -> / 2
    np.testing.assert_array_equal(back_view(grad, "sum_pos")[0, :, 0], [0, 64, 255])


def test_an_unknown_view_lists_the_views():
    with pytest.raises(ValueError, match="raw, gray, norm, normblur"):
        back_view(np.zeros((1, 2, 2)), "sharp")


def test_two_dimensional_and_one_channel_maps():
    grad = np.random.default_rng(2).normal(size=(5, 6))
    for view in BACK_VIEWS:
        np.testing.assert_array_equal(back_view(grad, view), back_view(grad[None], view), err_msg=view)
    raw = back_view(grad, "raw")
    assert raw.shape == (5, 6, 3) and np.all(raw[..., 0] == raw[..., 2])
    both = np.stack([grad, -grad / 2])
    two = back_view(both, "raw")            # not 3 channels: one scale for both, then the grey of their mean
    np.testing.assert_array_equal(two, np.repeat(to_uint8(norm01c(both).mean(axis=0))[..., None], 3, axis=2))


def test_overlay_uses_the_named_colormap_and_the_other_blend_only_when_asked():
    grad = np.zeros((1, 4, 4))
    grad[0, 1, 1] = 1.0
    image = np.full((4, 4, 3), 30, np.uint8)
    shown = back_view(grad, "overlay", image=image, blur_sigma=0.0, colormap="gray")
    assert tuple(shown[1, 1]) == (255, 255, 255) and tuple(shown[0, 0]) == (30, 30, 30)
    values = norm01(grad[0])
    np.testing.assert_array_equal(overlay(values, image), overlay(values, image, "jet", over_active=False))
    assert not np.array_equal(overlay(values, image), overlay(values, image, over_active=True))
    alone = overlay(values, None)
    assert alone.dtype == np.uint8
    np.testing.assert_array_equal(alone, apply_colormap(values, "jet"))


def test_overlay_clips_the_opacity_of_values_outside_zero_to_one():
    image = np.full((1, 2, 3), 90, np.uint8)
    out = overlay(np.array([[-0.5, 1.5]]), image, "jet")
    assert tuple(out[0, 0]) == (90, 90, 90)                                      # below 0: the image alone
    assert tuple(out[0, 1]) == tuple(apply_colormap(np.ones((1, 1)), "jet")[0, 0])  # above 1: the colormap


def test_overlay_takes_grey_and_rgba_pictures_and_shrinks_them_smoothly():
    values = np.zeros((4, 4))
    grey = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    rgb = np.repeat(grey[..., None], 3, axis=2)
    np.testing.assert_array_equal(overlay(values, grey), overlay(values, rgb))
    rgba = np.concatenate([rgb, np.full((4, 4, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(overlay(values, rgba), overlay(values, rgb))
    big = np.zeros((16, 16, 3), np.uint8)
    big[0, 0] = 255                        # a dot that point sampling at 1.5, 5.5, ... would miss
    assert overlay(values, big)[0, 0, 0] > 0


def _bars(picture):
    return (picture == GREY).all(axis=2), (picture == RED).all(axis=2).all(axis=0)


def test_histogram_bars_reach_the_top_for_the_fullest_bin_and_the_last_bin_is_drawn():
    values = np.concatenate([np.zeros(5), np.full(50, 10.0)])     # the fullest bin is the last one
    grey, red = _bars(value_histogram(values, (20, 64)))
    assert grey[:, 63].all()                                        # full height, to the top row
    assert red[0] and red.sum() == 1                                # 0 is the low end: the first bin


def test_histogram_zero_line_at_either_end_and_none_when_zero_is_outside():
    _, red = _bars(value_histogram(np.linspace(-4.0, 0.0, 50), (10, 64)))
    assert red[63] and red.sum() == 1                               # 0 is the high end: the last bin
    _, red = _bars(value_histogram(np.linspace(-2.0, 0.5, 50), (10, 64)))
    assert red.sum() == 1 and red[int(2.0 / 2.5 * 64)]
    _, red = _bars(value_histogram(np.linspace(1.0, 2.0, 50), (10, 64)))
    assert not red.any()


def test_histogram_of_a_constant_map():
    """A constant map (a unit with no gradient: all zeros) is one bar in the first bin, not an error."""
    grey, red = _bars(value_histogram(np.full((3, 3), 2.0), (8, HISTOGRAM_BINS)))
    assert grey[:, 0].all() and not grey[:, 1:].any() and not red.any()
    grey, red = _bars(value_histogram(np.zeros((3, 3)), (8, HISTOGRAM_BINS)))
    assert red[0] and red.sum() == 1 and not grey[:, 1:].any()     # the bar is under the zero line


def test_grid_cols():
    assert [grid_cols(n) for n in (0, 1, 2, 4, 5, 9, 10)] == [1, 1, 2, 2, 3, 3, 4]
    assert grid_cols(8, aspect=2.0) == 4 and grid_cols(8, aspect=0.5) == 2
    assert grid_cols(100, aspect=0.0) == 1 and grid_cols(-3) == 1
