"""Every method's default picture of the sample shows something (issue 20): `deepvis attribute -o` with
the method's default view and value range (`Method.view`, `Method.clip`) on the default model and
``sample:chelsea`` gives a picture that is neither near-white (or black) nor near-uniform gray.

The measure is the spread of the picture's gray levels: their standard deviation, and the share of
pixels within 10 levels of the median (a near-uniform picture has almost all of them there). Slow
methods run with fewer windows, samples or steps (their maps keep their character; the view is what
is tested); each reduction is listed in `REDUCED`.
"""

from __future__ import annotations

import numpy as np
import pytest

from deepvis_app.cli.main import main
from deepvis_app.core.methods.registry import METHODS
from deepvis_app.io.images import read_image

MIN_STD = 15.0          # gray levels (0..255)
MAX_NEAR_MEDIAN = 0.7   # share of pixels within 10 levels of the median
LEVELS = (20.0, 235.0)  # the mean gray level lies inside: not near-black, not near-white

REDUCED = {
    "occlusion": ["--window", "32", "--stride", "16", "--batch", "64"],
    "occlusion_layer": ["--window", "32", "--stride", "16", "--batch", "64"],
    "smoothgrad": ["--samples", "4"],
    "integrated_gradients": ["--steps", "8"],
    "gradient_shap": ["--samples", "4"],
    "noise_tunnel": ["--samples", "2", "--base", "smoothgrad"],
    "scorecam": ["--cam-layer", "_blocks.10", "--batch", "64"],
    "ablationcam": ["--cam-layer", "_blocks.10", "--batch", "64"],
}
SKIPPED = {"attention_rollout": "the default model has no attention: its rollout is empty, and says so"}


def spread(picture: np.ndarray) -> tuple[float, float, float]:
    """(mean, standard deviation, share within 10 levels of the median) of the picture's gray levels."""
    gray = picture.astype(np.float64).mean(axis=2)
    return float(gray.mean()), float(gray.std()), float(np.mean(np.abs(gray - np.median(gray)) < 10))


def visible(picture: np.ndarray) -> bool:
    mean, std, near = spread(picture)
    return LEVELS[0] <= mean <= LEVELS[1] and std >= MIN_STD and near <= MAX_NEAR_MEDIAN


def test_the_measure_tells_a_flat_or_white_picture_from_a_map():
    rng = np.random.default_rng(0)
    flat = np.full((64, 64, 3), 128, np.uint8)
    flat[rng.random((64, 64)) < 0.02] = 255                       # a few bright pixels on gray
    white = np.full((64, 64, 3), 250, np.uint8)
    blob = np.clip(255 * np.exp(-((np.arange(64)[:, None] - 32) ** 2 + (np.arange(64) - 32) ** 2) / 300.0), 0, 255)
    assert not visible(flat) and not visible(white)
    assert visible(np.repeat(blob.astype(np.uint8)[..., None], 3, axis=2))


@pytest.mark.slow
@pytest.mark.parametrize("method", [m.name for m in METHODS])
def test_the_default_picture_of_every_method_is_visible(method, tmp_path):
    if method in SKIPPED:
        pytest.skip(SKIPPED[method])
    out = tmp_path / f"{method}.png"
    assert main(["attribute", "sample:chelsea", "--method", method, "--device", "cpu", "--noise-seed", "0",
                 *REDUCED.get(method, []), "-o", str(out)] if method in ("smoothgrad", "gradient_shap",
                                                                          "noise_tunnel") else
                ["attribute", "sample:chelsea", "--method", method, "--device", "cpu",
                 *REDUCED.get(method, []), "-o", str(out)]) == 0
    picture = read_image(out)
    mean, std, near = spread(picture)
    assert visible(picture), (f"{method}: mean {mean:.1f}, std {std:.1f}, {near:.0%} of the pixels within 10 "
                              f"levels of the median")


def test_clip_percent_saturates_the_largest_values_instead_of_scaling_by_them():
    from deepvis_app.core.imaging.display import ViewScale, back_view

    rng = np.random.default_rng(0)
    signal = rng.normal(0.0, 1.0, (3, 32, 32))
    signal[:, 0, 0] = 1000.0                                    # one outlier, as gradients have
    plain = back_view(signal, "raw")
    clipped = back_view(signal, "raw", scale=ViewScale(clip_percent=1.0))
    assert spread(plain)[1] < 5 and spread(clipped)[1] > 20
    assert clipped[0, 0].tolist() == [255, 255, 255]            # the outlier saturates
    with pytest.raises(ValueError, match="clip percent"):
        ViewScale(clip_percent=50.0)
