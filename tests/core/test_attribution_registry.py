"""The CAM family, FullGrad, input x gradient, GradientSHAP, DeepLIFT and the noise tunnel reached by
name through `attribute()` (the registry, `core.methods`, as the CLI and the app reach them), each
against its oracle (pytorch-grad-cam, captum) on two torchvision architectures no other test uses:
mnasnet0_5 (ReLU, batch norm, residual adds) and mobilenet_v2 (ReLU6), seeded random weights with
randomized batch-norm statistics (`tests.helpers.models.randomized_torchvision`), float64, 64 x 64.

How the pytorch-grad-cam oracle is read (scaled twice, compared at the CAM layer's resolution, its
LAPACK sign for eigen maps) is `tests.core.test_attribution_cam_family`'s, whose helpers are used.
"""

from __future__ import annotations

import copy
import dataclasses

import captum.attr._core.deep_lift as captum_deep_lift
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from captum.attr import DeepLift, GradientShap, InputXGradient, LayerGradCam, NoiseTunnel
from pytorch_grad_cam import (
    AblationCAM,
    EigenCAM,
    EigenGradCAM,
    GradCAM,
    GradCAMPlusPlus,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
)
from torch import nn

from deepvis_app.core.methods.registry import METHODS, MapKind, attribute, get_method
from deepvis_app.core.nn.model import prepare_for_visualization
from tests.helpers.cam_oracles import (
    assert_close,
    assert_close_up_to_sign,
    float32_scores,
    full_grad_oracle,
    oracle,
    oracle_scaled,
)
from tests.helpers.models import randomized_torchvision
from tests.helpers.oracles import assert_matches, in_float64

SIZE = 64
# per architecture: (CAM layer, a layer with few channels for the one-forward-per-channel CAMs, classes)
ARCHS = {"mnasnet0_5": ("layers.10", "layers.2", [1, 6]),
         "mobilenet_v2": ("features.13", "features.0", [6, 2])}


