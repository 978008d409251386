"""pytorch-grad-cam as an oracle: its maps at a layer's resolution, our maps through its normalization,
and the comparisons (shared by the CAM-family tests and the registry tests)."""

from __future__ import annotations

import copy

import torch
from pytorch_grad_cam import AblationCAM, FullGrad
from pytorch_grad_cam.utils.image import scale_cam_image
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from deepvis_app.core.methods.attribution import cam_perturbation
from deepvis_app.core.nn.model import prepare_for_visualization

FLOAT32 = 1e-6   # the oracle's maps are float32 in [0, 1]


def oracle_twin(model: nn.Module) -> nn.Module:
    """Out-of-place copy; pytorch-grad-cam needs parameters that require grad (it backprops a loss of
    an input that does not)."""
    return prepare_for_visualization(copy.deepcopy(model)).requires_grad_(True)


def layer_size(model: nn.Module, layer: str, x: torch.Tensor) -> tuple[int, int]:
    sizes = []
    handle = model.get_submodule(layer).register_forward_hook(lambda _m, _i, out: sizes.append(out.shape[2:]))
    with torch.no_grad():
        model(x)
    handle.remove()
    return tuple(sizes[0])


def oracle(cam_class, twin: nn.Module, layer: str | None, x: torch.Tensor, targets, at_layer=True,
           **kwargs) -> torch.Tensor:
    """pytorch-grad-cam's (B, 1, h, w) map, at the layer's resolution unless ``at_layer`` is False."""
    cam = cam_class(twin, [twin.get_submodule(layer)] if layer else [])
    if at_layer:
        height, width = layer_size(twin, layer, x)
        cam.get_target_width_height = lambda _x: (width, height)
    if targets is not None and not callable(targets):
        targets = [ClassifierOutputTarget(t) for t in targets]
    return torch.from_numpy(cam(x, targets, **kwargs))[:, None]


def oracle_scaled(ours: torch.Tensor) -> torch.Tensor:
    """Our unnormalized (B, 1, h, w) map through the oracle's two ``scale_cam_image`` passes."""
    return torch.from_numpy(scale_cam_image(scale_cam_image(ours[:, 0].numpy())))[:, None]


def assert_close(ours: torch.Tensor, reference: torch.Tensor, atol: float = FLOAT32) -> None:
    assert reference.max() > 0.2, "the oracle's map is empty: nothing compared"
    torch.testing.assert_close(ours.to(reference.dtype), reference, rtol=0, atol=atol)


def assert_close_up_to_sign(ours: torch.Tensor, reference: torch.Tensor, scale, atol: float = FLOAT32) -> None:
    """Per image, ours equals the oracle with the principal component's sign as we chose it or
    flipped: pytorch-grad-cam keeps whichever sign LAPACK returns (``scale`` maps our raw,
    un-ReLU'd map and a sign to the oracle's reading of it)."""
    for image in range(reference.shape[0]):
        errors = [(scale(sign * ours)[image] - reference[image]).abs().max().item() for sign in (1, -1)]
        assert min(errors) <= atol, errors


class AblationCAMOneRow(AblationCAM):
    """pytorch-grad-cam's AblationCAM with one ablated copy per forward."""

    def __init__(self, model, target_layers):
        super().__init__(model, target_layers, batch_size=1)


def float32_scores(monkeypatch) -> None:
    """Round our objective values to float32 as the oracle does (``np.float32(scores)``) before
    (f(x) - s_k) / f(x): with it the maps agree to float32; without, the oracle's cancellation
    error in f(x) - s_k reaches ~3e-3 where ablating a channel barely moves the logit."""
    exact = cam_perturbation.objective_values
    monkeypatch.setattr(cam_perturbation, "objective_values", lambda *a, **k: exact(*a, **k).float().double())


def full_grad_oracle(twin, x, targets, **kwargs) -> torch.Tensor:
    return oracle(FullGrad, twin, None, x, targets, at_layer=False, **kwargs)
