"""Display filters: hand-computed values of the original toolbox's formulas, and their properties."""

from __future__ import annotations

import numpy as np
import pytest

from deepvis_app.core.imaging.display import BACK_VIEWS, apply_colormap, back_view, norm01, norm01c, sign_colors


def test_norm01_and_norm01c_by_hand():
    np.testing.assert_allclose(norm01(np.array([1.0, 2.0, 3.0])), [0.0, 0.5, 1.0], atol=1e-9)
    # norm01c: x / (max(2 max x, -2 min x) + 1e-10) + 0.5 -> -2/4 + .5, 0 + .5, 1/4 + .5
    np.testing.assert_allclose(norm01c(np.array([-2.0, 0.0, 1.0])), [0.0, 0.5, 0.75], atol=1e-9)
    np.testing.assert_allclose(norm01c(np.array([3.0, 5.0]), center=3.0), [0.5, 1.0], atol=1e-9)
    assert np.all(norm01(np.zeros(4)) == 0) and np.all(norm01c(np.zeros(4)) == 0.5)


def test_raw_and_gray_views():
    grad = np.zeros((3, 4, 5))
    grad[1, 2, 3] = 2.0
    grad[0, 0, 0] = -1.0
    raw = back_view(grad, "raw")
    assert raw.shape == (4, 5, 3) and raw.dtype == np.uint8
    assert tuple(raw[1, 1]) == (128, 128, 128)          # zero -> mid-gray
    assert raw[2, 3, 1] == 255 and raw[0, 0, 0] == 64    # 2 -> 1.0; -1 -> -1/4 + .5 = .25 -> 63.75
    gray = back_view(grad, "gray")
    assert gray[2, 3, 0] == 255 and gray[0, 0, 0] == 64 and gray[1, 1, 0] == 128  # mean 2/3 is the max
    assert np.all(gray[..., 0] == gray[..., 2])


def test_norm_and_normblur_views():
    grad = np.zeros((3, 21, 21))
    grad[:, 10, 10] = [3.0, 4.0, 0.0]  # L2 norm 5
    grad[0, 0, 0] = 1.0
    norm = back_view(grad, "norm")
    assert norm[10, 10, 0] == 255 and norm[0, 0, 0] == 51 and norm[5, 5, 0] == 0
    grad[0, 0, 0] = 0.0
    blurred = back_view(grad, "normblur", blur_sigma=2.0)[..., 0].astype(int)
    assert blurred[10, 10] == 255 and 0 < blurred[10, 12] < 255
    assert blurred[10, 12] == blurred[12, 10] == blurred[10, 8]  # isotropic spread around the spike
    assert blurred[20, 20] == 0


def test_overlay_keeps_the_image_where_the_map_is_zero():
    grad = np.zeros((1, 8, 8))
    grad[0, 4, 4] = 1.0
    image = np.full((8, 8, 3), 77, dtype=np.uint8)
    out = back_view(grad, "overlay", image=image, blur_sigma=0.0)
    assert tuple(out[0, 0]) == (77, 77, 77)
    assert tuple(out[4, 4]) == tuple(apply_colormap(np.ones((1, 1)), "jet")[0, 0])
    bigger = back_view(grad, "overlay", image=np.full((16, 16, 3), 77, dtype=np.uint8), blur_sigma=0.0)
    assert bigger.shape == (8, 8, 3)


def test_overlay_active_is_the_other_blend():
    """arik's "over active": the image where the map is strong, the colormap where it is weak."""
    grad = np.zeros((1, 8, 8))
    grad[0, 4, 4], grad[0, 2, 2] = 1.0, 0.25
    image = np.full((8, 8, 3), 77, dtype=np.uint8)
    out = back_view(grad, "overlay_active", image=image, blur_sigma=0.0).astype(float)
    values = grad[0] / grad.max()
    alpha = (values ** 0.8)[..., None]
    expected = alpha * 77 + (1 - alpha) * apply_colormap(values, "jet").astype(float)
    np.testing.assert_allclose(out, np.rint(expected), atol=1)
    assert tuple(out[4, 4]) == (77, 77, 77)


def test_sum_pos_and_maxabs_views():
    grad = np.array([[[1.0, -3.0], [0.5, 0.0]], [[1.0, 1.0], [-2.0, 0.0]]])   # (2, 2, 2)
    summed = np.maximum(grad.sum(axis=0), 0.0)                            # [[2, 0], [0, 0]]
    np.testing.assert_array_equal(back_view(grad, "sum_pos")[..., 0], np.rint(255 * summed / summed.max()))
    largest = np.abs(grad).max(axis=0)                                    # [[1, 3], [2, 0]]
    np.testing.assert_array_equal(back_view(grad, "maxabs")[..., 1], np.rint(255 * largest / largest.max()))