@pytest.fixture(scope="module", params=sorted(ARCHS))
def arch(request):
    model = randomized_torchvision(request.param, SIZE)
    x = torch.randn(2, 3, SIZE, SIZE, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    twin = prepare_for_visualization(copy.deepcopy(model)).requires_grad_(True)
    return request.param, model, twin, x


def rescale_relu6_in_captum(monkeypatch) -> None:
    """captum's DeepLift leaves ReLU6 on its plain gradient; ours rescales it: tell captum to as well."""
    monkeypatch.setitem(captum_deep_lift.SUPPORTED_NON_LINEAR, nn.ReLU6, captum_deep_lift.nonlinear)


@pytest.mark.parametrize("name, oracle_class", [("hirescam", HiResCAM), ("xgradcam", XGradCAM),
                                                ("layercam", LayerCAM)])
def test_gradient_cams_by_name_equal_grad_cam(arch, name, oracle_class):
    arch_name, model, twin, x = arch
    layer, _, targets = ARCHS[arch_name]
    ours = attribute(model, x, name, target=targets, layer=layer, upsample=False)
    assert_close(oracle_scaled(ours), oracle(oracle_class, twin, layer, x, targets))


@pytest.mark.parametrize("name, oracle_class, options", [("eigencam", EigenCAM, {}),
                                                         ("eigengradcam", EigenGradCAM, {}),
                                                         ("xgradcam", XGradCAM, {"eigen_smooth": True})])
def test_eigen_maps_by_name_equal_grad_cam_up_to_sign(arch, name, oracle_class, options):
    arch_name, model, twin, x = arch
    layer, _, targets = ARCHS[arch_name]
    raw = attribute(model, x, name, target=targets, layer=layer, upsample=False, relu=False, **options)
    reference = oracle(oracle_class, twin, layer, x, targets, **options)
    assert_close_up_to_sign(raw, reference, lambda m: oracle_scaled(torch.relu(m)))


def test_aug_smooth_by_name_equals_grad_cam(arch):
    arch_name, model, twin, x = arch
    layer, _, targets = ARCHS[arch_name]
    ours = attribute(model, x, "hirescam", target=targets, layer=layer, upsample=False, aug_smooth=True)
    assert_close(ours, oracle(HiResCAM, twin, layer, x, targets, aug_smooth=True))


@pytest.mark.parametrize("name, oracle_class", [("gradcam", GradCAM), ("gradcam++", GradCAMPlusPlus)])
def test_gradcam_and_plus_plus_smoothing_by_name_equal_grad_cam(arch, name, oracle_class):
    """Grad-CAM and Grad-CAM++ take the family's eigen_smooth (up to the component's sign) and aug_smooth."""
    arch_name, model, twin, x = arch
    layer, _, targets = ARCHS[arch_name]
    smoothed = attribute(model, x, name, target=targets, layer=layer, upsample=False, aug_smooth=True)
    assert_close(smoothed, oracle(oracle_class, twin, layer, x, targets, aug_smooth=True))
    if name == "gradcam":
        raw = attribute(model, x, name, target=targets, layer=layer, upsample=False, relu=False, eigen_smooth=True)
        reference = oracle(oracle_class, twin, layer, x, targets, eigen_smooth=True)
        assert_close_up_to_sign(raw, reference, lambda m: oracle_scaled(torch.relu(m)))


def test_scorecam_by_name_equals_grad_cam(arch):
    arch_name, model, twin, x = arch
    _, layer, targets = ARCHS[arch_name]
    ours = attribute(model, x[:1], "scorecam", target=targets[:1], layer=layer, upsample=False, batch_size=9)
    assert_close(oracle_scaled(ours), oracle(ScoreCAM, twin, layer, x[:1], targets[:1]))


def test_ablationcam_by_name_equals_grad_cam(arch, monkeypatch):
    """Both layers follow a ReLU (ablation value 0), so the oracle's batches agree with ours."""
    arch_name, model, twin, x = arch
    _, layer, targets = ARCHS[arch_name]
    float32_scores(monkeypatch)
    ours = attribute(model, x[:1], "ablationcam", target=targets[:1], layer=layer, upsample=False, batch_size=9)
    assert_close(oracle_scaled(ours), oracle(AblationCAM, twin, layer, x[:1], targets[:1]))


@pytest.mark.parametrize("options", [{}, pytest.param({"aug_smooth": True}, marks=pytest.mark.slow)],
                         ids=["plain", "aug_smooth"])
def test_fullgrad_by_name_equals_grad_cam(arch, options):
    arch_name, model, twin, x = arch
    targets = ARCHS[arch_name][2]
    ours = attribute(model, x, "fullgrad", target=targets, **options)
    reference = full_grad_oracle(twin, x, targets, **options)
    assert_close(ours if options else oracle_scaled(ours), reference, atol=1e-5)


def test_input_x_gradient_by_name_equals_captum(arch):
    arch_name, model, twin, x = arch
    targets = ARCHS[arch_name][2]
    reference = InputXGradient(twin).attribute(x.clone(), target=targets)
    assert_matches(attribute(model, x, "input_x_gradient", target=targets), reference)


def test_gradient_shap_by_name_equals_captum(arch):
    arch_name, model, twin, x = arch
    targets = ARCHS[arch_name][2]
    baselines = 0.3 * torch.randn(3, 3, SIZE, SIZE, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    np.random.seed(9)
    torch.manual_seed(9)
    reference = in_float64(lambda: GradientShap(twin).attribute(x, baselines=baselines, n_samples=5, stdevs=0.1,
                                                                target=targets))
    ours = attribute(model, x, "gradient_shap", target=targets, baselines=baselines, samples=5, stdev=0.1,
                     batch_size=4, seed=9)
    assert_matches(ours, reference, rtol=1e-9)


def test_deeplift_by_name_equals_captum(arch, monkeypatch):
    arch_name, model, twin, x = arch
    targets = ARCHS[arch_name][2]
    rescale_relu6_in_captum(monkeypatch)
    baseline = 0.1 * torch.randn(1, 3, SIZE, SIZE, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    reference = DeepLift(twin).attribute(x.clone(), baselines=baseline.expand_as(x), target=targets)
    assert_matches(attribute(model, x, "deeplift", target=targets, baseline=baseline), reference, rtol=1e-9)


@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_noise_tunnel_by_name_equals_captum(arch, nt_type, monkeypatch):
    """Over DeepLIFT (a registered method by name, its default zero baseline); same seed, same batches."""
    arch_name, model, twin, x = arch
    targets = ARCHS[arch_name][2]
    rescale_relu6_in_captum(monkeypatch)
    torch.manual_seed(5)
    reference = in_float64(lambda: NoiseTunnel(DeepLift(twin)).attribute(
        x, nt_type=nt_type, nt_samples=3, nt_samples_batch_size=2, stdevs=0.2, target=targets,
        baselines=torch.zeros_like(x)))
    torch.manual_seed(5)
    ours = attribute(model, x, "noise_tunnel", target=targets, base="deeplift", nt_type=nt_type, samples=3,
                     stdev=0.2, batch_size=2)
    assert_matches(ours, reference, rtol=1e-9)


def test_noise_tunnel_over_a_cam_by_name_is_a_layer_map_equal_to_captum(arch):
    """With a CAM base the noise tunnel needs (and gets) the CAM layer; the mean of upsampled maps is
    the upsampled mean of captum's layer maps."""
    arch_name, model, twin, x = arch
    layer, _, targets = ARCHS[arch_name]
    assert get_method("noise_tunnel").map_kind(get_method("noise_tunnel").make_options({"base": "gradcam"})) \
        is MapKind.LAYER
    torch.manual_seed(5)
    reference = in_float64(lambda: NoiseTunnel(LayerGradCam(twin, twin.get_submodule(layer))).attribute(
        x, nt_type="smoothgrad", nt_samples=3, nt_samples_batch_size=3, stdevs=0.2, target=targets,
        relu_attributions=True))
    torch.manual_seed(5)
    ours = attribute(model, x, "noise_tunnel", target=targets, cam_layer=layer, base="gradcam", samples=3,
                     stdev=0.2, batch_size=3)
    upsampled = F.interpolate(reference, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    assert_matches(ours, upsampled, rtol=1e-9)
    with pytest.raises(ValueError, match="noise_tunnel needs a layer"):
        attribute(model, x, "noise_tunnel", target=targets, base="gradcam")


def test_a_bad_noise_tunnel_base_is_named():
    from deepvis_app.settings.options import OptionsError

    with pytest.raises(OptionsError, match="unknown base method 'nope'"):
        get_method("noise_tunnel").make_options({"base": "nope"})
    with pytest.raises(OptionsError, match="cannot be a noise tunnel"):
        get_method("noise_tunnel").make_options({"base": "noise_tunnel"})


def _tiny_loaded(method_options):
    from deepvis_app.core.nn.model import load_model
    from deepvis_app.settings.loader import load_settings

    def build() -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                             nn.Linear(16, 10))
    settings = load_settings().settings.replace(
        builder=build, model="tiny", model_dir=None, weights=None, labels=None, input_size=(32, 32), layers=None,
        pretty_names=None, output_layer=None, unit_images_on_demand=False, method_options=method_options)
    return load_model(settings)


def test_the_apps_method_cycle_reaches_every_method_and_shows_its_map():
    """The session's `N` cycle (the registry's order) reaches every registered method without an error;
    the back map of each attribution method is `attribute()`'s for the selected unit, with the settings'
    method_options, at the engine's CAM layer (the backprop rules' seeds: tests/core/test_session.py)."""
    from deepvis_app.core.app.session import Session
    from deepvis_app.io.sources import InputManager

    seeded = {m.name: {"seed": 1} for m in METHODS if "seed" in {f.name for f in dataclasses.fields(m.options)}}
    method_options = {**seeded, "noise_tunnel": {"base": "input_x_gradient", "samples": 2, "seed": 1},
                      "gradient_shap": {"samples": 2, "seed": 1}, "scorecam": {"batch_size": 4}}
    loaded = _tiny_loaded(method_options)
    session = Session(loaded, loaded.settings, InputManager(loaded.settings, "sample:chelsea"), sync=True)
    session.start()
    try:
        for key in ("k", "o", "o", "o", "b"):   # the grid of the second conv's ReLU, back pane on
            session.handle_key(key)
        session.process_pending()
        origin = session.engine.names[session.state.backprop_layer]
        first, seen = session.state.back_method, []
        while session.state.back_method != METHODS[-1].name:
            session.handle_key("N")
            session.process_pending()
            name = session.state.back_method
            seen.append(name)
            result = session.latest_result()
            assert result.error is None and result.progress is None, (name, result.error)
            method = get_method(name)
            if method.is_backprop:
                continue
            cam_layer = session.engine.cam_layer(origin) if method.kind is MapKind.LAYER else None
            direct = attribute(loaded.module, session.engine.last_forward.x, name, layer=origin,
                               unit=session.state.backprop_unit, cam_layer=cam_layer,
                               **method_options.get(name, {}))
            np.testing.assert_allclose(session.engine._back.input_grad, direct[0].float().numpy(), rtol=1e-5,
                                       atol=1e-7, err_msg=name)
        assert [first, *seen] == [m.name for m in METHODS]
    finally:
        session.stop()
