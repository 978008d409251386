"""The image priors at their edges, which mutation testing found untested (`scripts/mutate.sh`,
docs/testing.md): the defaults users get when a flag is left out, ties at a percentile, percentiles near
0, a zero blur, a constant image's TV floor, the dtype of the step sizes, the messages of bad names."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from deepvis_app.core.unitvis.optimize import regularizers as reg

DOUBLE = torch.float64


def _image(rows):
    """One 1-channel image (1 x 1 x H x W) from nested lists."""
    return torch.tensor([[rows]], dtype=DOUBLE)


def test_a_zero_or_negative_blur_leaves_the_image():
    x = torch.randn(1, 3, 5, 6, dtype=DOUBLE, generator=torch.Generator().manual_seed(0))
    for sigma in (0.0, -1.0):
        assert torch.equal(reg.gaussian_blur(x, sigma), x)


def test_kernel_default_dtype_and_truncation():
    assert reg.gaussian_kernel1d(1.0).dtype == torch.float32
    assert reg.gaussian_kernel1d(1.0, truncate=2.0).numel() == 5
    assert reg.gaussian_kernel1d(0.65).numel() == 7      # radius int(4 * 0.65 + 0.5) = int(3.1) = 3
    kernel = reg.gaussian_kernel1d(2.0, dtype=DOUBLE)
    offsets = np.arange(-8, 9)
    expected = np.exp(-0.5 * (offsets / 2.0) ** 2)
    np.testing.assert_allclose(kernel.numpy(), expected / expected.sum(), rtol=1e-12)


def test_a_value_at_the_percentile_is_kept():
    """"Below the percentile" is strict: with values 1..5 and 50 %, the median 3 stays."""
    x = _image([[1.0, -2.0, 3.0, -4.0, 5.0]])
    torch.testing.assert_close(reg.zero_small_values(x, 50), _image([[0.0, 0.0, 3.0, -4.0, 5.0]]))
    pixels = _image([[1.0, 2.0, 3.0, 4.0, 5.0]])
    torch.testing.assert_close(reg.zero_small_norm(pixels, 50), _image([[0.0, 0.0, 3.0, 4.0, 5.0]]))
    grad = -torch.ones_like(pixels)                     # benefit = x: 1..5
    torch.testing.assert_close(reg.zero_small_benefit(pixels, grad, 50), _image([[0.0, 0.0, 3.0, 4.0, 5.0]]))
    torch.testing.assert_close(reg.zero_small_abs_benefit(pixels, -grad, 50), _image([[0.0, 0.0, 3.0, 4.0, 5.0]]))


def test_a_percentile_of_one_zeroes_the_smallest():
    """1 % is a percentile, not "off": the smallest of five values lies below it (numpy: 1 + 0.04)."""
    x = _image([[1.0, 2.0, 3.0, 4.0, 5.0]])
    grad = -torch.ones_like(x)
    assert np.percentile([1, 2, 3, 4, 5], 1) == pytest.approx(1.04)
    for out in (reg.zero_small_values(x, 1), reg.zero_small_norm(x, 1), reg.zero_small_benefit(x, grad, 1),
                reg.zero_small_abs_benefit(x, grad, 1)):
        torch.testing.assert_close(out, _image([[0.0, 2.0, 3.0, 4.0, 5.0]]))
    for zero in (reg.zero_small_values(x, 0), reg.zero_small_norm(x, 0), reg.zero_small_benefit(x, grad, 0),
                 reg.zero_small_abs_benefit(x, grad, 0)):
        assert torch.equal(zero, x)


def test_per_image_percentile_is_numpys_and_broadcasts():
    values = torch.tensor([[[1.0, 7.0], [3.0, 2.0]], [[10.0, 40.0], [20.0, 30.0]]], dtype=DOUBLE)
    q = reg.per_image_percentile(values, 30)
    assert q.shape == (2, 1, 1) and q.dtype == DOUBLE
    assert reg.per_image_percentile(values.float(), 30).dtype == torch.float32   # the values' own dtype
    np.testing.assert_allclose(q.flatten().numpy(), [np.percentile([1, 7, 3, 2], 30),
                                                     np.percentile([10, 40, 20, 30], 30)], rtol=1e-12)


def test_p_norm_default_scale_is_one():
    x = torch.tensor([[[[2.0, -3.0]]]], dtype=DOUBLE)
    loss, grad = reg.p_norm(x, 2.0)
    torch.testing.assert_close(loss, torch.tensor([13.0], dtype=DOUBLE))
    torch.testing.assert_close(grad, 2.0 * x)


def test_tv_defaults_floor_and_message():
    """The defaults: beta 2, naive differences, and squared differences raised to 1e-3 (a flat image)."""
    x = _image([[0.0, 1.0], [2.0, 3.0]])
    loss, grad = reg.tv_norm(x)
    assert loss.item() == pytest.approx(5.0)
    torch.testing.assert_close(grad, _image([[-6.0, 2.0], [4.0, 0.0]]))
    flat = torch.zeros(1, 1, 4, 4, dtype=DOUBLE)
    assert reg.tv_norm(flat)[0].item() == pytest.approx(9 * 1e-3)          # 3 x 3 differences at the floor
    assert reg.tv_norm(flat, beta=1.0)[0].item() == pytest.approx(9 * math.sqrt(1e-3))
    assert reg.tv_norm(flat, floor=0.5)[0].item() == pytest.approx(9 * 0.5)
    with pytest.raises(ValueError, match="choices: naive, sobel, sobel_squish"):
        reg.tv_norm(x, operator="prewitt")


def test_rmsprop_default_decay():
    grad = torch.tensor([2.0])
    step, cache = reg.rmsprop_step(grad, None)
    torch.testing.assert_close(cache, torch.tensor([0.05 * 4.0]))
    torch.testing.assert_close(step, torch.tensor([-2.0 / math.sqrt(0.2 + 1e-8)]))
    torch.testing.assert_close(reg.rmsprop_step(torch.tensor([1e-4]), None, 0.0)[0],
                               torch.tensor([-1e-4 / math.sqrt(1e-8 + 1e-8)]))


def test_learning_rate_defaults_and_dtype():
    grad = torch.tensor([[3.0, 4.0, 0.0], [0.3, 0.4, 0.0]], dtype=DOUBLE)  # |g|^2 = 25 and 0.25; 2 rows of 3
    objective = torch.tensor([-30.0, 0.99], dtype=DOUBLE)
    constant = reg.learning_rate("constant", 7.0, grad, objective)
    assert constant.dtype == DOUBLE and constant.tolist() == [7.0, 7.0]
    # progress with the defaults: desired 2 / |g|^2, no cap
    torch.testing.assert_close(reg.learning_rate("progress", 0, grad, objective),
                               torch.tensor([0.08, 8.0], dtype=DOUBLE))
    # progress01 with the defaults: min(2, 0.1 * (1 - obj)) / |g|^2 = min(2, 3.1) / 25, 0.001 / 0.25
    torch.testing.assert_close(reg.learning_rate("progress01", 0, grad, objective),
                               torch.tensor([2.0 / 25, 0.001 / 0.25], dtype=DOUBLE))
    with pytest.raises(ValueError, match=r"\(constant, progress, progress01\)"):
        reg.learning_rate("cosine", 1.0, grad, objective)


def test_p_norm_gradient_is_zero_at_zero():
    loss, grad = reg.p_norm(torch.tensor([[[[0.0, 2.0]]]], dtype=DOUBLE), 6.0)
    torch.testing.assert_close(grad, torch.tensor([[[[0.0, 6.0 * 2.0 ** 5]]]], dtype=DOUBLE))
    assert loss.item() == 64.0


def test_tv_loss_is_per_image():
    """One loss per image of the batch (each unit's own regularizer), not one for the batch."""
    first = _image([[0.0, 1.0], [2.0, 3.0]])                      # 5 (test_tv_defaults_floor_and_message)
    loss, _ = reg.tv_norm(torch.cat([first, 2.0 * first]))
    torch.testing.assert_close(loss, torch.tensor([5.0, 20.0], dtype=DOUBLE))


def test_a_float32_image_is_blurred_in_float32():
    x = torch.randn(1, 2, 6, 7, generator=torch.Generator().manual_seed(3))
    blurred = reg.gaussian_blur(x, 1.0)
    assert blurred.dtype == torch.float32
    torch.testing.assert_close(blurred, reg.gaussian_blur(x.double(), 1.0).float())
