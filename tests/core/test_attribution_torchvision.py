"""Attribution methods on torchvision alexnet, resnet18, squeezenet1_1 (seeded random weights, float64) vs captum.

Ours runs on the model as built (in-place ReLUs); captum on an out-of-place twin.
"""

from __future__ import annotations

import pytest
import torch
from captum.attr import GuidedGradCam, IntegratedGradients, LayerGradCam, NoiseTunnel, Occlusion, Saliency

from deepvis_app.core.methods.registry import attribute
from tests.helpers.models import torchvision_case
from tests.helpers.oracles import assert_matches, assert_matches_float32, gradcam_plus_plus_reference

CAM_LAYERS = {"alexnet": "features.10", "resnet18": "layer4", "squeezenet1_1": "features.12"}
TARGETS = [5, 17]


@pytest.fixture(scope="module", params=sorted(CAM_LAYERS))
def arch(request):
    return torchvision_case(request.param)


def test_occlusion(arch):
    _, model, twin, x = arch
    ours = attribute(model, x[:1], "occlusion", target=5, window=20, stride=16, perturbations_per_eval=16)
    reference = Occlusion(twin).attribute(x[:1], target=5, sliding_window_shapes=(3, 20, 20), strides=(3, 16, 16),
                                          perturbations_per_eval=16)
    assert_matches_float32(ours, reference)


def test_integrated_gradients(arch):
    _, model, twin, x = arch
    ours = attribute(model, x[:1], "integrated_gradients", target=5, steps=4, quadrature="riemann_trapezoid")
    reference = IntegratedGradients(twin).attribute(x[:1], target=5, n_steps=4, method="riemann_trapezoid")
    assert_matches(ours, reference)


def test_smoothgrad(arch):
    _, model, twin, x = arch
    stdev = 0.1 * (x[:1].max() - x[:1].min()).item()
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(3)
        reference = NoiseTunnel(Saliency(twin)).attribute(x[:1], nt_type="smoothgrad", nt_samples=3, stdevs=stdev,
                                                          target=5, abs=False)
    finally:
        torch.set_default_dtype(default)
    torch.manual_seed(3)
    assert_matches(attribute(model, x[:1], "smoothgrad", target=5, samples=3, noise_level=0.1), reference)


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "guided_gradcam"])
def test_cam_family(arch, method):
    name, model, twin, x = arch
    layer = CAM_LAYERS[name]
    module = twin.get_submodule(layer)
    if method == "gradcam":
        ours = attribute(model, x, method, target=TARGETS, layer=layer, upsample=False)
        reference = LayerGradCam(twin, module).attribute(x, target=TARGETS, relu_attributions=True)
    elif method == "gradcam++":
        ours = attribute(model, x, method, target=TARGETS, layer=layer, upsample=False)
        reference = gradcam_plus_plus_reference(twin, layer, x, TARGETS)
    else:
        ours = attribute(model, x, method, target=TARGETS, layer=layer)
        reference = GuidedGradCam(twin, module).attribute(x, target=TARGETS)
    assert_matches(ours, reference)
