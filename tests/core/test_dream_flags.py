"""cnn-vis's regularizer and schedule flags of `deepvis dream` change the dream as they say (issue 19:
the earlier tests read --help, checked shapes or that 0 is refused, and stayed green with the flags
removed): --tv_reg_step, --alpha_aux / --p_reg_aux, --use_pixel_learning_rates, --initialization_scale."""

from __future__ import annotations

import torch

from deepvis_app.core.nn.preprocess import Preprocessor
from deepvis_app.core.unitvis.dream.config import DreamConfig
from deepvis_app.core.unitvis.dream.loop import dream
from deepvis_app.core.unitvis.optimize.params import InputSpace
from deepvis_app.settings.defaults import Settings
from tests.helpers.models import two_conv_net

NET_SIZE = (16, 16)


def _space() -> InputSpace:
    return InputSpace.from_preprocessor(Preprocessor(Settings(input_size=NET_SIZE)))


def _run(config: DreamConfig) -> tuple[torch.Tensor, list[dict[str, float]]]:
    steps: list[dict[str, float]] = []
    out = dream(two_conv_net(), _space(), config, NET_SIZE, on_step=lambda e: steps.append(e.stats))
    return out, steps


def _config(**changes) -> DreamConfig:
    return DreamConfig(target_layer="2", num_steps=4, tv_reg=0.0, p_reg=0.0, learning_rate=2.0).replace(**changes)


def test_tv_reg_step_raises_the_tv_strength_on_schedule():
    """tv_reg 0, +1 every 2 steps: no TV pull in steps 1-2, one from step 3 on; none without the flag."""
    _, stepped = _run(_config(tv_reg_step=1.0, tv_reg_step_iter=2))
    _, plain = _run(_config())
    tv = [s["mean_tv_grad"] for s in stepped]
    assert tv[0] == tv[1] == 0.0 and tv[2] > 0 and tv[3] > 0
    assert all(s["mean_tv_grad"] == 0.0 for s in plain)


def test_the_auxiliary_p_norm_shrinks_the_image_with_its_exponent():
    """p_reg_aux pulls the image itself (not its change) towards the mean, as hard as alpha_aux says."""
    plain, _ = _run(_config(initialization_scale=20.0))
    pulled, _ = _run(_config(initialization_scale=20.0, p_reg_aux=5.0, alpha_aux=2.0))
    other_exponent, _ = _run(_config(initialization_scale=20.0, p_reg_aux=5.0, alpha_aux=6.0))
    assert pulled.std() < 0.9 * plain.std()
    assert not torch.allclose(pulled, other_exponent)


def test_pixel_learning_rates_divide_the_step_by_the_windows_over_each_pixel():
    """A 24 x 24 image under 16 x 16 windows: each pixel is in two or more windows, so its step shrinks."""
    config = _config(initial_size="24x24", final_size="24x24", num_steps=1, initialization_scale=5.0)
    start, _ = _run(config.replace(num_steps=1, learning_rate=0.0))
    per_pixel, steps_per_pixel = _run(config.replace(use_pixel_learning_rates=True))
    plain, steps_plain = _run(config)
    assert steps_per_pixel[-1]["step_mean"] < 0.75 * steps_plain[-1]["step_mean"]
    assert (per_pixel - start).abs().mean() < (plain - start).abs().mean()


def test_initialization_scale_is_the_noise_deviation():
    small, _ = _run(_config(num_steps=1, learning_rate=0.0, initialization_scale=1.0))
    large, _ = _run(_config(num_steps=1, learning_rate=0.0, initialization_scale=10.0))
    ratio = (large - large.mean()).std() / (small - small.mean()).std()
    assert 8.0 < ratio < 12.0
