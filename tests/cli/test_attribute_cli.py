"""`deepvis attribute` as a real process, on a .npy input, compared with captum on the same tensor."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torchvision
from captum.attr import LayerAttribution, LayerGradCam, NeuronGuidedBackprop, Saliency

from deepvis_app.cli.main import main
from deepvis_app.core.nn.model import prepare_for_visualization
from tests.helpers.oracles import assert_matches


def deepvis(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deepvis_app", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=300)


@pytest.fixture(scope="module")
def resnet(tmp_path_factory):
    """resnet18 with seeded random weights saved as a state dict, and a preprocessed (3, 64, 64) input."""
    folder = tmp_path_factory.mktemp("attribute_cli")
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None)
    torch.save(model.state_dict(), folder / "w.pth")
    x = torch.randn(3, 64, 64).numpy().astype(np.float32)
    np.save(folder / "x.npy", x)
    return folder, prepare_for_visualization(model), torch.from_numpy(x)[None]


def run_npy(folder, name: str, *args: str, process: bool = False) -> np.ndarray:
    """Run the command (in a real process, or in-process through the same entry point) and load --npy."""
    out = folder / f"{name}.npy"
    argv = ["attribute", str(folder / "x.npy"), *args, "--npy", str(out), "-o", str(folder / f"{name}.png"),
            "--model", "torchvision:resnet18", "--weights", str(folder / "w.pth"), "--device", "cpu",
            "--set", "input_size=(64, 64)"]
    if process:
        result = deepvis(*argv)
        assert result.returncode == 0, result.stderr
    else:
        assert main(argv) == 0
    assert (folder / f"{name}.png").stat().st_size > 0
    array = np.load(out)
    assert array.dtype == np.float32
    return array


@pytest.mark.slow
def test_cli_backprop_and_gradcam_equal_captum(resnet):
    folder, model, x = resnet
    gradient = run_npy(folder, "grad", "--method", "gradient", "--layer", "fc", "--unit", "7", "--seed", "one")
    assert gradient.shape == (3, 64, 64)
    assert_matches(torch.from_numpy(gradient), Saliency(model).attribute(x.clone(), target=7, abs=False)[0],
                   rtol=1e-4, floor=1e-6)
    guided = run_npy(folder, "guided", "--method", "guided", "--layer", "layer2.0", "--unit", "5", "--seed", "one",
                     process=True)
    reference = NeuronGuidedBackprop(model, model.layer2[0]).attribute(x.clone(),
                                                                      neuron_selector=lambda a: a[:, 5].sum((1, 2)))
    assert_matches(torch.from_numpy(guided), reference[0], rtol=1e-4, floor=1e-6)
    cam = run_npy(folder, "cam", "--method", "gradcam", "--layer", "layer3", "--target", "7")
    reference = LayerAttribution.interpolate(
        LayerGradCam(model, model.layer3).attribute(x.clone(), target=7, relu_attributions=True), (64, 64), "bilinear")
    assert cam.shape == (1, 64, 64)
    assert_matches(torch.from_numpy(cam), reference[0], rtol=1e-4, floor=1e-6)


def test_cli_rejects_a_bad_npy(resnet, capsys):
    folder, _, _ = resnet
    np.save(folder / "bad.npy", np.zeros((64, 64), dtype=np.float32))
    code = main(["attribute", str(folder / "bad.npy"), "--method", "gradient", "--npy", str(folder / "o.npy"),
                 "--model", "torchvision:resnet18", "--weights", str(folder / "w.pth"), "--device", "cpu",
            "--set", "input_size=(64, 64)"])
    assert code == 2 and "bad.npy: expected a float (C,H,W) array" in capsys.readouterr().err
    assert not (folder / "o.npy").exists()


def _argv(folder, *args: str) -> list[str]:
    return ["attribute", str(folder / "x.npy"), *args, "--model", "torchvision:resnet18", "--weights",
            str(folder / "w.pth"), "--device", "cpu", "--set", "input_size=(64, 64)"]


@pytest.mark.parametrize("args, message", [
    (["--target", "5000"], "--target 5000 is out of range: the model has 1000 classes (0..999)"),
    (["--layer", "layer2.0", "--unit", "128"], "--unit 128 is out of range: layer 'layer2.0' has 128 units (0..127)"),
    (["--layer", "layer3", "--unit", "-1"], "--unit -1 is out of range: layer 'layer3' has 256 units (0..255)"),
])
def test_an_out_of_range_target_or_unit_is_one_line(resnet, capsys, args, message):
    folder, _, _ = resnet
    out = folder / "range.npy"
    code = main(_argv(folder, "--method", "occlusion", *args, "--npy", str(out)))
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == f"deepvis: error: {message}" and not out.exists()


@pytest.mark.parametrize("output, problem", [(".", "is a directory"), ("map.xyz", "unknown extension '.xyz'")])
def test_a_bad_output_path_is_refused_before_the_model_loads(resnet, capsys, monkeypatch, output, problem):
    import deepvis_app.cli.attribute_command as command

    folder, _, _ = resnet
    monkeypatch.setattr(command, "model_from_args", lambda args: pytest.fail("the model was loaded"))
    code = main(_argv(folder, "--method", "occlusion", "-o", str(folder / output)))
    assert code == 2 and problem in capsys.readouterr().err


@pytest.mark.slow
def test_method_flags_come_from_the_registry_and_reach_the_method(resnet):
    from deepvis_app.core.methods.registry import attribute

    folder, model, x = resnet
    ours = run_npy(folder, "occ", "--method", "occlusion", "--target", "7", "--window", "24", "--stride", "20",
                   "--batch", "5", "--baseline", "0.5")
    reference = attribute(model, x, "occlusion", target=7, window=24, stride=20, baseline=0.5)
    np.testing.assert_allclose(ours, reference[0].numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(ours, attribute(model, x, "occlusion", target=7)[0].numpy(), atol=1e-3)


LIGHT = {"samples": 2, "steps": 4, "seed": 1, "window": 32, "stride": 32}


def light_flags(method) -> tuple[list[str], dict]:
    """Fewer samples, steps and windows than the defaults, and a fixed noise seed, for a method with such an
    option: (its flags, its options)."""
    import dataclasses

    fields = {f.name: f for f in dataclasses.fields(method.options)}
    light = {name: value for name, value in LIGHT.items() if name in fields}
    flags = [f"--{(fields[name].metadata.get('flag') or name).replace('_', '-')}" for name in light]
    return [text for flag, value in zip(flags, light.values(), strict=True) for text in (flag, str(value))], light


def test_every_attribution_method_is_a_choice_and_its_flags_reach_it(resnet, capsys):
    """--help lists every registered method; each attribution method (the backprop rules have their
    seeds: test_cli_backprop_and_gradcam_equal_captum) runs from the command line with its flags (small
    layers and few samples) and gives what `attribute()` gives."""
    from deepvis_app.core.methods.registry import METHODS, MapKind, attribute

    with pytest.raises(SystemExit):
        main(["attribute", "--help"])
    help_text = capsys.readouterr().out
    assert all(f"{method.name} (" in help_text for method in METHODS)
    assert all(flag in help_text for flag in ("--nt-type", "--eigen-smooth", "--aug-smooth", "--noise-seed", "--eps"))
    folder, model, x = resnet
    flags = {"scorecam": ["--cam-layer", "layer1", "--batch", "16"], "ablationcam": ["--cam-layer", "layer1"],
             "gradient_shap": ["--samples", "2", "--noise-seed", "3"],
             "noise_tunnel": ["--base", "xgradcam", "--nt-type", "vargrad", "--samples", "2", "--noise-seed", "1",
                              "--cam-layer", "layer3"],
             "hirescam": ["--cam-layer", "layer3", "--eigen-smooth"], "fullgrad": ["--aug-smooth"]}
    options = {"scorecam": {"cam_layer": "layer1", "batch_size": 16}, "ablationcam": {"cam_layer": "layer1"},
               "gradient_shap": {"samples": 2, "seed": 3},
               "noise_tunnel": {"base": "xgradcam", "nt_type": "vargrad", "samples": 2, "seed": 1,
                                "cam_layer": "layer3"},
               "hirescam": {"cam_layer": "layer3", "eigen_smooth": True}, "fullgrad": {"aug_smooth": True}}
    for method in (m for m in METHODS if not m.is_backprop):
        name = method.name
        layer_map = method.kind is MapKind.LAYER and name not in flags
        cam_layer = ["--cam-layer", "layer4"] if layer_map else []
        light, light_options = light_flags(method) if name not in flags else ([], {})
        ours = run_npy(folder, name, "--method", name, "--target", "7", *cam_layer, *flags.get(name, []), *light)
        reference = attribute(model, x, name, target=7, **{"cam_layer": "layer4", **options.get(name, {}),
                                                           **light_options})[0].numpy()
        np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-6 * np.abs(reference).max(), err_msg=name)


def test_faithfulness_and_randomization_check_are_printed_and_in_the_json(resnet, capsys):
    import json

    folder, model, _ = resnet
    argv = _argv(folder, "--method", "input_x_gradient", "--target", "7", "--faithfulness", "--faithfulness-steps",
                 "4", "--randomization-check", "--json")
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    faithfulness = report["faithfulness"]
    assert len(faithfulness["deletion"]) == len(faithfulness["insertion"]) == 5
    assert faithfulness["deletion_auc"] == pytest.approx(
        (sum(faithfulness["deletion"]) - (faithfulness["deletion"][0] + faithfulness["deletion"][-1]) / 2) / 4)
    layers = [row["layer"] for row in report["randomization"]]
    owners = [m for m in model.modules() if any(True for _ in m.parameters(recurse=False))]
    assert layers[0] == "fc" and layers[-1] == "conv1" and len(layers) == len(owners)
    assert all(-1 <= row["rank_correlation"] <= 1 for row in report["randomization"])
    assert main(_argv(folder, "--method", "gradient", "--faithfulness")) == 0
    assert "deletion AUC" in capsys.readouterr().out


def test_cli_unpool_reaches_the_reversed_nets(resnet):
    """--unpool window_centre (a registry option of deconv/salinet/desalinet) changes the map of a network
    with max-pooling exactly as backprop_from_unit's option does."""
    from deepvis_app.core.methods.backprop import backprop_from_unit

    folder, model, x = resnet
    centre = run_npy(folder, "centre", "--method", "salinet", "--layer", "layer1.0", "--unit", "3",
                     "--seed", "one", "--unpool", "window_centre")
    switches = run_npy(folder, "switches", "--method", "salinet", "--layer", "layer1.0", "--unit", "3",
                       "--seed", "one")
    reference = backprop_from_unit(model, x, "layer1.0", 3, method="salinet", seed="one",
                                   unpool="window_centre").input_grad[0]
    assert_matches(torch.from_numpy(centre), reference, rtol=1e-4, floor=1e-6)
    assert not np.allclose(centre, switches)


def test_view_scale_flags_shape_the_picture(resnet, capsys):
    """--value-range / --absolute / --overlay-alpha reach the picture as `back_view` with that `ViewScale`."""
    from deepvis_app.core.imaging.display import ViewScale, back_view
    from deepvis_app.io.images import read_image

    folder, _model, _x = resnet
    signal = run_npy(folder, "scaled", "--method", "gradient", "--target", "3", "--view", "norm",
                     "--value-range", "0", "0.01", "--absolute")
    expected = back_view(signal, "norm", scale=ViewScale((0.0, 0.01), absolute=True))
    np.testing.assert_array_equal(read_image(folder / "scaled.png"), expected)
    assert not np.array_equal(expected, back_view(signal, "norm"))
    assert main(["attribute", str(folder / "x.npy"), "--method", "gradient", "-o", str(folder / "bad.png"),
                 "--value-range", "1", "0", "--model", "torchvision:resnet18", "--weights",
                 str(folder / "w.pth")]) == 2
    assert "--value-range/--overlay-alpha" in capsys.readouterr().err and not (folder / "bad.png").exists()
