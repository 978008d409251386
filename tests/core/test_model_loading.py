"""Models by torchvision name, by module:factory, from the hub cache, and refusal of code-carrying pickles."""

from __future__ import annotations

import collections

import pytest
import torch
import torchvision
from torch import nn

from deepvis_app.core.nn.classify import classify_image
from deepvis_app.core.nn.model import (
    ModelError,
    NonFiniteError,
    load_model,
    load_state_dict,
    resolve_device,
    torchvision_hub_file,
)
from deepvis_app.settings.loader import load_settings


class CodeCarrier:
    """Pickled by value: loading it needs code execution."""

    def __init__(self):
        self.state = collections.OrderedDict(weight=torch.ones(2))


def tiny_factory() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(4, 3))


def _settings(model, tmp_path, **extra):
    return load_settings(model=model, local_file=tmp_path / "none.py", extra=extra).settings


def test_hub_cache_file_is_found(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    expected = torchvision_hub_file("resnet18")
    assert expected.parent == tmp_path / "torch" / "hub" / "checkpoints"
    reference = torchvision.models.resnet18(weights=None)
    expected.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), expected)
    loaded = load_model(_settings("torchvision:resnet18", tmp_path, input_size=(64, 64)))
    torch.testing.assert_close(loaded.module.fc.weight, reference.fc.weight)
    assert loaded.labels[0] == "tench" and loaded.weights_path == expected


def test_missing_hub_file_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with pytest.raises(ModelError) as info:
        load_model(_settings("torchvision:alexnet", tmp_path))
    assert str(tmp_path / "empty" / "hub" / "checkpoints") in str(info.value)
    assert "--weights" in str(info.value)


def test_factory_model_with_weights_file(tmp_path):
    reference = tiny_factory()
    torch.save({"state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}}, tmp_path / "w.pt")
    loaded = load_model(_settings(f"{__name__}:tiny_factory", tmp_path, weights=str(tmp_path / "w.pt"),
                                  input_size=(16, 16)))
    torch.testing.assert_close(loaded.module[0].weight, reference[0].weight)
    assert loaded.module[1].inplace is False, "in-place ReLUs are made out-of-place"


def test_code_carrying_checkpoint_is_refused_unless_trusted(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save(CodeCarrier(), path)
    with pytest.raises(ModelError, match="needs code execution.*--trust-checkpoint"):
        load_state_dict(path)
    with pytest.raises(ModelError, match="not a state dict"):
        load_state_dict(path, trust=True)  # it loads, but holds no tensors


def test_grayscale_non_square_model(tmp_path):
    settings = _settings(f"{__name__}:gray_factory", tmp_path, input_channels=1, input_size=(24, 40),
                         mean=(0.5,), std=(0.25,))
    loaded = load_model(settings)
    rgb = torch.randint(0, 255, (50, 70, 3), dtype=torch.uint8).numpy()
    x = loaded.preprocessor.to_tensor(rgb)
    assert x.shape == (1, 1, 24, 40)
    assert loaded.layer("0").shape == (2, 24, 40)


def gray_factory() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(2, 2))


@pytest.mark.parametrize("payload", [bytes(range(256)) * 4, b"\x80\x02" + bytes(range(200)), b"hello world", b""])
@pytest.mark.parametrize("trust", [False, True])
def test_a_file_that_is_no_checkpoint_is_called_that(tmp_path, payload, trust):
    path = tmp_path / "w.pth"
    path.write_bytes(payload)
    with pytest.raises(ModelError, match=rf"{path}: not a (readable )?torch checkpoint") as info:
        load_state_dict(path, trust=trust)
    assert "needs code execution" not in str(info.value)


def test_weights_folder_is_named(tmp_path):
    with pytest.raises(ModelError, match="is a folder, not a file"):
        load_state_dict(tmp_path)


@pytest.mark.parametrize("device, fragment", [("meta", "holds no numbers"), ("mps", "device 'mps'"),
                                              ("nonsense", "device 'nonsense'")])
def test_unusable_devices_are_model_errors(device, fragment):
    with pytest.raises(ModelError, match=fragment):
        resolve_device(device)
    assert resolve_device("cpu") == torch.device("cpu")


def failing_factory() -> nn.Module:
    raise RuntimeError("no such checkpoint layout")


@pytest.mark.parametrize("spec, fragment", [
    ("os:system", "model 'os:system': calling it failed (TypeError"),
    ("os:sep", "str is not a factory"),
    (f"{__name__}:failing_factory", "calling it failed (RuntimeError: no such checkpoint layout)"),
])
def test_factories_that_fail_are_model_errors(tmp_path, spec, fragment):
    with pytest.raises(ModelError) as info:
        load_model(_settings(spec, tmp_path))
    assert fragment in str(info.value)


def test_layer_and_input_problems_name_the_settings_that_caused_them(tmp_path):
    loaded = load_settings(model=f"{__name__}:tiny_factory", local_file=tmp_path / "none.py",
                           overrides=["input_size=(16, 16)", "layers=('0', '2', '1x')"])
    with pytest.raises(ModelError, match=r"^--set: setting 'layers' names modules the model does not have: "
                                         r"'1x' \(did you mean '1'\?\)"):
        load_model(loaded.settings, origins=loaded.origins)
    loaded = load_settings(model=f"{__name__}:tiny_factory", local_file=tmp_path / "none.py",
                           overrides=["input_size=(16, 16)", "input_channels=1", "mean=(0.5,)", "std=(0.5,)"])
    with pytest.raises(ModelError, match=r"cannot run on a 1x1x16x16 input \(input_channels from --set, "
                                         r"input_size from --set\)"):
        load_model(loaded.settings, origins=loaded.origins)


def test_nan_weights_warn_and_nan_outputs_raise(tmp_path, caplog):
    state = tiny_factory().state_dict()
    state["4.bias"] = torch.tensor([0.0, float("nan"), 0.0])
    torch.save(state, tmp_path / "nan.pt")
    with caplog.at_level("WARNING", logger="deepvis"):
        loaded = load_model(_settings(f"{__name__}:tiny_factory", tmp_path, weights=str(tmp_path / "nan.pt"),
                                      input_size=(16, 16)))
    assert "nan.pt: 1 tensors hold NaN" in caplog.text
    image = torch.zeros(20, 20, 3, dtype=torch.uint8).numpy()
    with pytest.raises(NonFiniteError, match=r"^cat.png: the model's output holds NaN: the weights \(.*nan.pt\)"):
        classify_image(loaded, image, name="cat.png")


def test_unknown_layer_is_a_key_error_and_a_model_error(tmp_path):
    loaded = load_model(_settings(f"{__name__}:tiny_factory", tmp_path, input_size=(16, 16)))
    with pytest.raises(KeyError) as info:
        loaded.layer("nope")
    assert isinstance(info.value, ModelError) and str(info.value).startswith("unknown layer 'nope'")
