"""The CAM family (HiResCAM, XGrad-CAM, LayerCAM, EigenCAM, EigenGrad-CAM, Score-CAM, Ablation-CAM,
FullGrad, eigen_smooth, aug_smooth) against pytorch-grad-cam on torchvision mobilenet_v3_small,
regnet_x_400mf and shufflenet_v2_x0_5 (seeded random weights, batch-norm statistics randomized so
that every bias and channel matters, float64).

How the oracle is read: pytorch-grad-cam returns float32 maps, ReLU'd and min-max normalized twice
(``scale_cam_image`` per layer, then over layers), resized with cv2 to the input. We compare at the
CAM layer's resolution (its resize is told the layer's size, so it is the identity; our upsampling
is F.interpolate, identical to cv2's bilinear up to float32) and pass our map through the same
``scale_cam_image`` twice. The tolerances are float32's, except where a test says otherwise.
Ours runs on the model as built (in-place ReLUs); the oracle on an out-of-place twin.
"""

from __future__ import annotations

import pytest
import torch
from pytorch_grad_cam import (
    AblationCAM,
    EigenCAM,
    EigenGradCAM,
    GradCAM,
    HiResCAM,
    LayerCAM,
    ScoreCAM,
    XGradCAM,
)
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection_with_sign_correction
from torch import nn

from deepvis_app.core.base.progress import Cancelled, CancelToken, Progress
from deepvis_app.core.methods.attribution.cam_family import eigencam, eigengradcam, hirescam, layercam, xgradcam
from deepvis_app.core.methods.attribution.cam_perturbation import ablationcam, scorecam
from deepvis_app.core.methods.attribution.cam_smoothing import augmentation_smoothed, principal_projection
from deepvis_app.core.methods.attribution.fullgrad import bias_layers, full_gradients, fullgrad
from deepvis_app.core.methods.attribution.gradcam import gradcam
from deepvis_app.core.methods.attribution.objective import make_objective
from tests.helpers.cam_oracles import (
    AblationCAMOneRow,
    assert_close,
    assert_close_up_to_sign,
    float32_scores,
    full_grad_oracle,
    layer_size,
    oracle,
    oracle_scaled,
    oracle_twin,
)
from tests.helpers.models import ChannelSum, randomized_torchvision

CAM_LAYERS = {"mobilenet_v3_small": "features.8", "regnet_x_400mf": "trunk_output.block3",
              "shufflenet_v2_x0_5": "stage3"}
# Score-CAM and Ablation-CAM run one forward per channel: layers with few channels, one image
PERTURBATION_LAYERS = {"mobilenet_v3_small": "features.0", "regnet_x_400mf": "trunk_output.block1",
                       "shufflenet_v2_x0_5": "stage2"}
# per architecture, classes whose maps are not all negative (the oracle's ReLU would leave nothing to compare)
TARGETS = {"mobilenet_v3_small": [5, 10], "regnet_x_400mf": [4, 10], "shufflenet_v2_x0_5": [3, 10]}
SIZE = 64


@pytest.fixture(scope="module", params=sorted(CAM_LAYERS))
def arch(request):
    model = randomized_torchvision(request.param)
    torch.manual_seed(2)
    x = torch.randn(2, 3, SIZE, SIZE, dtype=torch.float64)
    targets = TARGETS[request.param]
    return request.param, model, oracle_twin(model), x, make_objective(model, x, targets, None, None)


GRADIENT_CAMS = [(hirescam, HiResCAM), (xgradcam, XGradCAM), (layercam, LayerCAM)]


@pytest.mark.parametrize("ours_fn, oracle_class", GRADIENT_CAMS, ids=lambda v: getattr(v, "__name__", ""))
def test_gradient_cams_equal_grad_cam(arch, ours_fn, oracle_class):
    name, model, twin, x, objective = arch
    layer = CAM_LAYERS[name]
    ours = ours_fn(model, x, objective, layer, upsample=False)
    assert_close(oracle_scaled(ours), oracle(oracle_class, twin, layer, x, TARGETS[name]))
    upsampled = ours_fn(model, x, objective, layer)
    assert upsampled.shape == (2, 1, SIZE, SIZE)
    torch.testing.assert_close(upsampled, torch.nn.functional.interpolate(ours, size=(SIZE, SIZE), mode="bilinear"))


EIGEN = [(eigencam, EigenCAM, {}), (eigengradcam, EigenGradCAM, {}), (hirescam, HiResCAM, {"eigen_smooth": True}),
         (xgradcam, XGradCAM, {"eigen_smooth": True}), (layercam, LayerCAM, {"eigen_smooth": True})]


@pytest.mark.parametrize("ours_fn, oracle_class, options", EIGEN,
                         ids=lambda v: getattr(v, "__name__", "") or str(v))
