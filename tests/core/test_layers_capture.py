"""Layer discovery on graph-shaped nets, and activation capture that equals a manual forward."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from deepvis_app.core.nn.hooks import capture_activations
from deepvis_app.core.nn.layers import discover_layers
from deepvis_app.core.nn.model import prepare_for_visualization
from deepvis_app.settings.defaults import Settings


def _hooks(module: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in module.modules())


@pytest.mark.parametrize("name, expected_names", [
    ("resnet18", {"conv1", "layer1.0", "layer4.1", "fc"}),
    ("googlenet", {"conv1", "inception3a", "inception5b", "fc"}),
    ("squeezenet1_1", {"features.0", "features.3", "classifier.1"}),
])
def test_discovery_on_graph_models(name, expected_names):
    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    model = prepare_for_visualization(torchvision.models.get_model(name, weights=None, **kwargs))
    layers = discover_layers(model, Settings(input_size=(96, 96)))
    names = [layer.name for layer in layers]
    assert expected_names <= set(names), names
    assert len(names) == len(set(names))
    assert layers[-1].channels == 1000
    assert _hooks(model) == 0


def test_repeated_outputs_are_hidden():
    model = prepare_for_visualization(torchvision.models.resnet18(weights=None))
    kinds = Settings().layer_kinds + ("Sequential",)
    shown = [layer.name for layer in discover_layers(model, Settings(input_size=(64, 64), layer_kinds=kinds))]
    assert "layer1.1" in shown and "layer1" not in shown, "layer1 re-emits layer1.1's tensor"
    every = discover_layers(model, Settings(input_size=(64, 64), layer_kinds=kinds, hide_repeated_outputs=False))
    assert "layer1" in [layer.name for layer in every]


def test_resnet_forward_order():
    model = prepare_for_visualization(torchvision.models.resnet18(weights=None))
    names = [layer.name for layer in discover_layers(model, Settings(input_size=(64, 64)))]
    assert names.index("conv1") < names.index("layer1.0") < names.index("layer2.0") < names.index("fc")


def test_explicit_layer_list_and_unknown_layer():
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 4))
    layers = discover_layers(model, Settings(input_size=(8, 8), layers=("3", "0"), pretty_names={"0": "conv"}))
    assert [(layer.name, layer.pretty, layer.shape) for layer in layers] == [("3", "3", (4,)), ("0", "conv", (2, 6, 6))]
    with pytest.raises(ValueError, match="not found.*nope"):
        discover_layers(model, Settings(input_size=(8, 8), layers=("nope",)))


class InplaceNet(nn.Module):
    """conv -> in-place ReLU (functional) -> conv: a captured conv output must stay pre-ReLU."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.conv2 = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return self.conv2(torch.relu_(self.conv(x)))


def test_capture_equals_manual_forward_and_survives_inplace_relu():
    torch.manual_seed(0)
    model = InplaceNet().eval()
    x = torch.randn(2, 3, 10, 10)
    with torch.no_grad():
        manual_conv = model.conv(x)
        manual_out = model.conv2(torch.relu(manual_conv))
    output, acts = capture_activations(model, x, ["conv", "conv2"])
    torch.testing.assert_close(acts["conv"], manual_conv)
    assert (acts["conv"] < 0).any(), "the stored conv output must not be post-ReLU"
    torch.testing.assert_close(acts["conv2"], manual_out)
    torch.testing.assert_close(output, manual_out)
    assert _hooks(model) == 0


def test_capture_removes_hooks_when_forward_raises():
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Linear(5, 5))
    with pytest.raises(RuntimeError):
        capture_activations(model, torch.randn(1, 3, 8, 8), ["0", "1"])
    assert _hooks(model) == 0


@pytest.mark.parametrize("name, blocks, hidden", [
    ("convnext_tiny", {"features.1.0": "CNBlock", "features.7.2": "CNBlock"}, {"features.1.0.block.3"}),
    ("efficientnet_b0", {"features.2.1": "MBConv", "features.1.0.block.1": "SqueezeExcitation"},
     {"features.1.0.block.1.fc1", "features.1.0.block.1.avgpool"}),
    ("mobilenet_v3_small", {"features.5": "InvertedResidual", "features.1.block.1": "SqueezeExcitation"},
     {"features.1.block.1.fc2"}),
    ("regnet_y_400mf", {"trunk_output.block1.block1-0.activation": "ReLU",
                        "trunk_output.block1.block1-0.f.se": "SqueezeExcitation"},
     {"trunk_output.block1.block1-0.f.se.fc1"}),
])
def test_blocks_found_without_a_layer_list(name, blocks, hidden):
    """Residual / squeeze-excite blocks whatever their class; no channels-last MLP outputs, no SE internals."""
    model = prepare_for_visualization(torchvision.models.get_model(name, weights=None))
    layers = {layer.name: layer for layer in discover_layers(model, Settings(input_size=(64, 64)))}
    assert {n: layers[n].kind for n in blocks if n in layers} == blocks, sorted(layers)
    assert not hidden & set(layers)
    assert not [n for n, layer in layers.items() if layer.kind == "Linear" and len(layer.shape) > 1]
    _, acts = capture_activations(model, torch.zeros(1, 3, 64, 64), list(layers))
    assert all(tuple(acts[n].shape[1:]) == layer.shape for n, layer in layers.items())
    assert _hooks(model) == 0
