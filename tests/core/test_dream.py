"""Deep dream: sizes, tiles covering the image with the right per-pixel learning rates, and the
tiled multiscale loop on a tiny hand-made network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.nn.preprocess import Preprocessor
from deepvis_app.core.unitvis.dream.config import DreamConfig
from deepvis_app.core.unitvis.dream.loop import OUTPUT_GAIN, dream, region_gradients, rendered
from deepvis_app.core.unitvis.dream.tiles import axis_ranges, parse_size, pixel_counts, size_sequence, tile_regions
from deepvis_app.core.unitvis.optimize import regularizers as reg
from deepvis_app.core.unitvis.optimize.objectives import layer_amplification
from deepvis_app.core.unitvis.optimize.params import InputSpace
from deepvis_app.settings.defaults import Settings
from tests.helpers.models import two_conv_net


def test_parse_size():
    assert parse_size(None, (224, 300)) == (224, 300)
    assert parse_size("x1.5", (224, 300)) == (336, 450)
    assert parse_size("600x800", (224, 300)) == (600, 800)
    with pytest.raises(ValueError, match="HxW"):
        parse_size("big", (1, 1))


def test_size_sequences():
    assert size_sequence((100, 200), None, "x4", 3, "geometric") == [(100, 200), (200, 400), (400, 800)]
    assert size_sequence((100, 200), None, "x4", 3, "linear") == [(100, 200), (250, 500), (400, 800)]
    assert size_sequence((100, 200), "50x60", "x4", 1) == [(50, 60)]


@pytest.mark.parametrize("size", [(224, 224), (300, 500), (449, 700), (1000, 230), (100, 90)])
def test_tiles_cover_image_and_pixel_rates(size):
    window = (224, 224)
    even, odd = tile_regions(size, window)
    regions = even + odd
    counts = pixel_counts(size, regions)
    assert counts.min() >= 1, "every pixel is in some window"
    assert set(np.unique(counts)) <= {1.0, 2.0, 4.0}
    for y0, y1, x0, x1 in regions:
        assert y1 - y0 == min(224, size[0]) and x1 - x0 == min(224, size[1])
        assert 0 <= y0 and y1 <= size[0] and 0 <= x0 and x1 <= size[1]
    # the windows are a grid: coverage = (windows over row y) * (windows over column x)
    per_axis = [np.array([sum(a <= i < b for a, b in axis_ranges(total, 224)) for i in range(total)])
                for total in size]
    np.testing.assert_array_equal(counts, np.outer(*per_axis))
    for total, length in ((size[0], 224), (size[1], 224)):
        spans = axis_ranges(total, length)
        for a, c in zip(spans, spans[2:], strict=False):
            assert a[1] < c[0], "a window never overlaps its second neighbour"


def _space() -> InputSpace:
    return InputSpace.from_preprocessor(Preprocessor(Settings(input_size=(16, 16),
                                                              mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))))


def test_one_window_gradient_is_the_input_blob_gradient():
    """As cnn-vis's net.blobs['data'].diff: the gradient with respect to the network's input, i.e. the
    gradient with respect to the 0..255 image times 255 * std / scale (see `region_gradients`)."""
    net, space = two_conv_net(), _space()
    image = torch.randn(1, 3, 16, 16) * 20
    config = DreamConfig(target_layer="2", cnn_grad_scale=1.0)
    (ours,) = region_gradients(net, space, config, image, [(0, 16, 0, 16)])
    x = image.clone().requires_grad_(True)
    layer_amplification("2")(forward_until(net, space.to_net(x), ["2"])).sum().backward()
    pixel_to_input = torch.tensor([255 * 0.229, 255 * 0.224, 255 * 0.225]).view(3, 1, 1)
    torch.testing.assert_close(ours, -x.grad[0] * pixel_to_input)
    assert ours.abs().mean() > 50 * x.grad.abs().mean()
    (scaled,) = region_gradients(net, space, config.replace(cnn_grad_scale=8.0), image, [(0, 16, 0, 16)])
    torch.testing.assert_close(scaled, 8.0 * ours)


def test_rendered_is_cnn_vis_img_to_uint():
    """cnn-vis saves 1.2 * img + mean, clipped to 0..255: hand values for pixels 50 and 150 levels above the
    mean colour (the second clips when saved), with and without a --mean_image grey."""
    space = _space()
    mean255 = 255 * torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    image = torch.tensor([50.0, 150.0]).view(1, 1, 1, 2).expand(1, 3, 1, 2)
    pixels = rendered(space, image, torch.zeros(1, 3, 1, 1)) + mean255
    torch.testing.assert_close(pixels, mean255 + 1.2 * image)
    saved = space.to_uint8(rendered(space, image, torch.zeros(1, 3, 1, 1)))
    np.testing.assert_allclose(saved[0, 0], np.round(255 * np.array([0.485, 0.456, 0.406]) + 60), atol=1)
    assert (saved[0, 1] == 255).all() and OUTPUT_GAIN == 1.2
    grey = rendered(space, image, 100.0 - mean255) + mean255  # --mean_image 100: about grey 100
    torch.testing.assert_close(grey[..., 0], torch.full((1, 3, 1), 160.0))


@pytest.mark.parametrize("operator", ["naive", "sobel", "sobel_squish"])
@pytest.mark.parametrize("beta", [2.0, 2.5])
def test_tv_operators_gradient_equals_autograd(operator, beta):
    """cnn-vis's hand-written TV gradients, checked against autograd of the closed form (away from the floor)."""
    x = (torch.randn(2, 3, 7, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * 5)
    x.requires_grad_(True)
    size, x_terms, y_terms = reg.TV_OPERATORS[operator]
    h, w = 7 - size + 1, 6 - size + 1
    x_diff = sum(c * x[:, :, dy:dy + h, dx:dx + w] for dy, dx, c in x_terms)
    y_diff = sum(c * x[:, :, dy:dy + h, dx:dx + w] for dy, dx, c in y_terms)
    norm2 = x_diff ** 2 + y_diff ** 2
    assert norm2.min() > 1e-3
    (expected,) = torch.autograd.grad(norm2.pow(beta / 2).sum(), x)
    loss, grad = reg.tv_norm(x.detach(), beta, operator=operator)
    torch.testing.assert_close(grad, expected)
    torch.testing.assert_close(loss.sum(), norm2.pow(beta / 2).sum().detach())


def test_sobel_operators_are_cnn_vis_filters():
    """Hand values: a vertical edge of height 1 gives Sobel's x response 4 (1 + 2 + 1), the squished one too."""
    x = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    x[..., 2] = 1.0
    assert reg.tv_norm(x, 2.0, operator="sobel")[0].item() == pytest.approx(16.0)
    assert reg.tv_norm(x, 2.0, operator="sobel_squish")[0].item() == pytest.approx(1e-3)  # column 2 unused
    x[..., 1] = 1.0
    assert reg.tv_norm(x, 2.0, operator="sobel_squish")[0].item() == pytest.approx(16.0)
    with pytest.raises(ValueError, match="sobel_squish"):
        reg.tv_norm(x, 2.0, operator="prewitt")


def test_learning_rate_decays_every_decay_iter_steps_and_restarts_per_size():
    net, space = two_conv_net(), _space()
    rates = []
    config = DreamConfig(target_layer="2", num_steps=4, learning_rate=2.0, learning_rate_decay_iter=2,
                         learning_rate_decay_fraction=0.5, initial_size="16x16", final_size="20x20", num_sizes=2)
    dream(net, space, config, (16, 16), on_step=lambda e: rates.append(e.stats["learning_rate"]))
    assert rates == [2.0, 2.0, 1.0, 1.0] * 2
    images = []
    frozen = config.replace(learning_rate_decay_iter=1, learning_rate_decay_fraction=0.0, num_sizes=1)
    dream(net, space, frozen, (16, 16), on_step=lambda e: images.append(e.image.clone()))
    assert not torch.equal(images[0], torch.zeros_like(images[0]))
    torch.testing.assert_close(images[1], images[0], rtol=0, atol=0)  # lr 0 after the first step


def test_mean_centres_the_noise_and_the_p_norm():
    """--mean_image's grey level: noise starts around it (in 0..255) and the p-norm pulls towards it."""
    net, space = two_conv_net(), _space()
    config = DreamConfig(target_layer="2", num_steps=2, tv_reg=0.0, initialization_scale=1.0)
    grey = space.to_uint8(dream(net, space, config, (16, 16), mean=200.0)).astype(float)
    assert abs(grey.mean() - 200.0) < 5
    default = space.to_uint8(dream(net, space, config, (16, 16))).astype(float)
    assert abs(default.mean() - 255 * np.mean([0.485, 0.456, 0.406])) < 5


def test_multiscale_tiled_dream_amplifies_layer():
    net, space = two_conv_net(), _space()
    seen = []
    config = DreamConfig(target_layer="2", num_steps=4, initial_size="20x30", final_size="40x50", num_sizes=2,
                         learning_rate=2.0, use_pixel_learning_rates=True, initialization_scale=10.0,
                         initialization_blur=1.0, batch_size=3, tv_reg=0.01, p_reg=0.0)
    out = dream(net, space, config, (16, 16), on_step=lambda e: seen.append((e.size_index, e.step, e.image.shape)))
    assert out.shape == (1, 3, 40, 50)
    assert [s[:2] for s in seen] == [(0, 1), (0, 2), (0, 3), (0, 4), (1, 1), (1, 2), (1, 3), (1, 4)]
    start = torch.nn.functional.interpolate(torch.zeros(1, 3, 40, 50), size=(40, 50))
    before = layer_amplification("2")(forward_until(net, space.to_net(start), ["2"])).item()
    after = layer_amplification("2")(forward_until(net, space.to_net(out), ["2"])).item()
    assert after > before


def test_image_start_with_strong_p_norm_stays_close():
    net, space = two_conv_net(), _space()
    start = (np.random.default_rng(0).random((24, 20, 3)) * 255).astype(np.uint8)
    config = DreamConfig(target_layer="2", num_steps=3, learning_rate=0.5, p_reg=1.0, alpha=2.0, tv_reg=0.0)
    out = dream(net, space, config, (16, 16), initial_image=start)
    assert out.shape == (1, 3, 24, 20)
    unchanged = space.to_uint8(rendered(space, space.from_image(start), torch.zeros(1, 3, 1, 1)))
    assert np.abs(space.to_uint8(out).astype(int) - unchanged).mean() < 4
