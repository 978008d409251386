"""`mean_image` and `generate_channelwise_mean` (the original's caffevis_data_mean file and the arikpoz
fork's channel-wise mean), against a direct numpy computation of the original's set_mean."""

from __future__ import annotations

import numpy as np
import pytest

from deepvis_app.core.nn.preprocess import Preprocessor
from deepvis_app.settings.defaults import Settings
from deepvis_app.settings.loader import SettingsError, load_settings

SIZE = (16, 12)


@pytest.fixture
def mean_file(tmp_path):
    rng = np.random.default_rng(0)
    mean = rng.uniform(90, 130, (3, 22, 20)).astype(np.float32)
    mean[:, :3] += 100.0   # a border outside the centre crop: its average differs from the crop's
    path = tmp_path / "mean.npy"
    np.save(path, mean)
    return path, mean


def _frame() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (*SIZE, 3), dtype=np.uint8)


def _settings(path, **more) -> Settings:
    return Settings(input_size=SIZE, mean_image=str(path), std=(1.0, 1.0, 1.0), input_scale=255.0,
                    channel_order="BGR", **more)


def _expected(frame: np.ndarray, mean: np.ndarray) -> np.ndarray:
    bgr = frame.astype(np.float64).transpose(2, 0, 1)[::-1]
    return bgr - mean


def _crop(mean: np.ndarray) -> np.ndarray:
    top, left = (mean.shape[1] - SIZE[0]) // 2, (mean.shape[2] - SIZE[1]) // 2
    return mean[:, top:top + SIZE[0], left:left + SIZE[1]]


def test_mean_image_is_cropped_at_its_centre_and_subtracted(mean_file):
    path, mean = mean_file
    pre = Preprocessor(_settings(path))
    frame = _frame()
    np.testing.assert_allclose(pre.to_array(frame), _expected(frame, _crop(mean)), atol=1e-3)
    assert np.array_equal(pre.to_image(pre.to_array(frame)), frame), "to_image inverts to_array"


def test_generate_channelwise_mean_uses_the_crops_channel_averages(mean_file):
    path, mean = mean_file
    pre = Preprocessor(_settings(path, generate_channelwise_mean=True))
    frame = _frame()
    channel_means = _crop(mean).astype(np.float64).mean(axis=(1, 2)).reshape(3, 1, 1)
    np.testing.assert_allclose(pre.to_array(frame), _expected(frame, channel_means), atol=1e-3)
    whole = mean.mean(axis=(1, 2)).reshape(3, 1, 1)
    assert not np.allclose(pre.to_array(frame), _expected(frame, whole), atol=1.0), "the crop's, not the file's"
    assert np.array_equal(pre.to_image(pre.to_array(frame)), frame)


@pytest.mark.parametrize("array, name, message", [
    (np.zeros((3, 10, 30)), "small.npy", "smaller than input_size 16 x 12"),
    (np.zeros((4, 20, 20)), "four.npy", "expected a numeric array of 3 x height x width"),
    (None, "missing.npy", "no such file"),
    (None, "mean.binaryproto", "only .npy mean images"),
    (b"not numpy", "junk.npy", "not a numpy .npy array"),
])
def test_bad_mean_images_are_named_with_the_problem(tmp_path, array, name, message):
    path = tmp_path / name
    if isinstance(array, np.ndarray):
        np.save(path, array)
    elif isinstance(array, bytes):
        path.write_bytes(array)
    with pytest.raises(SettingsError) as err:
        Preprocessor(_settings(path))
    assert str(path) in str(err.value) and message in str(err.value)


def test_original_settings_local_mean_file_maps_to_mean_image(tmp_path, mean_file):
    path, _ = mean_file
    local = tmp_path / "settings_local.py"
    local.write_text(f"caffevis_data_mean = '%DVT_ROOT%/{path.name}'\ngenerate_channelwise_mean = True\n")
    loaded = load_settings(local_file=local)
    assert loaded.settings.mean_image == str(path) and loaded.settings.generate_channelwise_mean is True
    assert loaded.notes == ()


def test_original_mean_values_get_the_note(tmp_path):
    local = tmp_path / "settings_local.py"
    local.write_text("caffevis_data_mean = (104, 117, 123)\n")
    loaded = load_settings(local_file=local)
    assert loaded.settings.mean_image is None
    assert len(loaded.notes) == 1 and "caffevis_data_mean: values per channel: set `mean`" in loaded.notes[0]