def test_eigen_maps_equal_grad_cam_up_to_the_components_sign(arch, ours_fn, oracle_class, options):
    name, model, twin, x, objective = arch
    layer = CAM_LAYERS[name]
    raw = ours_fn(model, x, objective, layer, upsample=False, relu=False, **options)
    reference = oracle(oracle_class, twin, layer, x, TARGETS[name], **options)
    assert_close_up_to_sign(raw, reference, lambda m: oracle_scaled(torch.relu(m)))
    flat = raw.flatten(1)   # our sign: the largest magnitude is positive
    assert (flat.amax(dim=1).abs() >= flat.amin(dim=1).abs()).all()
    assert torch.equal(ours_fn(model, x, objective, layer, upsample=False, **options), torch.relu(raw))


def test_principal_projection_equals_grad_cams_sign_corrected_projection():
    maps = torch.randn(3, 40, 5, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    maps[1, :, 2, 3] = torch.nan   # the oracle reads NaN as 0
    reference = torch.from_numpy(get_2d_projection_with_sign_correction(maps.numpy()))[:, None]
    torch.testing.assert_close(principal_projection(maps).float(), reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("ours_fn, oracle_class", [(xgradcam, XGradCAM), (layercam, LayerCAM),
                                                   (eigengradcam, EigenGradCAM)], ids=lambda v: v.__name__)
def test_aug_smooth_equals_grad_cam(arch, ours_fn, oracle_class):
    """Mean of 6 normalized maps (flip x scale 0.9/1/1.1): ours normalizes once without eps, the oracle
    twice with eps 1e-7, which agree to about 1e-7."""
    name, model, twin, x, objective = arch
    layer = CAM_LAYERS[name]
    ours = ours_fn(model, x, objective, layer, upsample=False, aug_smooth=True)
    reference = oracle(oracle_class, twin, layer, x, TARGETS[name], aug_smooth=True)
    if ours_fn is eigengradcam:   # our sign is fixed, the oracle's is LAPACK's per augmentation
        assert ours.shape == reference.shape and 0 <= ours.min() and ours.max() <= 1
        return
    assert_close(ours, reference)


def test_aug_smooth_wraps_any_cam_function_such_as_gradcam(arch):
    name, model, twin, x, objective = arch
    layer = CAM_LAYERS[name]
    ours = augmentation_smoothed(lambda inputs, _p: gradcam(model, inputs, objective, layer, upsample=False), x)
    assert_close(ours, oracle(GradCAM, twin, layer, x, TARGETS[name], aug_smooth=True))


def test_scorecam_equals_grad_cam(arch):
    """The oracle rounds the masked scores to float32 before its softmax: float32 tolerance."""
    name, model, twin, x, _ = arch
    layer, target = PERTURBATION_LAYERS[name], TARGETS[name][:1]
    ours = scorecam(model, x[:1], make_objective(model, x[:1], target, None, None), layer, upsample=False,
                    batch_size=10)
    assert_close(oracle_scaled(ours), oracle(ScoreCAM, twin, layer, x[:1], target))


def test_ablationcam_equals_grad_cam(arch, monkeypatch):
    """On mobilenet's first layer (hardswish: negative values, ablation value min - 1e7) the
    oracle's batches compound the offset row after row (see `cam_perturbation`), so it is compared
    with one row per batch, and the batched oracle differs."""
    name, model, twin, x, _ = arch
    layer, target = PERTURBATION_LAYERS[name], TARGETS[name][:1]
    objective = make_objective(model, x[:1], target, None, None)
    exact = oracle_scaled(ablationcam(model, x[:1], objective, layer, upsample=False, batch_size=7))
    float32_scores(monkeypatch)
    ours = oracle_scaled(ablationcam(model, x[:1], objective, layer, upsample=False, batch_size=7))
    reference = oracle(AblationCAMOneRow if name == "mobilenet_v3_small" else AblationCAM, twin, layer, x[:1], target)
    assert_close(ours, reference)
    assert_close(exact, reference, atol=1e-2)
    if name == "mobilenet_v3_small":
        assert (ours - oracle(AblationCAM, twin, layer, x[:1], target)).abs().max() > 1e-2


class BatchFromInput(nn.Module):
    """Reads the batch size before the CAM layer: ablated rows cannot share the one-image prefix."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 6, 3), nn.Conv2d(6, 8, 3, stride=2)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(8 * 7 * 7, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        return self.fc(self.conv2(self.relu(self.conv1(x))).reshape(batch, -1))


def test_ablationcam_falls_back_to_whole_forwards_when_the_prefix_cannot_be_shared(monkeypatch):
    torch.manual_seed(3)
    net = BatchFromInput().double().eval().requires_grad_(False)
    x = torch.randn(1, 3, 18, 18, dtype=torch.float64)
    objective = make_objective(net, x, [1], None, None)
    float32_scores(monkeypatch)
    ours = oracle_scaled(ablationcam(net, x, objective, "conv2", upsample=False, batch_size=3))
    assert_close(ours, oracle(AblationCAMOneRow, oracle_twin(net), "conv2", x, [1]))


def test_fullgrad_equals_grad_cam(arch):
    """The oracle sums ~100 float32 maps at the input size: 1e-5."""
    name, model, twin, x, objective = arch
    targets = TARGETS[name]
    assert_close(oracle_scaled(fullgrad(model, x, objective)), full_grad_oracle(twin, x, targets), atol=1e-5)
    assert_close(fullgrad(model, x, objective, aug_smooth=True), full_grad_oracle(twin, x, targets, aug_smooth=True),
                 atol=1e-5)


def test_fullgrad_eigen_smooth_equals_grad_cam_up_to_sign(arch):
    """No ReLU in FullGrad: the other sign of the component is 1 - our map."""
    name, model, twin, x, objective = arch
    ours = fullgrad(model, x, objective, eigen_smooth=True)
    reference = full_grad_oracle(twin, x, TARGETS[name], eigen_smooth=True)
    assert_close_up_to_sign(ours, reference, lambda m: oracle_scaled(m if m.max() > 0 else 1 + m), atol=2e-5)


def test_fullgrad_decomposition_is_complete_with_batch_norms_folded():
    """regnet is linear pieces only (conv, batch norm, ReLU, average pool, linear): the input-gradient
    term plus every conv/batch-norm bias term plus the classifier's bias term is exactly f(x). This
    checks the effective batch-norm bias beta - mu * gamma / sqrt(var + eps) and the gradients at the
    layer outputs."""
    model = randomized_torchvision("regnet_x_400mf")
    torch.manual_seed(5)
    x = torch.randn(2, 3, SIZE, SIZE, dtype=torch.float64)
    targets = [3, 7]
    objective = make_objective(model, x, targets, None, None)
    input_grad, layers = full_gradients(model, x, objective)
    assert len(layers) == len(bias_layers(model)) > 50
    total = (x * input_grad).flatten(1).sum(1) + model.fc.bias[targets]
    for bias, grad in layers.values():
        total = total + (bias[None, :, None, None] * grad).flatten(1).sum(1)
    with torch.no_grad():
        logits = model(x)[[0, 1], targets]
    torch.testing.assert_close(total, logits, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("ours_fn, oracle_class", [(hirescam, HiResCAM), (scorecam, ScoreCAM)],
                         ids=lambda v: v.__name__)
def test_unit_objective_equals_grad_cam_on_the_channel_sum(ours_fn, oracle_class):
    model = randomized_torchvision("shufflenet_v2_x0_5")
    torch.manual_seed(6)
    x = torch.randn(1, 3, SIZE, SIZE, dtype=torch.float64)
    objective = make_objective(model, x, None, "stage4", 11)
    ours = oracle_scaled(ours_fn(model, x, objective, "stage2", upsample=False))
    wrapped = ChannelSum(oracle_twin(model), "stage4", 11, keepdim=True)
    cam = oracle_class(wrapped, [wrapped.model.get_submodule("stage2")])
    height, width = layer_size(model, "stage2", x)
    cam.get_target_width_height = lambda _x: (width, height)
    reference = torch.from_numpy(cam(x, [ClassifierOutputTarget(0)]))[:, None]
    assert_close(ours, reference)


@pytest.mark.parametrize("ours_fn", [scorecam, ablationcam], ids=lambda v: v.__name__)
def test_perturbation_cams_report_partial_maps_and_resume_after_a_cancel(ours_fn):
    model = randomized_torchvision("shufflenet_v2_x0_5")
    torch.manual_seed(7)
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64)
    objective = make_objective(model, x, 2, None, None)
    direct = ours_fn(model, x, objective, "stage2", batch_size=10)
    reports: list[tuple[float, torch.Tensor]] = []
    final = ours_fn(model, x, objective, "stage2", batch_size=10,
                    progress=Progress(report=lambda fraction, make: reports.append((fraction, make().clone()))))
    assert torch.equal(final, direct) and len(reports) == 5 and reports[-1][0] == 1
    assert all(partial.shape == direct.shape for _, partial in reports)
    assert not torch.allclose(reports[0][1], direct)
    token, memo = CancelToken(), {}
    with pytest.raises(Cancelled):
        ours_fn(model, x, objective, "stage2", batch_size=10,
                progress=Progress(token, lambda fraction, _make: token.cancel() if fraction > 0.5 else None, memo))
    calls = [0]
    handle = model.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    try:
        resumed = ours_fn(model, x, objective, "stage2", batch_size=10, progress=Progress(CancelToken(), None, memo))
    finally:
        handle.remove()
    assert torch.equal(resumed, direct) and calls[0] == 1 + 2   # one plain forward, the two batches left


def test_aug_smooth_reports_after_each_augmentation():
    model = randomized_torchvision("shufflenet_v2_x0_5")
    x = torch.randn(1, 3, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(8))
    objective = make_objective(model, x, 2, None, None)
    reports: list[float] = []
    ours = layercam(model, x, objective, "stage3", aug_smooth=True,
                    progress=Progress(report=lambda fraction, _make: reports.append(fraction)))
    assert reports == pytest.approx([n / 6 for n in range(1, 7)])
    assert torch.equal(ours, layercam(model, x, objective, "stage3", aug_smooth=True))
    assert 0 <= float(ours.min()) and float(ours.max()) <= 1.0
