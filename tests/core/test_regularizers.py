"""Each regularizer, parameterization and transform on small tensors, against hand-computed values,
scipy/numpy references, or torch.autograd of the closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from deepvis_app.core.unitvis.optimize import regularizers as reg
from deepvis_app.core.unitvis.optimize.objectives import amplify_surrogate, unit_objective
from deepvis_app.core.unitvis.optimize.params import (
    COLOR_CORRELATION_SVD_SQRT,
    decorrelate_colors,
    decorrelation_matrix,
    fft_scale,
    fft_spectrum_shape,
    fft_to_image,
)
from deepvis_app.core.unitvis.optimize.transforms import pad, rotate, translate

DOUBLE = torch.float64


def test_l2_decay_hand_values():
    x = torch.tensor([[[[1.0, -2.0]]]])
    torch.testing.assert_close(reg.l2_decay(x, 0.1), torch.tensor([[[[0.9, -1.8]]]]))


def test_gaussian_kernel_matches_scipy_radius_and_weights():
    kernel = reg.gaussian_kernel1d(1.0, dtype=DOUBLE)
    assert kernel.numel() == 9  # radius int(4 * 1 + 0.5) = 4
    impulse = np.zeros(21)
    impulse[10] = 1.0
    expected = gaussian_filter(impulse, 1.0)[6:15]
    np.testing.assert_allclose(kernel.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("sigma, size", [(0.5, (7, 9)), (1.0, (12, 10)), (1.0, (3, 2)), (2.5, (4, 5))])
def test_gaussian_blur_equals_scipy_per_channel(sigma, size):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(2, 3, *size))
    ours = reg.gaussian_blur(torch.tensor(images), sigma).numpy()
    for n in range(2):
        for c in range(3):
            np.testing.assert_allclose(ours[n, c], gaussian_filter(images[n, c], sigma), rtol=1e-10, atol=1e-12)


def test_small_norm_zeroing_hand_values():
    # pixel norms 3, 5, 1, 13 -> median (numpy percentile 50) = 4: pixels with norm 3 and 1 are zeroed
    x = torch.tensor([[[[3.0, 3.0], [1.0, 5.0]], [[0.0, 4.0], [0.0, 12.0]], [[0.0, 0.0], [0.0, 0.0]]]])
    out = reg.zero_small_norm(x, 50)
    expected = x.clone()
    expected[0, :, 0, 0] = 0
    expected[0, :, 1, 0] = 0
    torch.testing.assert_close(out, expected)


def test_small_norm_percentile_is_per_image():
    one = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    batch = torch.cat([one, 100 * one])
    out = reg.zero_small_norm(batch, 50)
    for n in range(2):
        torch.testing.assert_close(out[n:n + 1], reg.zero_small_norm(batch[n:n + 1], 50))
    assert (out[1] > 0).sum() == 2  # a global percentile would have zeroed all of image 0 and none of image 1


def test_abs_benefit_zeroing_hand_values():
    # benefit = sum_c x * (-grad): pixel 0: -(1*2 + 1*1) = -3, pixel 1: -(1*-1) = 1, pixel 2: 0, pixel 3: -(2*3) = -6
    x = torch.tensor([[[[1.0, 1.0, 5.0, 2.0]], [[1.0, 0.0, 0.0, 0.0]]]])
    grad = torch.tensor([[[[2.0, -1.0, 0.0, 3.0]], [[1.0, 0.0, 0.0, 0.0]]]])
    torch.testing.assert_close(reg.pixel_benefit(x, grad), torch.tensor([[[-3.0, 1.0, 0.0, -6.0]]]))
    # |benefit| = 3, 1, 0, 6; percentile 50 = 2: pixels 1 and 2 zeroed
    out = reg.zero_small_abs_benefit(x, grad, 50)
    expected = x.clone()
    expected[..., 1:3] = 0
    torch.testing.assert_close(out, expected)
    # signed benefit: percentile 50 of (-3, 1, 0, -6) = -1.5: pixels 0 and 3 zeroed
    signed = reg.zero_small_benefit(x, grad, 50)
    torch.testing.assert_close(signed[..., [0, 3]], torch.zeros(1, 2, 1, 2))
    torch.testing.assert_close(signed[..., 1:3], x[..., 1:3])


def test_small_value_zeroing_hand_values():
    x = torch.tensor([[[[-1.0, 2.0, -3.0, 4.0]]]])
    torch.testing.assert_close(reg.zero_small_values(x, 50), torch.tensor([[[[0.0, 0.0, -3.0, 4.0]]]]))


@pytest.mark.parametrize("p, scale", [(6.0, 1.0), (2.0, 3.0), (11.0, 50.0)])
def test_p_norm_gradient_equals_autograd(p, scale):
    x = torch.randn(2, 3, 5, 4, dtype=DOUBLE, generator=torch.Generator().manual_seed(1)) * 4
    x.requires_grad_(True)
    closed_form = (x / scale).abs().pow(p).sum()
    (expected,) = torch.autograd.grad(closed_form, x)
    loss, grad = reg.p_norm(x.detach(), p, scale)
    torch.testing.assert_close(grad, expected)
    torch.testing.assert_close(loss.sum(), closed_form.detach())


def test_tv_norm_hand_value():
    x = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    loss, grad = reg.tv_norm(x, beta=2.0)
    assert loss.item() == pytest.approx(5.0)  # (0-1)^2 + (0-2)^2
    # d/dx00 = 2*(x00-x01) + 2*(x00-x10) = -6; d/dx01 = 2; d/dx10 = 4; x11 unused
    torch.testing.assert_close(grad, torch.tensor([[[[-6.0, 2.0], [4.0, 0.0]]]]))


@pytest.mark.parametrize("beta", [2.0, 2.5, 1.5])
def test_tv_norm_gradient_equals_autograd(beta):
    x = torch.randn(2, 3, 6, 5, dtype=DOUBLE, generator=torch.Generator().manual_seed(2)) * 3
    x.requires_grad_(True)
    x_diff = x[:, :, :-1, :-1] - x[:, :, :-1, 1:]
    y_diff = x[:, :, :-1, :-1] - x[:, :, 1:, :-1]
    norm2 = x_diff ** 2 + y_diff ** 2
    assert norm2.min() > 1e-3  # away from cnn-vis's floor, where the closed form is smooth
    closed_form = norm2.pow(beta / 2).sum()
    (expected,) = torch.autograd.grad(closed_form, x)
    loss, grad = reg.tv_norm(x.detach(), beta)
    torch.testing.assert_close(grad, expected)
    torch.testing.assert_close(loss.sum(), closed_form.detach())


def test_rmsprop_step_hand_values():
    grad = torch.tensor([2.0, -1.0])
    step, cache = reg.rmsprop_step(grad, None, 0.95)
    torch.testing.assert_close(cache, torch.tensor([0.2, 0.05]))
    torch.testing.assert_close(step, torch.tensor([-2 / math.sqrt(0.2 + 1e-8), 1 / math.sqrt(0.05 + 1e-8)]))
    step, cache = reg.rmsprop_step(grad, cache, 0.5)
    torch.testing.assert_close(cache, torch.tensor([0.5 * 0.2 + 0.5 * 4, 0.5 * 0.05 + 0.5 * 1]))


def test_learning_rate_policies():
    grad = torch.tensor([[3.0, 4.0], [0.3, 0.4]])  # |g|^2 = 25 and 0.25
    objective = torch.tensor([0.2, 0.9])
    torch.testing.assert_close(reg.learning_rate("constant", 100.0, grad, objective), torch.tensor([100.0, 100.0]))
    # progress: desired 2 / |g|^2 = 0.08 and 8, capped at max_lr 5
    torch.testing.assert_close(reg.learning_rate("progress", 0, grad, objective, max_lr=5.0, desired_prog=2.0),
                               torch.tensor([0.08, 5.0]))
    # progress01: desired = min(early 0.05, 0.1 * (1 - obj)) = 0.05 and 0.01 -> 0.002 and 0.04
    out = reg.learning_rate("progress01", 0, grad, objective, max_lr=1e8, early_prog=0.05, late_prog_mult=0.1)
    torch.testing.assert_close(out, torch.tensor([0.002, 0.04]))
    with pytest.raises(ValueError, match="lr policy"):
        reg.learning_rate("cosine", 1.0, grad, objective)


def test_fft_spectrum_shapes_and_inverse():
    assert fft_spectrum_shape(2, 3, 8, 8) == (2, 3, 8, 5, 2)
    assert fft_spectrum_shape(1, 3, 6, 7) == (1, 3, 6, 5, 2)  # lucent: odd widths keep one extra column
    spectrum = torch.randn(fft_spectrum_shape(1, 3, 6, 7), generator=torch.Generator().manual_seed(0))
    scale = fft_scale(6, 7)
    image = fft_to_image(spectrum, scale, 6, 7)
    assert image.shape == (1, 3, 6, 7)
    full = (scale * spectrum).numpy()
    expected = np.fft.irfftn(full[..., 0] + 1j * full[..., 1], s=(6, 7), axes=(-2, -1), norm="ortho") / 4
    np.testing.assert_allclose(image.numpy(), expected, rtol=1e-4, atol=1e-6)
    # the 1/f scale: DC term gets 1 / (1/max(H, W)) = 7, frequency (0, 1/7) gets 7 as well, (0, 2/7) gets 3.5
    assert scale[0, 0, 0, 0, 0].item() == pytest.approx(7.0)
    assert scale[0, 0, 0, 2, 0].item() == pytest.approx(3.5)


def test_decorrelation_matrix_and_colors():
    raw = np.array(COLOR_CORRELATION_SVD_SQRT)
    expected = raw / np.linalg.norm(raw, axis=0).max()
    np.testing.assert_allclose(decorrelation_matrix().numpy(), expected, rtol=1e-6)
    assert np.linalg.norm(decorrelation_matrix().numpy(), axis=0).max() == pytest.approx(1.0)
    pixel = torch.tensor([0.5, -1.0, 2.0])
    out = decorrelate_colors(pixel.view(1, 3, 1, 1)).view(3)
    np.testing.assert_allclose(out.numpy(), expected @ pixel.numpy(), rtol=1e-6)


def test_translate_pad_rotate():
    images = torch.arange(9.0).view(1, 1, 3, 3)
    fill = torch.full((1, 1, 1, 1), -1.0)
    moved = translate(images, fill, dx=1, dy=0)
    torch.testing.assert_close(moved[0, 0], torch.tensor([[-1.0, 0, 1], [-1, 3, 4], [-1, 6, 7]]))
    padded = pad(1)(images, fill, torch.Generator())
    assert padded.shape == (1, 1, 5, 5) and padded[0, 0, 0].eq(-1).all()
    torch.testing.assert_close(padded[0, 0, 1:4, 1:4], images[0, 0])
    torch.testing.assert_close(rotate(images, fill, 0.0), images)
    quarter = rotate(images, fill, 90.0)
    torch.testing.assert_close(quarter[0, 0], torch.rot90(images[0, 0], 1, (0, 1)), atol=1e-5, rtol=0)


def test_objectives_pick_each_rows_unit():
    activation = torch.arange(2 * 3 * 3 * 3, dtype=torch.float32).view(2, 3, 3, 3)
    units = torch.tensor([2, 0])
    torch.testing.assert_close(unit_objective("channel", "layer", units)({"layer": activation}),
                               torch.stack([activation[0, 2].mean(), activation[1, 0].mean()]))
    torch.testing.assert_close(unit_objective("neuron", "layer", units)({"layer": activation}),
                               torch.stack([activation[0, 2, 1, 1], activation[1, 0, 1, 1]]))
    a = torch.tensor([-7.0, -1.0, 2.0, 9.0], requires_grad=True)
    amplify_surrogate(a).sum().backward()
    # cnn-vis diff (negated): |a| + clip(a, -5, 5) = 7-5, 1-1, 2+2, 9+5
    torch.testing.assert_close(a.grad, torch.tensor([2.0, 0.0, 4.0, 14.0]))
