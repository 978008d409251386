"""Preprocessing: exact normalization at input size, crop vs stretch, channel order, and its inverse."""

from __future__ import annotations

import numpy as np
import pytest

from deepvis_app.core.nn.preprocess import Preprocessor
from deepvis_app.io.image_arrays import as_rgb_uint8
from deepvis_app.settings.defaults import Settings


def test_image_at_input_size_is_only_scaled_and_normalized():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
    pre = Preprocessor(Settings())
    x = pre.to_tensor(image)[0].numpy()
    mean = np.array(Settings().mean)[:, None, None]
    std = np.array(Settings().std)[:, None, None]
    expected = (image.transpose(2, 0, 1) / 255.0 - mean) / std
    np.testing.assert_allclose(x, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(pre.to_image(x), image)


def test_centre_crop_keeps_the_middle_and_stretch_keeps_everything():
    image = np.zeros((100, 300, 3), dtype=np.uint8)
    image[:, :100] = 255  # left third white
    pre = Preprocessor(Settings(input_size=(50, 50)))
    cropped = pre.fit_frame(image)
    assert cropped.shape == (50, 50, 3) and cropped.max() == 0, "the white left third is cropped away"
    stretched = pre.fit_frame(image, stretch=True)
    assert stretched[:, :10].min() > 200


def test_bgr_and_caffe_scale():
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[..., 0] = 255  # pure red
    pre = Preprocessor(Settings(input_size=(8, 8), channel_order="BGR", input_scale=255.0,
                                mean=(104.0, 117.0, 123.0), std=(1.0, 1.0, 1.0)))
    x = pre.to_array(image)
    np.testing.assert_allclose(x[:, 0, 0], [-104.0, -117.0, 255.0 - 123.0])
    np.testing.assert_array_equal(pre.to_image(x), image)


@pytest.mark.parametrize("shape", [(5, 6), (5, 6, 1), (5, 6, 4)])
def test_gray_and_alpha_become_rgb(shape):
    assert as_rgb_uint8(np.full(shape, 7, dtype=np.uint8)).shape == (5, 6, 3)
