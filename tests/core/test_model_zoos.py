"""Models from timm, Hugging Face folders and every torchvision family, built offline from configs with
random weights; builder keyword arguments (`model_kwargs`); the missing-extra messages.

Oracles: the in-memory model the weights came from (equal logits), timm's own ``pretrained_cfg`` and the
processor config we wrote (mean/std/size), an empty ``TORCH_HOME`` (nothing downloaded; this machine has
no network, so a download attempt fails the build).
"""

from __future__ import annotations

import sys

import pytest
import torch
from torch import nn

from deepvis_app.core.nn.model import ModelError, build_module, load_model
from deepvis_app.settings.loader import load_settings

timm = pytest.importorskip("timm")
transformers = pytest.importorskip("transformers")
safetensors_torch = pytest.importorskip("safetensors.torch")

TIMM_NAME = "vit_tiny_patch16_224"
TIMM_KWARGS = {"img_size": 32, "num_classes": 5}


def _loaded(model, tmp_path, overrides=(), **extra):
    settings = load_settings(model=model, local_file=tmp_path / "none.py", overrides=overrides, extra=extra)
    return load_model(settings.settings, origins=settings.origins)


# --- timm ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def timm_reference():
    torch.manual_seed(0)
    return timm.create_model(TIMM_NAME, pretrained=False, **TIMM_KWARGS).eval()


def test_timm_model_from_safetensors_gives_the_same_logits(timm_reference, tmp_path):
    path = tmp_path / "vit.safetensors"
    safetensors_torch.save_file(timm_reference.state_dict(), str(path))
    loaded = _loaded(f"timm:{TIMM_NAME}", tmp_path, overrides=[f"model_kwargs={TIMM_KWARGS!r}"], weights=str(path))
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(loaded.module(x), timm_reference(x), rtol=0, atol=0)
    config = timm_reference.pretrained_cfg
    assert loaded.settings.mean == tuple(config["mean"]) and loaded.settings.std == tuple(config["std"])
    assert loaded.settings.input_size == (32, 32), "img_size in model_kwargs sets the input size"
    assert loaded.layer("blocks.0").shape == (192, 2, 2), "timm ViT blocks are shown as patch grids"
    assert loaded.notes == [] and loaded.labels == []   # 5 classes: no ImageNet labels


def test_timm_pretrained_cfg_gives_defaults_that_user_settings_override(tmp_path, caplog):
    reference = timm.create_model("resnet10t", pretrained=False)
    with caplog.at_level("WARNING", logger="deepvis"):
        loaded = _loaded("timm:resnet10t", tmp_path, overrides=["mean=(0.1, 0.2, 0.3)"])
    config = reference.pretrained_cfg
    assert loaded.settings.input_size == tuple(config["test_input_size"][1:])
    assert loaded.settings.std == tuple(config["std"]) and loaded.settings.mean == (0.1, 0.2, 0.3)
    assert len(loaded.labels) == 1000 and loaded.labels[0] == "tench"
    assert len(loaded.notes) == 1 and "random weights" in loaded.notes[0] and "random weights" in caplog.text


def test_unknown_timm_name_gets_close_names(tmp_path):
    with pytest.raises(ModelError, match=r"timm:resnet10x: unknown timm model \(did you mean .*resnet10t"):
        _loaded("timm:resnet10x", tmp_path)


@pytest.mark.parametrize("package, model, extra", [("timm", "timm:resnet10t", "deepvis[timm]"),
                                                    ("transformers", "hf:{folder}", "deepvis[hf]")])
def test_a_missing_extra_is_named(monkeypatch, tmp_path, package, model, extra):
    (tmp_path / "config.json").write_text("{}")
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(ModelError) as info:
        _loaded(model.format(folder=tmp_path), tmp_path)
    assert f"pip install '{extra}'" in str(info.value)


# --- Hugging Face ----------------------------------------------------------------------------------------

HF_MEAN, HF_STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hf") / "vit"
    config = transformers.ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                    intermediate_size=64, image_size=32, patch_size=8, num_labels=3,
                                    id2label={0: "ant", 1: "bee", 2: "cat"}, label2id={"ant": 0, "bee": 1, "cat": 2})
    torch.manual_seed(0)
    model = transformers.ViTForImageClassification(config).eval()
    model.save_pretrained(folder)
    transformers.ViTImageProcessor(size={"height": 32, "width": 32}, image_mean=list(HF_MEAN),
                                   image_std=list(HF_STD)).save_pretrained(folder)
    return folder, model


def test_hf_vit_folder_loads_with_its_labels_preprocessing_and_logits(hf_folder, tmp_path, monkeypatch):
    folder, reference = hf_folder
    monkeypatch.chdir(folder.parent)
    loaded = _loaded(f"hf:{folder.name}", tmp_path)   # relative to the working directory
    assert loaded.labels == ["ant", "bee", "cat"]
    assert loaded.settings.mean == HF_MEAN and loaded.settings.std == HF_STD
    assert loaded.settings.input_size == (32, 32) and loaded.settings.input_scale == 1.0
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours = loaded.module(x)
        ours = getattr(ours, "logits", ours)    # the outputs module may pick the logits already
        torch.testing.assert_close(ours, reference(x).logits, rtol=1e-5, atol=1e-5)
    assert loaded.layer("vit.layers.1").shape == (32, 4, 4), "HF ViT blocks are shown as patch grids"
    assert loaded.notes == []


