"""Methods on models from timm and Hugging Face, loaded from files as a user's would be, against
independent oracles: pytorch-grad-cam's GradCAM on the timm model itself, autograd on the transformers
model itself (whose output is a ``ModelOutput``: the output head explains its ``logits``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepvis_app.core.methods.registry import attribute
from deepvis_app.core.nn.model import load_model
from deepvis_app.core.nn.outputs import head_or_plain
from deepvis_app.settings.loader import load_settings

timm = pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")
safetensors_torch = pytest.importorskip("safetensors.torch")


def _loaded(model, tmp_path, overrides=(), **extra):
    settings = load_settings(model=model, local_file=tmp_path / "none.py", overrides=overrides, extra=extra)
    return load_model(settings.settings, origins=settings.origins)


def test_timm_from_safetensors_gradcam_equals_pytorch_grad_cam(tmp_path):
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    torch.manual_seed(0)
    reference = timm.create_model("resnet10t", pretrained=False, num_classes=7).eval()
    path = tmp_path / "r10t.safetensors"
    safetensors_torch.save_file(reference.state_dict(), str(path))
    loaded = _loaded("timm:resnet10t", tmp_path, overrides=["model_kwargs={'num_classes': 7}", "input_size=(64,64)"],
                     weights=str(path))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with GradCAM(model=reference, target_layers=[reference.layer4]) as cam:   # a class whose CAM is not all 0
        target, expected = next((k, m) for k in range(7)
                                if (m := cam(input_tensor=x, targets=[ClassifierOutputTarget(k)])[0]).max() > 0)
    ours = attribute(loaded.module, x, "gradcam", target=target, layer="layer4")[0, 0].numpy()
    ours = (ours - ours.min()) / max(float(ours.max() - ours.min()), 1e-12)
    np.testing.assert_allclose(ours, expected, atol=2e-3)


def test_hf_vit_folder_gradient_equals_autograd_of_its_logits(tmp_path):
    folder = tmp_path / "vit"
    config = transformers.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                    image_size=32, patch_size=8, num_labels=3)
    torch.manual_seed(0)
    reference = transformers.ViTForImageClassification(config).eval()
    reference.save_pretrained(folder)
    loaded = _loaded(f"hf:{folder}", tmp_path)
    assert head_or_plain(loaded.module).picked_name == "logits"
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    ours = attribute(loaded.module, x, "gradient", target=2)
    leaf = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(reference(leaf).logits[0, 2], leaf)
    assert float(expected.abs().max()) > 0
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6)
