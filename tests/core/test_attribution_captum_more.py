"""Input x gradient, the noise tunnel, GradientSHAP and DeepLIFT against captum on torchvision
mobilenet_v3_small, regnet_x_400mf and shufflenet_v2_x0_5 (seeded random weights, float64; built by
`tests.helpers.models.randomized_torchvision`). Ours runs on the model as built (in-place activations); captum
on an out-of-place twin (its hooks break on in-place modules).

Randomness: captum draws noise with the global torch generator in the default dtype (set to
float64 here) and GradientSHAP's baselines and alphas with numpy's global state; we seed both the
same way before each run, so the draws are identical and the tolerances are float64's.
"""

from __future__ import annotations

import copy

import captum.attr._core.deep_lift as captum_deep_lift
import numpy as np
import pytest
import torch
from captum.attr import DeepLift, GradientShap, InputXGradient, IntegratedGradients, LayerGradCam, NoiseTunnel, Saliency
from torch import nn

from deepvis_app.core.base.progress import Cancelled, CancelToken, Progress
from deepvis_app.core.methods.attribution.deeplift import deeplift
from deepvis_app.core.methods.attribution.gradcam import gradcam
from deepvis_app.core.methods.attribution.gradient_shap import gradient_shap
from deepvis_app.core.methods.attribution.gradient_x_input import input_x_gradient
from deepvis_app.core.methods.attribution.objective import make_objective
from deepvis_app.core.methods.registry import noise_tunnel
from deepvis_app.core.nn.model import prepare_for_visualization
from tests.helpers.models import ChannelSum, randomized_torchvision
from tests.helpers.oracles import assert_matches, in_float64

TARGETS = [3, 7]
NAMES = ["mobilenet_v3_small", "regnet_x_400mf", "shufflenet_v2_x0_5"]
CAM_LAYERS = {"mobilenet_v3_small": "features.8", "regnet_x_400mf": "trunk_output.block3",
              "shufflenet_v2_x0_5": "stage3"}


@pytest.fixture(scope="module", params=NAMES)
def arch(request):
    model = randomized_torchvision(request.param)
    torch.manual_seed(2)
    x = torch.randn(2, 3, 48, 48, dtype=torch.float64)
    return request.param, model, prepare_for_visualization(copy.deepcopy(model)), x, \
        make_objective(model, x, TARGETS, None, None)


def test_input_x_gradient_equals_captum(arch):
    _, model, twin, x, objective = arch
    assert_matches(input_x_gradient(model, x, objective), InputXGradient(twin).attribute(x.clone(), target=TARGETS))


def test_input_x_gradient_of_a_unit_equals_captum_on_the_channel_sum(arch):
    name, model, twin, x, _ = arch
    layer = CAM_LAYERS[name]
    objective = make_objective(model, x, None, layer, 2)
    reference = InputXGradient(ChannelSum(twin, layer, 2, keepdim=True)).attribute(x.clone(), target=0)
    assert_matches(input_x_gradient(model, x, objective), reference)


NT_TYPES = ["smoothgrad", "smoothgrad_sq", "vargrad"]


def _base(label: str, twin: nn.Module, cam_layer: str):
    """(captum explainer, its kwargs, our base, our base options, our cam_layer)."""
    if label == "gradient":
        return Saliency(twin), {"abs": False}, "gradient", None, None
    if label == "input_x_gradient":
        return InputXGradient(twin), {}, input_x_gradient, None, None
    if label == "integrated_gradients":
        return (IntegratedGradients(twin), {"n_steps": 3, "method": "riemann_trapezoid"}, "integrated_gradients",
                {"steps": 3, "quadrature": "riemann_trapezoid", "internal_batch_size": 2}, None)
    return (LayerGradCam(twin, twin.get_submodule(cam_layer)), {"relu_attributions": True}, gradcam,
            {"upsample": False}, cam_layer)


def assert_noise_tunnel_matches(name, model, twin, x, objective, nt_type, label):
    """Same seed, same batches of samples (5 samples in batches of 2, 2 and 1): the same noise."""
    explainer, kwargs, base, base_options, cam_layer = _base(label, twin, CAM_LAYERS[name])
    torch.manual_seed(5)
    reference = in_float64(lambda: NoiseTunnel(explainer).attribute(
        x, nt_type=nt_type, nt_samples=5, nt_samples_batch_size=2, stdevs=0.2, target=TARGETS, **kwargs))
    torch.manual_seed(5)
    ours = noise_tunnel(model, x, objective, base=base, nt_type=nt_type, samples=5, stdev=0.2, batch_size=2,
                        cam_layer=cam_layer, base_options=base_options)
    # captum rounds integrated gradients' quadrature weights (1/3, 1/6) to float32
    assert_matches(ours, reference, rtol=1e-6 if label == "integrated_gradients" else 1e-9)


