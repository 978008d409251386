"""Every shipped model folder names layers its architecture really has (random weights, no download)."""

from __future__ import annotations

import pytest

from deepvis_app.core.nn.layers import discover_layers
from deepvis_app.core.nn.model import build_module, prepare_for_visualization
from deepvis_app.settings.loader import available_models, load_settings


# The EfficientNet-Lite0 folders load the shipped weights (tests/core/test_lite0_variants.py loads them).
@pytest.mark.parametrize("model", [m for m in available_models() if not m.startswith("efficientnet_lite0")])
def test_template_layers_exist(model, tmp_path):
    settings = load_settings(model=model, local_file=tmp_path / "none.py").settings
    module, weights_file = build_module(settings.builder, settings)
    layers = discover_layers(prepare_for_visualization(module), settings)
    assert [layer.name for layer in layers] == list(settings.layers)
    assert settings.output_layer in settings.layers and layers[-1].channels == 1000
    assert weights_file.name.endswith(".pth")


def test_templates_are_shipped():
    shipped = {"efficientnet_lite0", "alexnet", "vgg16", "resnet18", "googlenet", "squeezenet1_1"}
    assert shipped <= set(available_models())
