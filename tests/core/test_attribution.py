"""Attribution methods on tiny float64 nets against captum and hand-derived facts."""

from __future__ import annotations

import pytest
import torch
from captum.attr import (
    GuidedGradCam,
    IntegratedGradients,
    LayerActivation,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from torch import nn

from deepvis_app.core.methods.attribution import integrated_gradients, make_objective
from deepvis_app.core.methods.registry import attribute
from tests.helpers.models import ChannelSum, module_twin, tiny_input, tiny_net
from tests.helpers.oracles import (
    assert_matches,
    assert_matches_float32,
    assert_nothing_left_active,
    gradcam_plus_plus_reference,
)


@pytest.mark.parametrize("window, stride, baseline, per_eval", [(5, 3, 0.0, 7), (4, 4, 0.5, 1), (16, 8, -1.0, 64)])
def test_occlusion_equals_captum(window, stride, baseline, per_eval):
    net, x = tiny_net("inplace", residual=True), tiny_input()
    ours = attribute(net, x, "occlusion", target=[0, 2], window=window, stride=stride, baseline=baseline,
                     perturbations_per_eval=per_eval)
    reference = Occlusion(module_twin(net)).attribute(x, target=[0, 2], sliding_window_shapes=(3, window, window),
                                                      strides=(3, stride, stride), baselines=baseline,
                                                      perturbations_per_eval=per_eval)
    assert_matches_float32(ours, reference)


def test_occlusion_of_a_unit_equals_captum_on_channel_sum():
    net, x = tiny_net(), tiny_input()
    ours = attribute(net, x, "occlusion", layer="conv2", unit=3, window=6, stride=5)
    reference = Occlusion(ChannelSum(module_twin(net), "conv2", 3)).attribute(
        x, sliding_window_shapes=(3, 6, 6), strides=(3, 5, 5))
    assert_matches_float32(ours, reference)


@pytest.mark.parametrize("quadrature", ["gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_middle"])
def test_integrated_gradients_equal_captum(quadrature):
    net, x = tiny_net("functional", residual=True), tiny_input()
    baseline = 0.1 * tiny_input(seed=7)
    ours = attribute(net, x, "integrated_gradients", target=[1, 4], baseline=baseline, steps=12,
                     quadrature=quadrature, internal_batch_size=5)
    reference = IntegratedGradients(module_twin(net)).attribute(x, baselines=baseline, target=[1, 4], n_steps=12,
                                                                method=quadrature)
    assert_matches(ours, reference)


def test_integrated_gradients_completeness():
    net, x = tiny_net(residual=True), tiny_input()
    objective = make_objective(net, x, [1, 4], None, None)
    _, delta = integrated_gradients(net, x, objective, steps=512)
    with torch.no_grad():
        gap = net(x)[[0, 1], [1, 4]] - net(torch.zeros_like(x))[[0, 1], [1, 4]]
    assert (delta.abs() <= 2e-3 * gap.abs()).all(), (delta, gap)  # kinks (ReLU, max-pool) on the path
    # on a linear model every quadrature but captum's riemann_trapezoid is exact
    linear = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(2 * 14 * 14, 3)).double()
    objective = make_objective(linear, x, 2, None, None)
    for quadrature in ("gausslegendre", "trapezoid", "riemann_middle"):
        _, delta = integrated_gradients(linear, x, objective, steps=8, quadrature_method=quadrature)
        assert delta.abs().max() < 1e-12
    attr, delta = integrated_gradients(linear, x, objective, steps=8, quadrature_method="riemann_trapezoid")
    torch.testing.assert_close(attr.flatten(1).sum(1) * 8 / 7, attr.flatten(1).sum(1) - delta, rtol=1e-10, atol=0)


def test_smoothgrad_equals_captum_noise_tunnel():
    net, x = tiny_net("inplace"), tiny_input()[:1]
    twin = module_twin(net)  # built before seeding: building draws random numbers
    stdev = 0.15 * (x.max() - x.min()).item()
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # captum draws its noise in the default dtype
    try:
        torch.manual_seed(11)
        reference = NoiseTunnel(Saliency(twin)).attribute(x, nt_type="smoothgrad", nt_samples=6,
                                                                     stdevs=stdev, target=3, abs=False)
    finally:
        torch.set_default_dtype(default)
    torch.manual_seed(11)
    ours = attribute(net, x, "smoothgrad", target=3, samples=6, noise_level=0.15, batch_size=4)
    assert_matches(ours, reference)


@pytest.mark.parametrize("layer", ["conv1", "act2", "conv2"])
def test_gradcam_equals_captum(layer):
    net, x = tiny_net("inplace", residual=True), tiny_input()
    twin = module_twin(net)
    reference = LayerGradCam(twin, twin.get_submodule(layer)).attribute(x, target=[0, 3], relu_attributions=True)
    assert_matches(attribute(net, x, "gradcam", target=[0, 3], layer=layer, upsample=False), reference)
    upsampled = LayerAttribution.interpolate(reference, x.shape[2:], "bilinear")
    assert_matches(attribute(net, x, "gradcam", target=[0, 3], layer=layer), upsampled)
    guided = GuidedGradCam(twin, twin.get_submodule(layer)).attribute(x, target=[0, 3])
    assert_matches(attribute(net, x, "guided_gradcam", target=[0, 3], layer=layer), guided)


def test_gradcam_plus_plus_equals_reference_formula():
    net, x = tiny_net(residual=True), tiny_input()
    reference = gradcam_plus_plus_reference(module_twin(net), "conv2", x, [0, 3])
    assert_matches(attribute(net, x, "gradcam++", target=[0, 3], layer="conv2", upsample=False), reference)


def test_gradcam_of_a_unit():
    net, x = tiny_net(), tiny_input()
    twin = module_twin(net)
    # a unit at the CAM layer itself: weights are one-hot, the map is ReLU of the unit's activation
    own = attribute(net, x, "gradcam", layer="conv2", unit=4, upsample=False)
    activation = LayerActivation(twin, twin.conv2).attribute(x)[:, 4:5]
    assert_matches(own, torch.relu(activation))
    # a unit of a later layer, mapped at an earlier one
    ours = attribute(net, x, "gradcam", layer="conv2", unit=4, cam_layer="conv1", upsample=False)
    reference = LayerGradCam(ChannelSum(twin, "conv2", 4), twin.conv1).attribute(x, relu_attributions=True)
    assert_matches(ours, reference)


def test_default_target_is_the_top_class_and_errors_leave_nothing_behind():
    net, x = tiny_net("functional"), tiny_input()
    top = net(x).argmax(1).tolist()
    assert_matches(attribute(net, x, "gradcam", layer="conv2"), attribute(net, x, "gradcam", layer="conv2", target=top))
    with pytest.raises(ValueError, match="spatial"):
        attribute(net, x, "guided_gradcam", target=1, layer="fc")
    assert_nothing_left_active(net)
    with pytest.raises(ValueError, match="unknown attribution method"):
        attribute(net, x, "lime", target=1)
    with pytest.raises(ValueError, match="occlusion"):
        attribute(net, x, "occlusion", target=1, steps=3)
    assert_nothing_left_active(net)