@pytest.mark.parametrize("nt_type", NT_TYPES)
@pytest.mark.parametrize("label", ["gradient", "input_x_gradient"])
def test_noise_tunnel_equals_captum(arch, nt_type, label):
    assert_noise_tunnel_matches(*arch, nt_type, label)


@pytest.fixture(scope="module")
def shufflenet():
    model = randomized_torchvision("shufflenet_v2_x0_5")
    x = torch.randn(2, 3, 48, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    return ("shufflenet_v2_x0_5", model, prepare_for_visualization(copy.deepcopy(model)), x,
            make_objective(model, x, TARGETS, None, None))


@pytest.mark.parametrize("nt_type", NT_TYPES)
@pytest.mark.parametrize("label", ["integrated_gradients", "gradcam"])
def test_noise_tunnel_over_slower_and_layer_methods_equals_captum(shufflenet, nt_type, label):
    """A registered method by name with its options, and a CAM (captum's LayerGradCam) at its layer."""
    assert_noise_tunnel_matches(*shufflenet, nt_type, label)


def test_noise_tunnel_reports_and_resumes_with_the_same_noise():
    model = randomized_torchvision("shufflenet_v2_x0_5")
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    objective = make_objective(model, x, 2, None, None)
    options = {"base": "gradient", "nt_type": "vargrad", "samples": 6, "batch_size": 2, "seed": 4}
    direct = noise_tunnel(model, x, objective, **options)
    reports: list[float] = []
    assert torch.equal(direct, noise_tunnel(model, x, objective, **options, progress=Progress(
        report=lambda fraction, _make: reports.append(fraction))))
    assert reports == pytest.approx([1 / 3, 2 / 3, 1])
    token, memo = CancelToken(), {}
    with pytest.raises(Cancelled):
        noise_tunnel(model, x, objective, **options,
                     progress=Progress(token, lambda fraction, _m: token.cancel() if fraction > 0.5 else None, memo))
    resumed = noise_tunnel(model, x, objective, **options, progress=Progress(CancelToken(), None, memo))
    assert torch.equal(direct, resumed)


@pytest.mark.parametrize("stdev", [0.0, 0.1])
@pytest.mark.parametrize("seeded", [False, True], ids=["global_generators", "seed_option"])
def test_gradient_shap_equals_captum(arch, stdev, seeded):
    _, model, twin, x, objective = arch
    baselines = 0.3 * torch.randn(4, 3, 48, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    np.random.seed(9)
    torch.manual_seed(9)
    reference = in_float64(lambda: GradientShap(twin).attribute(x, baselines=baselines, n_samples=6, stdevs=stdev,
                                                                target=TARGETS))
    np.random.seed(9)
    torch.manual_seed(9)
    ours = gradient_shap(model, x, objective, baselines=baselines, samples=6, stdev=stdev, batch_size=5,
                         seed=9 if seeded else None)
    assert_matches(ours, reference, rtol=1e-9)


def test_gradient_shap_with_one_constant_baseline_on_a_linear_model_is_exact():
    """Linear f: every sample gives (x - b) * w, whatever the alphas: attributions sum to f(x) - f(b)."""
    linear = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).double().eval()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    objective = make_objective(linear, x, [0, 2], None, None)
    ours = gradient_shap(linear, x, objective, baselines=0.5, samples=4, seed=1)
    with torch.no_grad():
        gap = linear(x)[[0, 1], [0, 2]] - linear(torch.full_like(x, 0.5))[[0, 1], [0, 2]]
    torch.testing.assert_close(ours.flatten(1).sum(1), gap, rtol=1e-10, atol=1e-12)


def _deeplift_pair(model, twin, x, baseline):
    objective = make_objective(model, x, TARGETS, None, None)
    ours = deeplift(model, x, objective, baseline=baseline)
    reference, delta = DeepLift(twin).attribute(x.clone(), baselines=baseline.expand_as(x), target=TARGETS,
                                                return_convergence_delta=True)
    with torch.no_grad():
        gap = model(x)[[0, 1], TARGETS] - model(baseline.expand_as(x))[[0, 1], TARGETS]
    return ours, reference, delta, gap


BASELINE = 0.1 * torch.randn(1, 3, 48, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(8))


def test_deeplift_equals_captum_on_relu_networks():
    """regnet (conv, batch norm, ReLU, residual adds): every nonlinearity is one captum rescales."""
    model = randomized_torchvision("regnet_x_400mf")
    x = torch.randn(2, 3, 48, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    ours, reference, _, gap = _deeplift_pair(model, prepare_for_visualization(copy.deepcopy(model)), x, BASELINE)
    assert_matches(ours, reference, rtol=1e-9)
    torch.testing.assert_close(ours.flatten(1).sum(1), gap, rtol=1e-9, atol=1e-15)   # summation to delta


def test_deeplift_rescales_hardswish_and_hardsigmoid_as_captum_would(monkeypatch):
    """captum leaves Hardswish/Hardsigmoid (mobilenet v3) on their plain gradient; told to rescale them
    (its own ``nonlinear`` rule, added to ``SUPPORTED_NON_LINEAR``) it agrees with ours. The
    squeeze-excitation products keep their gradient in both, so both sums miss f(x) - f(x') alike."""
    model = randomized_torchvision("mobilenet_v3_small")
    twin = prepare_for_visualization(copy.deepcopy(model))
    x = torch.randn(2, 3, 48, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    plain_reference = DeepLift(twin).attribute(x.clone(), baselines=BASELINE.expand_as(x), target=TARGETS)
    for module_type in (nn.Hardswish, nn.Hardsigmoid):
        monkeypatch.setitem(captum_deep_lift.SUPPORTED_NON_LINEAR, module_type, captum_deep_lift.nonlinear)
    ours, reference, delta, gap = _deeplift_pair(model, twin, x, BASELINE)
    assert_matches(ours, reference, rtol=1e-9)
    torch.testing.assert_close(ours.flatten(1).sum(1) - gap, delta, rtol=1e-7, atol=1e-9 * gap.abs().max().item())
    assert (plain_reference - reference).abs().max() > 1e-3 * reference.abs().max()


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 2)])
def test_deeplift_max_pool_rule_against_captums_on_a_max_pool_alone(kernel, stride):
    """captum's ``maxpool`` rule, where captum's two bugs below cannot act: one image (its fallback
    reads row 0) and no nonlinearity next to the pool; several channels, ties at 0. With
    non-overlapping windows the two agree. With overlapping ones, where two windows pick the same
    input, captum's ``max_unpool2d`` keeps one of the two parts and loses the other (its
    convergence delta shows it); we add them, and the sum is f(x) - f(x') exactly."""
    torch.manual_seed(12)
    net = nn.Sequential(nn.MaxPool2d(kernel, stride=stride), nn.Flatten(), nn.LazyLinear(3)).double().eval()
    x = torch.randn(1, 3, 9, 9, dtype=torch.float64).relu()
    net(x)
    baseline = (0.1 * torch.randn(1, 3, 9, 9, dtype=torch.float64)).relu()
    ours = deeplift(net, x, make_objective(net, x, [2], None, None), baseline=baseline)
    reference, delta = DeepLift(net).attribute(x.clone(), baselines=baseline, target=[2],
                                               return_convergence_delta=True)
    with torch.no_grad():
        gap = net(x)[0, 2] - net(baseline)[0, 2]
    torch.testing.assert_close(ours.sum(), gap, rtol=1e-12, atol=1e-14)
    if kernel == stride:
        assert_matches(ours, reference, rtol=1e-9)
    else:
        assert delta.abs().item() > 1e-6 and (ours - reference).abs().max() > 1e-3


