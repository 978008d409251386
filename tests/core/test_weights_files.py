"""Weights files and the one rule for missing weights: safetensors for every builder, torch's `_metadata`
kept (MNASNet), special files refused without hanging, code-carrying pickles named, random weights only
on request (and then said), a did-you-mean for layer names, Swin V2 stages as unit grids.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading

import pytest
import torch
import torchvision
from safetensors.torch import save_file
from torch import nn

from deepvis_app.core.nn import tokens
from deepvis_app.core.nn.hooks import UnknownLayer, capture_activations, find_module
from deepvis_app.core.nn.model import LayerNotFoundError, ModelError, load_model, load_state_dict
from deepvis_app.settings.loader import load_settings


def named_factory() -> nn.Module:
    return nn.Sequential(collections.OrderedDict(
        conv1=nn.Conv2d(3, 4, 3, padding=1), relu1=nn.ReLU(), pool=nn.AdaptiveAvgPool2d(1), flat=nn.Flatten(),
        fc=nn.Linear(4, 3)))


def _loaded(model, tmp_path, overrides=(), **extra):
    settings = load_settings(model=model, local_file=tmp_path / "none.py", overrides=overrides, extra=extra)
    return load_model(settings.settings, origins=settings.origins)


# --- safetensors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["w.safetensors", "w.bin"])   # found by its suffix or by its header
def test_safetensors_weights_load_for_a_factory(tmp_path, name):
    torch.manual_seed(1)
    reference = named_factory()
    save_file(reference.state_dict(), str(tmp_path / name))
    loaded = _loaded(f"{__name__}:named_factory", tmp_path, overrides=["input_size=(8, 8)"],
                     weights=str(tmp_path / name))
    torch.testing.assert_close(loaded.module.fc.weight, reference.fc.weight, rtol=0, atol=0)


def test_a_damaged_safetensors_file_is_called_that(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file(named_factory().state_dict(), str(path))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ModelError, match=r"w.safetensors: not a readable safetensors file"):
        load_state_dict(path)


# --- torch's _metadata (MNASNet) ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnasnet():
    torch.manual_seed(2)
    return torchvision.models.mnasnet0_5(weights=None).eval()


@pytest.mark.parametrize("wrapped", [False, True])   # True: saved from a DataParallel-style `module.` wrapper
def test_mnasnet_state_dict_keeps_its_metadata(tmp_path, mnasnet, wrapped):
    holder = nn.Module()
    holder.module = mnasnet
    torch.save((holder if wrapped else mnasnet).state_dict(), tmp_path / "mnas.pth")
    assert load_state_dict(tmp_path / "mnas.pth")._metadata == mnasnet.state_dict()._metadata
    loaded = _loaded("torchvision:mnasnet0_5", tmp_path, overrides=["input_size=(64, 64)"],
                     weights=str(tmp_path / "mnas.pth"))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(loaded.module(x), mnasnet(x), rtol=0, atol=0)


def test_mnasnet_from_safetensors_takes_the_built_layout(tmp_path, mnasnet):
    save_file(mnasnet.state_dict(), str(tmp_path / "mnas.safetensors"))
    loaded = _loaded("torchvision:mnasnet0_5", tmp_path, overrides=["input_size=(64, 64)"],
                     weights=str(tmp_path / "mnas.safetensors"))
    torch.testing.assert_close(loaded.module.classifier[1].weight, mnasnet.classifier[1].weight)


def test_segmentation_weights_with_an_aux_head_load_and_the_head_is_dropped(tmp_path):
    """torchvision's DeepLabV3 weights hold `aux_classifier.*`: they fit, and inference leaves the head out."""
    torch.manual_seed(5)
    reference = torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(
        weights=None, weights_backbone=None, aux_loss=True).eval()
    torch.save(reference.state_dict(), tmp_path / "deeplab.pth")
    loaded = _loaded("torchvision:deeplabv3_mobilenet_v3_large", tmp_path, overrides=["input_size=(64, 64)"],
                     weights=str(tmp_path / "deeplab.pth"))
    assert loaded.module.aux_classifier is None
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(6))
    heads = []   # the segmentation head's output, whatever wraps the model's output
    for model in (loaded.module, reference):
        handle = model.get_submodule("classifier").register_forward_hook(lambda _m, _i, out: heads.append(out))
        with torch.no_grad():
            model(x)
        handle.remove()
    torch.testing.assert_close(heads[0], heads[1], rtol=0, atol=0)


def test_a_checkpoint_without_batch_counters_loads(tmp_path):
    """FrozenBatchNorm2d checkpoints (torchvision detection weights) have no num_batches_tracked."""
    torch.manual_seed(7)
    reference = torchvision.models.resnet18(weights=None).eval()
    state = {k: v for k, v in reference.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "frozen_bn.pth")
    loaded = _loaded("torchvision:resnet18", tmp_path, overrides=["input_size=(64, 64)"],
                     weights=str(tmp_path / "frozen_bn.pth"))
    torch.testing.assert_close(loaded.module.fc.weight, reference.fc.weight, rtol=0, atol=0)


# --- files that are not checkpoints --------------------------------------------------------------------

