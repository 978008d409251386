"""ReLU-rule backprops on real torchvision architectures (seeded random weights, float64) vs captum.

Ours runs on the model as torchvision builds it (in-place ReLUs, ResNet's reused ReLU modules,
GoogLeNet's functional ``F.relu(inplace=True)``); captum runs on an out-of-place twin, because its
module hooks break on in-place ReLUs and miss functional ones.
"""

from __future__ import annotations

import copy
import types

import pytest
import torch
from captum.attr import GuidedBackprop
from torch import nn

from deepvis_app.core.methods.backprop import backprop_from_unit
from tests.helpers.models import seeded_torchvision, torchvision_case
from tests.helpers.oracles import assert_matches, captum_neuron, captum_output

INNER_LAYERS = {"alexnet": ("features.3", 7), "resnet18": ("layer2.0", 5), "squeezenet1_1": ("features.4", 9)}


@pytest.fixture(scope="module", params=sorted(INNER_LAYERS))
def arch(request):
    return torchvision_case(request.param)


@pytest.mark.parametrize("method", ["gradient", "deconv", "guided"])
def test_output_and_inner_layer_equal_captum(arch, method):
    name, model, twin, x = arch
    ours = backprop_from_unit(model, x, None, [3, 11], method=method, seed="one").input_grad
    assert_matches(ours, captum_output(twin, x, method, [3, 11]))
    layer, unit = INNER_LAYERS[name]
    ours = backprop_from_unit(model, x, layer, unit, method=method, seed="one").input_grad
    assert_matches(ours, captum_neuron(twin, x, method, layer, unit))


def _module_relu_forward(self, x: torch.Tensor) -> torch.Tensor:
    return self.relu(self.bn(self.conv(x)))


def test_googlenet_functional_relus_equal_module_relu_twin():
    """torchvision GoogLeNet calls F.relu(x, inplace=True) in every BasicConv2d."""
    model = seeded_torchvision("googlenet", aux_logits=False, init_weights=False, transform_input=False)
    twin = copy.deepcopy(model)
    for module in twin.modules():
        if type(module).__name__ == "BasicConv2d":
            module.relu = nn.ReLU()
            module.forward = types.MethodType(_module_relu_forward, module)
    torch.manual_seed(2)
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64)
    for method in ("guided", "deconv"):
        ours = backprop_from_unit(model, x, None, 7, method=method, seed="one").input_grad
        reference = captum_output(twin, x, method, 7)
        assert_matches(ours, reference)
    # captum's module hooks miss the functional ReLUs: on the original it is just the gradient
    missed = GuidedBackprop(model).attribute(x.clone(), target=7)
    assert (missed - reference).abs().max() > 1e-3 * reference.abs().max()