def test_histogram_view_draws_the_value_counts():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(2.0, 0.1, 5000), rng.uniform(-1.0, 4.0, 100)]).reshape(1, 51, 100)
    out = back_view(values, "histogram")
    assert out.shape == (51, 100, 3)
    grey = (out == 200).all(axis=2)
    bar_heights = grey.sum(axis=0)
    counts, edges = np.histogram(values, bins=64)
    column_bins = np.minimum(np.arange(100) * 64 // 100, 63)
    assert column_bins[np.argmax(bar_heights)] == np.argmax(counts)   # the tallest bar is the fullest bin
    red = (out == (220, 40, 40)).all(axis=2).all(axis=0)
    zero_bin = int((0 - edges[0]) / (edges[-1] - edges[0]) * 64)
    assert red.any() and set(column_bins[red]) == {zero_bin}


def test_view_scale_fixes_the_range_takes_the_absolute_value_and_the_opacity():
    from deepvis_app.core.imaging.display import ViewScale

    grad = np.array([[[0.5, -2.0], [1.0, 4.0]]])   # (1, 2, 2)
    fixed = ViewScale(value_range=(0.0, 2.0))
    # norm = |g|: 0.5, 2, 1, 4 -> /2 clipped -> 0.25, 1, 0.5, 1
    np.testing.assert_array_equal(back_view(grad, "norm", scale=fixed)[..., 0], [[64, 255], [128, 255]])
    # half the signal: the same fixed range gives half the brightness (min-max would not change)
    np.testing.assert_array_equal(back_view(grad / 2, "norm", scale=fixed)[..., 0], [[32, 128], [64, 255]])
    np.testing.assert_array_equal(back_view(grad, "raw", scale=ViewScale(absolute=True)),
                                  back_view(np.abs(grad), "raw"))
    image = np.full((2, 2, 3), 100, np.uint8)
    out = back_view(grad, "overlay", image=image, blur_sigma=0.0, scale=ViewScale(alpha=0.25)).astype(float)
    colored = apply_colormap(norm01(np.abs(grad[0])), "jet").astype(float)
    np.testing.assert_allclose(out, np.rint(0.25 * colored + 0.75 * 100), atol=1)
    with pytest.raises(ValueError, match="low end"):
        ViewScale(value_range=(1.0, 1.0))
    with pytest.raises(ValueError, match="between 0 and 1"):
        ViewScale(alpha=1.5)


def test_colormaps_and_sign_colors():
    assert tuple(apply_colormap(np.array([[0.5]]), "gray")[0, 0]) == (128, 128, 128)
    jet = apply_colormap(np.array([[0.0, 1.0]]), "jet")[0]
    assert jet[0, 2] > 100 and jet[0, 0] == 0 and jet[1, 0] > 100 and jet[1, 2] == 0  # blue low, red high
    colors = sign_colors(np.array([[[2.0, -1.0], [0.0, -4.0]]]))
    assert colors.shape == (1, 2, 2, 3)
    np.testing.assert_allclose(colors[0, 0, 0], [0.0, 0.5, 0.0], atol=1e-9)
    np.testing.assert_allclose(colors[0, 0, 1], [0.25, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(colors[0, 1, 1], [1.0, 0.0, 0.0], atol=1e-9)


@pytest.mark.parametrize("view", BACK_VIEWS)
def test_every_view_is_uint8_rgb(view):
    image = np.zeros((6, 7, 3), dtype=np.uint8)
    out = back_view(np.random.default_rng(0).normal(size=(3, 6, 7)), view, image=image)
    assert out.shape == (6, 7, 3) and out.dtype == np.uint8


def test_bad_view_and_shape_are_errors():
    with pytest.raises(ValueError, match="unknown view"):
        back_view(np.zeros((3, 2, 2)), "sharp")
    with pytest.raises(ValueError, match="expected a"):
        back_view(np.zeros((2, 3, 2, 2)), "raw")
    with pytest.raises(ValueError, match="unknown colormap"):
        apply_colormap(np.zeros((2, 2)), "rainbowish")


@pytest.mark.parametrize("view", BACK_VIEWS)
def test_a_float32_signal_draws_the_picture_of_its_float64_copy(view):
    """The live path draws float32 maps in float32: at most one grey level from the float64 drawing."""
    grad = np.random.default_rng(5).normal(size=(3, 24, 20)).astype(np.float32)
    image = np.full((24, 20, 3), 90, np.uint8)
    fast, exact = (back_view(g, view, image=image, blur_sigma=1.5).astype(int) for g in (grad, grad.astype(np.float64)))
    assert np.abs(fast - exact).max() <= 1
