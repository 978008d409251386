"""The offline default model: strict weights, same logits as the reference implementation, real classes."""

from __future__ import annotations

import pytest
import torch

from deepvis_app.core.nn.classify import classify_image
from deepvis_app.core.nn.model import ModelError, apply_state_dict
from deepvis_app.core.nn.zoo.efficientnet_lite import efficientnet_lite0, lite0_weights_file
from deepvis_app.io.images import sample_image


def test_chelsea_is_a_cat(default_model):
    top = classify_image(default_model, sample_image("chelsea"), top=3)
    assert top[0]["index"] in range(281, 286), top
    assert "cat" in top[0]["label"]


def test_coffee_is_espresso_or_cup(default_model):
    top = classify_image(default_model, sample_image("coffee"), top=1)
    assert top[0]["index"] in (967, 968), top


def test_same_logits_as_reference_implementation():
    reference_module = pytest.importorskip("efficientnet_lite_pytorch")
    path = str(lite0_weights_file())
    reference = reference_module.EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()
    ours = efficientnet_lite0()
    apply_state_dict(ours, torch.load(path, weights_only=True), lite0_weights_file())
    ours.eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-5, atol=1e-5)


def test_same_padding_is_asymmetric_for_stride_two():
    """TF SAME on 224 with a 3x3 stride-2 conv pads 0 top/left and 1 bottom/right."""
    conv = efficientnet_lite0()._conv_stem
    x = torch.randn(1, 3, 224, 224)
    expected = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (0, 1, 0, 1)), conv.weight, stride=2)
    torch.testing.assert_close(conv(x), expected)
    assert conv(torch.randn(1, 3, 225, 161)).shape[-2:] == (113, 81)


def test_weight_mapping_is_strict(tmp_path):
    state = torch.load(lite0_weights_file(), weights_only=True)
    missing = dict(state)
    missing.pop("_blocks.3._depthwise_conv.weight")
    with pytest.raises(ModelError, match="missing keys: _blocks.3._depthwise_conv.weight"):
        apply_state_dict(efficientnet_lite0(), missing, tmp_path / "w.pth")
    extra = dict(state, **{"_blocks.99.weight": torch.zeros(1)})
    with pytest.raises(ModelError, match="unexpected keys: _blocks.99.weight"):
        apply_state_dict(efficientnet_lite0(), extra, tmp_path / "w.pth")
    wrong = dict(state, **{"_fc.bias": torch.zeros(10)})
    with pytest.raises(ModelError, match=r"wrong shapes: _fc.bias \(10,\) != \(1000,\)"):
        apply_state_dict(efficientnet_lite0(), wrong, tmp_path / "w.pth")


def test_loaded_model_is_frozen_and_in_eval(default_model):
    assert not default_model.module.training
    assert not any(p.requires_grad for p in default_model.module.parameters())
    assert default_model.layer_names[0] == "_stem_act" and default_model.output_layer == "_fc"