def rescale_by_hand(conv: nn.Conv2d, linear: nn.Linear, x: torch.Tensor, base: torch.Tensor, target: int):
    """DeepLIFT-rescale of conv -> ReLU -> 2x2 max-pool -> linear, written out for one image: the
    linear's weights are the pooled multipliers; each window's o - o' goes to the input's argmax
    (max(o, o') - o') and the baseline's (o - max(o, o')), divided by the difference there (the
    gradient where it is 0); the ReLU scales by (a - a') / (z - z'); the conv's transpose maps to x."""
    z, z_ref = conv(x)[0].detach(), conv(base)[0].detach()
    a, a_ref = z.relu(), z_ref.relu()
    channels, height, width = a.shape
    pooled = linear.weight[target].detach().view(channels, height // 2, width // 2)
    contributions = torch.zeros_like(a)
    plain = torch.zeros_like(a)
    for c in range(channels):
        for i in range(height // 2):
            for j in range(width // 2):
                window, window_ref = a[c, 2 * i:2 * i + 2, 2 * j:2 * j + 2], a_ref[c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
                top = torch.maximum(window.max(), window_ref.max())
                k, k_ref = divmod(int(window.argmax()), 2), divmod(int(window_ref.argmax()), 2)
                contributions[c, 2 * i + k[0], 2 * j + k[1]] += (top - window_ref.max()) * pooled[c, i, j]
                contributions[c, 2 * i + k_ref[0], 2 * j + k_ref[1]] += (window.max() - top) * pooled[c, i, j]
                plain[c, 2 * i + k[0], 2 * j + k[1]] += pooled[c, i, j]
    delta = a - a_ref
    pool_multiplier = torch.where(delta.abs() < 1e-10, plain, contributions / delta)
    relu_multiplier = torch.where((z - z_ref).abs() < 1e-10, (z > 0).double(), delta / (z - z_ref))
    multiplier = torch.nn.functional.conv_transpose2d((relu_multiplier * pool_multiplier)[None], conv.weight)
    return (x - base) * multiplier


def test_deeplift_relu_into_max_pool_equals_the_rule_by_hand_where_captum_does_not():
    """captum 0.9 gets adjacent nonlinear modules wrong (a stale output gradient: captum issue #1104,
    fixed upstream by PR #1843 after this release) and its max-pool fallback reads batch row 0's
    gradient for every row (issue #1276). ReLU -> MaxPool is the common case: the rule by hand is the
    oracle there."""
    torch.manual_seed(13)
    conv, linear = nn.Conv2d(3, 4, 3).double(), nn.Linear(4 * 3 * 3, 3).double()
    net = nn.Sequential(conv, nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), linear).eval().requires_grad_(False)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    base = 0.1 * torch.randn(1, 3, 8, 8, dtype=torch.float64)
    ours = deeplift(net, x, make_objective(net, x, [0, 2], None, None), baseline=base)
    for image, target in enumerate([0, 2]):
        assert_matches(ours[image:image + 1], rescale_by_hand(conv, linear, x[image:image + 1], base, target),
                       rtol=1e-9)
    captum = DeepLift(net).attribute(x.clone(), baselines=base.expand_as(x), target=[0, 2])
    assert (captum - ours).abs().max() > 1e-3 * ours.abs().max(), "captum fixed #1104? compare with it directly"


def test_deeplift_on_shufflenet_sums_to_the_output_difference():
    """shufflenet: ReLU -> overlapping max-pool (3x3, stride 2) in the stem, where captum's bugs above
    act (its convergence delta is far from 0). Ours keeps summation to delta exactly: where
    overlapping windows pick the same input, their parts are added (captum's max_unpool2d would keep
    one)."""
    model = randomized_torchvision("shufflenet_v2_x0_5")
    x = torch.randn(2, 3, 48, 48, dtype=torch.float64, generator=torch.Generator().manual_seed(10))
    ours, _, delta, gap = _deeplift_pair(model, prepare_for_visualization(copy.deepcopy(model)), x, BASELINE)
    torch.testing.assert_close(ours.flatten(1).sum(1), gap, rtol=1e-9, atol=1e-9 * gap.abs().max().item())
    assert (delta.abs() > 1e-3 * gap.abs()).any()


class Functional(nn.Module):
    """Nonlinearities called as functions, tensor methods and in place: captum's hooks see none.
    A linear layer sits between any two of them (captum #1104, above)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2, self.conv3 = nn.Conv2d(3, 6, 3), nn.Conv2d(6, 6, 1), nn.Conv2d(6, 8, 3)
        self.conv4, self.conv5 = nn.Conv2d(8, 8, 1), nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.max_pool2d(self.conv2(torch.nn.functional.relu(self.conv1(x), inplace=True)), 2)
        x = torch.sigmoid(self.conv4(self.conv3(x).tanh()))
        return self.fc(torch.nn.functional.hardswish(self.conv5(x)).mean((2, 3)))


class Modules(Functional):
    """The same network with module nonlinearities, as captum needs (Hardswish added to its table)."""

    def __init__(self):
        super().__init__()
        self.relu, self.pool, self.tanh, self.sigmoid, self.hardswish = (
            nn.ReLU(), nn.MaxPool2d(2), nn.Tanh(), nn.Sigmoid(), nn.Hardswish())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.conv2(self.relu(self.conv1(x))))
        x = self.sigmoid(self.conv4(self.tanh(self.conv3(x))))
        return self.fc(self.hardswish(self.conv5(x)).mean((2, 3)))


def test_deeplift_reaches_functional_and_in_place_nonlinearities(monkeypatch):
    monkeypatch.setitem(captum_deep_lift.SUPPORTED_NON_LINEAR, nn.Hardswish, captum_deep_lift.nonlinear)
    torch.manual_seed(11)
    net = Functional().double().eval()
    twin = Modules().double().eval()
    twin.load_state_dict(net.state_dict())
    x = torch.randn(2, 3, 12, 12, dtype=torch.float64)
    baseline = torch.full((1, 3, 12, 12), 0.2, dtype=torch.float64)
    ours = deeplift(net, x, make_objective(net, x, [1, 3], None, None), baseline=baseline)
    reference = DeepLift(twin).attribute(x.clone(), baselines=baseline.expand_as(x), target=[1, 3])
    assert_matches(ours, reference, rtol=1e-9)
    missed = DeepLift(net).attribute(x.clone(), baselines=baseline.expand_as(x), target=[1, 3])
    assert (missed - reference).abs().max() > 1e-3 * reference.abs().max()   # captum's hooks miss them
