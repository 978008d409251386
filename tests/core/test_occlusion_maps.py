"""Occlusion of every class at once (captum's Occlusion per class as oracle), the whole-layer change
(DNN-Visualizer's per-layer L2-norm measure, by hand) and the image-mean occluder."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import Occlusion

from deepvis_app.core.attribution.occlusion_maps import occlusion_all_classes
from deepvis_app.core.methods import attribute
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


def _layer_change_by_hand(net, x, layer, window, stride):
    """Non-overlapping-free general case: loop over captum's window grid, one occluded copy at a time."""
    acts = {}
    handle = net.get_submodule(layer).register_forward_hook(lambda _m, _i, out: acts.__setitem__("a", out.clone()))
    with torch.no_grad():
        net(x)
        base = acts["a"]
        height, width = x.shape[2:]
        total = torch.zeros(x.shape[0], height, width, dtype=x.dtype)
        count = torch.zeros(height, width, dtype=x.dtype)
        rows = range(0, max(height - window, 0) + stride, stride)
        cols = range(0, max(width - window, 0) + stride, stride)
        for top in [r for r in rows if r < height]:
            for left in [c for c in cols if c < width]:
                occluded = x.clone()
                occluded[:, :, top:top + window, left:left + window] = 0.0
                net(occluded)
                change = (acts["a"] - base).flatten(1).norm(dim=1)
                total[:, top:top + window, left:left + window] += change[:, None, None]
                count[top:top + window, left:left + window] += 1
    handle.remove()
    return total / count


@pytest.mark.parametrize("window, stride", [(4, 4), (5, 3)])
def test_occlusion_layer_is_the_mean_l2_change_of_the_layer(window, stride):
    net, x = tiny_net(), tiny_input()
    ours = attribute(net, x, "occlusion_layer", layer="conv2", unit=0, window=window, stride=stride,
                     perturbations_per_eval=3)
    reference = _layer_change_by_hand(net, x, "conv2", window, stride)
    assert ours.shape == x.shape
    assert_matches(ours[:, 0], reference)
    for unit in (1, 5):   # the whole layer: the unit does not matter
        torch.testing.assert_close(attribute(net, x, "occlusion_layer", layer="conv2", unit=unit,
                                             window=window, stride=stride), ours)


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