def test_an_hf_builder_in_a_model_folder_is_relative_to_that_folder(hf_folder, tmp_path):
    folder, _ = hf_folder
    (folder.parent / "settings.py").write_text(f"builder = 'hf:{folder.name}'\ninput_size = (32, 32)\n")
    loaded = _loaded(str(folder.parent), tmp_path)
    assert loaded.settings.builder == f"hf:{folder}" and loaded.labels == ["ant", "bee", "cat"]


def test_hf_settings_win_over_the_preprocessor_config(hf_folder, tmp_path):
    folder, _ = hf_folder
    loaded = _loaded(f"hf:{folder}", tmp_path, overrides=["std=(0.5,)"])
    assert loaded.settings.std == (0.5,) and loaded.settings.mean == HF_MEAN


def test_an_hf_encoder_folder_gets_no_random_head_and_missing_weights_are_said(tmp_path):
    config = transformers.ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                    intermediate_size=64, image_size=32, patch_size=8)
    transformers.ViTModel(config).save_pretrained(tmp_path / "encoder")
    loaded = _loaded(f"hf:{tmp_path / 'encoder'}", tmp_path)
    assert loaded.settings.input_size == (32, 32), "without a processor config: the config's image_size"
    assert not any("classifier" in name for name, _ in loaded.module.named_modules()) and loaded.notes == []
    classifier = tmp_path / "classifier"
    transformers.ViTForImageClassification(config).save_pretrained(classifier)
    state = safetensors_torch.load_file(str(classifier / "model.safetensors"))
    safetensors_torch.save_file({k: v for k, v in state.items() if not k.startswith("classifier.")},
                                str(classifier / "model.safetensors"), metadata={"format": "pt"})
    loaded = _loaded(f"hf:{classifier}", tmp_path)
    assert len(loaded.notes) == 1 and "2 weights are not in the folder" in loaded.notes[0]


@pytest.mark.parametrize("content, fragment", [(None, "no such folder"), ("", "config.json is missing"),
                                               ("{not json", "cannot read")])
def test_a_missing_or_bad_hf_folder_is_one_line(tmp_path, content, fragment):
    folder = tmp_path / "model"
    if content is not None:
        folder.mkdir()
        if content:
            (folder / "config.json").write_text(content)
    with pytest.raises(ModelError) as info:
        _loaded(f"hf:{folder}", tmp_path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


# --- torchvision families, offline ----------------------------------------------------------------------

@pytest.mark.parametrize("builder", [
    "torchvision:lraspp_mobilenet_v3_large",
    "torchvision.models.segmentation:lraspp_mobilenet_v3_large",
    "torchvision:fasterrcnn_mobilenet_v3_large_320_fpn",
    "torchvision.models.detection:fasterrcnn_mobilenet_v3_large_320_fpn",
])
def test_segmentation_and_detection_build_without_downloading(tmp_path, monkeypatch, builder):
    torch_home = tmp_path / "torch"
    torch_home.mkdir()
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    settings = load_settings(model=builder, local_file=tmp_path / "none.py").settings
    module, weights_file = build_module(settings.builder or settings.model, settings)
    assert isinstance(module, nn.Module)
    assert list(torch_home.rglob("*")) == [], "nothing may be written (downloaded) under TORCH_HOME"
    assert weights_file is not None and weights_file.parent == torch_home / "hub" / "checkpoints"


def test_video_models_are_refused_in_one_line(tmp_path):
    with pytest.raises(ModelError, match="torchvision:r3d_18: video and optical-flow models"):
        _loaded("torchvision:r3d_18", tmp_path)


# --- model_kwargs ----------------------------------------------------------------------------------------

def sized_factory(width: int = 4, weights: str | None = "would-download") -> nn.Module:
    """A factory with torchvision's `weights` argument: deepvis must pass weights=None."""
    if weights is not None:
        raise RuntimeError(f"downloading {weights}")
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())


def test_model_kwargs_reach_every_kind_of_builder(tmp_path):
    loaded = _loaded(f"{__name__}:sized_factory", tmp_path, overrides=["model_kwargs={'width': 6}",
                                                                       "input_size=(16, 16)"])
    assert loaded.module[0].out_channels == 6
    loaded = _loaded("torchvision:resnet18", tmp_path, overrides=["model_kwargs={'num_classes': 6}",
                                                                  "input_size=(64, 64)"], weights="random")
    assert loaded.module.fc.out_features == 6 and loaded.labels == [], "ImageNet names do not fit 6 classes"
    with pytest.raises(ModelError, match=r"torchvision:resnet18: building it with model_kwargs \{'colour': 1\}"):
        _loaded("torchvision:resnet18", tmp_path, overrides=["model_kwargs={'colour': 1}"], weights="random")
