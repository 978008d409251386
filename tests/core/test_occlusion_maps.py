"""Occlusion of every class at once (captum's Occlusion per class as oracle), DNN-Visualizer's
per-channel occlusion saliency (its loop transcribed as the oracle) and the image-mean occluder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import Occlusion

from deepvis_app.core.methods.attribution.occlusion_maps import occlusion_all_classes, occlusion_layer_saliency
from deepvis_app.core.methods.registry import attribute
from tests.helpers.models import module_twin, tiny_input, tiny_net
from tests.helpers.oracles import assert_matches, assert_matches_float32


def test_all_classes_equal_captum_class_by_class():
    net, x = tiny_net("inplace", residual=True), tiny_input()
    ours = occlusion_all_classes(net, x, window=5, stride=3, baseline=0.25, perturbations_per_eval=4)
    assert ours.shape == (x.shape[0], 5, *x.shape[2:])
    occlusion = Occlusion(module_twin(net))
    for k in range(5):
        reference = occlusion.attribute(x, target=k, sliding_window_shapes=(3, 5, 5), strides=(3, 3, 3),
                                        baselines=0.25, perturbations_per_eval=4)
        assert_matches_float32(ours[:, k], reference[:, 0])


def test_mean_occluder_equals_captum_with_the_image_mean_as_baseline():
    net, x = tiny_net(), tiny_input()
    ours = attribute(net, x, "occlusion", target=[1, 3], window=4, stride=4, occluder="mean")
    reference = Occlusion(module_twin(net)).attribute(x, target=[1, 3], sliding_window_shapes=(3, 4, 4),
                                                      strides=(3, 4, 4), baselines=x.mean((2, 3), keepdim=True))
    assert_matches_float32(ours, reference)
    plain = attribute(net, x, "occlusion", target=[1, 3], window=4, stride=4)
    assert not torch.allclose(ours, plain)


def _dnn_visualizer_saliency(net, image: np.ndarray, layer: str, ksize: int, stride: int, fill: float) -> np.ndarray:
    """DNN-Visualizer's SaliencyVisualizer.analyze (dcnn_visualizer/occlusion.py) for one (C, H, W) image,
    its loop transcribed: DeformableROIIterator's windows (left/top edge from int((1 - k) / 2), step
    `stride`, clipped), the window filled, then the per-channel L2 norm (numpy.linalg.norm over the
    positions) of the occluded activation minus that of the original; (rows, cols, channels)."""
    acts = {}
    handle = net.get_submodule(layer).register_forward_hook(lambda _m, _i, out: acts.__setitem__("a", out))

    def forward(img):
        with torch.no_grad():
            net(torch.from_numpy(img)[None])
        return acts["a"][0].numpy()

    height, width = image.shape[1:]
    origin = np.linalg.norm(forward(image), axis=(1, 2))
    saliency = np.zeros((int((height - 1) / stride) + 1, int((width - 1) / stride) + 1, len(origin)))
    begin = int((1 - ksize) / 2)
    x_end, y_end = int(width - 1 - (ksize - 1) / 2), int(height - 1 - (ksize - 1) / 2)
    rois = [(x, y) for y in range(begin, y_end + 1, stride) for x in range(begin, x_end + 1, stride)]
    for i, (x0, y0) in enumerate(rois):
        x1, y1 = min(x0 + ksize, width), min(y0 + ksize, height)
        occluded = image.copy()
        occluded[:, max(y0, 0):y1, max(x0, 0):x1] = fill
        norms = np.linalg.norm(forward(occluded), axis=(1, 2))
        saliency[i // saliency.shape[1], i % saliency.shape[1]] = norms - origin
    handle.remove()
    return saliency


@pytest.mark.parametrize("window, stride", [(5, 3), (3, 2), (7, 5)])
def test_occlusion_layer_is_dnn_visualizers_signed_channel_norm_change(window, stride):
    net, x = tiny_net(), tiny_input()
    ours = occlusion_layer_saliency(net, x, "conv2", window=window, stride=stride, baseline=0.5,
                                    perturbations_per_eval=3)
    for b in range(x.shape[0]):
        reference = _dnn_visualizer_saliency(net, x[b].numpy(), "conv2", window, stride, 0.5)
        assert_matches(ours[b], torch.from_numpy(reference).permute(2, 0, 1))
    assert (ours < 0).any() and (ours > 0).any(), "a signed measure"


def test_the_method_shows_the_units_channel_at_the_nearest_window_centre():
    net, x = tiny_net(), tiny_input()
    saliency = occlusion_layer_saliency(net, x, "conv2", window=5, stride=3)
    rows = np.abs(np.arange(x.shape[2])[:, None] - 3 * np.arange(saliency.shape[2])[None]).argmin(axis=1)
    cols = np.abs(np.arange(x.shape[3])[:, None] - 3 * np.arange(saliency.shape[3])[None]).argmin(axis=1)
    for unit in (1, 4):
        shown = attribute(net, x, "occlusion_layer", layer="conv2", unit=unit, window=5, stride=3)
        assert shown.shape == x.shape
        expected = saliency[:, unit][:, rows][:, :, cols]
        for channel in range(x.shape[1]):
            torch.testing.assert_close(shown[:, channel], expected)
    other = attribute(net, x, "occlusion_layer", layer="conv2", unit=2, window=5, stride=3)
    assert not torch.allclose(other, shown)


def test_all_classes_from_the_command_line(tmp_path, capsys):
    from deepvis_app.cli.main import main

    out, single = tmp_path / "all.npy", tmp_path / "one.npy"
    code = main(["attribute", "sample:chelsea", "--method", "occlusion", "--window", "112", "--stride", "112",
                 "--target", "285", "--npy", str(single), "--all-classes", str(out)])
    assert code == 0
    maps = np.load(out)
    assert maps.shape[0] == 1000 and maps.ndim == 3
    np.testing.assert_allclose(maps[285], np.load(single)[0], rtol=1e-5, atol=1e-6)   # row k = target k
    assert main(["attribute", "sample:chelsea", "--method", "gradient", "--all-classes", str(out)]) == 2
    assert "--all-classes is for --method occlusion" in capsys.readouterr().err