def test_a_pickled_function_is_called_code_execution(tmp_path):
    torch.save({"hook": os.system}, tmp_path / "evil.pt")     # torch says "unsupported GLOBAL posix.system"
    with pytest.raises(ModelError, match="needs code execution.*--trust-checkpoint"):
        load_state_dict(tmp_path / "evil.pt")


def test_dev_zero_is_not_a_regular_file():
    with pytest.raises(ModelError, match="weights file /dev/zero is not a regular file"):
        load_state_dict(__import__("pathlib").Path("/dev/zero"))


def test_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "w.pth"
    os.mkfifo(fifo)
    found: list[BaseException] = []
    worker = threading.Thread(target=lambda: found.append(pytest.raises(ModelError, load_state_dict, fifo).value),
                              daemon=True)
    worker.start()
    worker.join(timeout=60)   # opening a FIFO with no writer blocks forever: a deadline, not a race
    assert not worker.is_alive(), "reading the FIFO blocked"
    assert "is not a regular file" in str(found[0])


# --- one rule for missing weights -----------------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["torchvision:resnet18", "torchvision.models:resnet18"])
def test_a_missing_default_weights_file_is_refused_whatever_the_spelling(tmp_path, monkeypatch, spelling):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with pytest.raises(ModelError) as info:
        _loaded(spelling, tmp_path, overrides=["input_size=(64, 64)"])
    assert str(tmp_path / "empty" / "hub" / "checkpoints" / "resnet18-") in str(info.value)
    assert "--weights random" in str(info.value)


def test_random_weights_on_request_are_said_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    with caplog.at_level("WARNING", logger="deepvis"):
        loaded = _loaded("torchvision.models:resnet18", tmp_path, overrides=["input_size=(64, 64)"], weights="random")
    assert loaded.weights_path is None and len(loaded.notes) == 1 and "random weights" in loaded.notes[0]
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == loaded.notes


def factory_with_default_weights() -> nn.Module:
    return named_factory()


factory_with_default_weights.default_weights = lambda: "/nonexistent/deepvis/default.pth"  # type: ignore[attr-defined]


def test_a_factorys_missing_default_weights_follow_the_same_rule(tmp_path):
    spec = f"{__name__}:factory_with_default_weights"
    with pytest.raises(ModelError, match=r"/nonexistent/deepvis/default.pth does not exist.*--weights random"):
        _loaded(spec, tmp_path, overrides=["input_size=(8, 8)"])
    loaded = _loaded(spec, tmp_path, overrides=["input_size=(8, 8)"], weights="random")
    assert len(loaded.notes) == 1 and "random weights" in loaded.notes[0]


def test_a_factory_without_known_weights_runs_quietly(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="deepvis"):
        loaded = _loaded(f"{__name__}:named_factory", tmp_path, overrides=["input_size=(8, 8)"])
    assert loaded.notes == [] and "random weights" not in caplog.text


@pytest.mark.slow
def test_the_command_line_prints_one_warning_line_for_random_weights(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "deepvis_app", "layers", "--model", "torchvision:resnet18", "--weights", "random",
         "--set", "input_size=(64, 64)", "--device", "cpu"],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, TORCH_HOME=str(tmp_path), DEEPVIS_SETTINGS_LOCAL=""))
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        "deepvis: WARNING: model 'torchvision:resnet18' runs on random weights: its units and classes mean nothing "
        "(pass --weights FILE for trained ones)"]


# --- layer names ---------------------------------------------------------------------------------------

def test_a_mistyped_layer_gets_a_close_name(tmp_path):
    loaded = _loaded(f"{__name__}:named_factory", tmp_path, overrides=["input_size=(8, 8)"])
    with pytest.raises(LayerNotFoundError, match=r"^unknown layer 'conv_1' \(did you mean 'conv1'\?\)"):
        loaded.layer("conv_1")
    with pytest.raises(LayerNotFoundError, match=r"^unknown layer 'zzz' \(layers: "):
        loaded.layer("zzz")
    with pytest.raises(UnknownLayer, match=r"^the model has no module named 'relu_1' \(did you mean 'relu1'\?\)$"):
        find_module(loaded.module, "relu_1")   # what attribute and find-max look layers up with


# --- Swin V2 ---------------------------------------------------------------------------------------------

def test_swin_v2_stages_are_unit_grids_equal_to_the_hand_reshape():
    torch.manual_seed(4)
    model = torchvision.models.swin_v2_t(weights=None).eval()
    assert tokens.has_attention(model), "ShiftedWindowAttentionV2 makes it a token model"
    stages = [f"features.{i}" for i in (1, 3, 5, 7)]
    raw: dict[str, torch.Tensor] = {}
    handles = [model.get_submodule(name).register_forward_hook(
        lambda _m, _i, out, name=name: raw.__setitem__(name, out)) for name in stages]
    try:
        _, taps = capture_activations(model, torch.randn(1, 3, 64, 64), stages)
    finally:
        for handle in handles:
            handle.remove()
    for name in stages:
        torch.testing.assert_close(taps[name], raw[name].permute(0, 3, 1, 2), rtol=0, atol=0)
    assert taps["features.7"].shape == (1, 768, 2, 2)
