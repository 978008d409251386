"""Comparisons against the oracles (captum, pytorch-grad-cam's formulas) shared by the backprop and
attribution tests, and the check that a call left no hook or torch-function mode behind."""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    LayerActivation,
    LayerGradientXActivation,
    NeuronDeconvolution,
    NeuronGradient,
    NeuronGuidedBackprop,
    Saliency,
)
from torch import nn


def assert_matches(ours: torch.Tensor, reference: torch.Tensor, rtol: float = 1e-6, floor: float = 1e-9) -> None:
    """Elementwise within rtol, with an absolute floor of ``floor`` times the signal's (non-zero) scale."""
    scale = reference.abs().max().item()
    assert scale > 0, "reference signal is all zero: nothing compared"
    torch.testing.assert_close(ours.to(reference.dtype), reference, rtol=rtol, atol=floor * scale)


def assert_matches_float32(ours: torch.Tensor, reference: torch.Tensor) -> None:
    """captum's Occlusion accumulates in float32 even for float64 inputs: compare at float32 precision."""
    assert reference.dtype == torch.float32
    assert_matches(ours, reference, rtol=1e-6, floor=1e-6)


def assert_nothing_left_active(model: nn.Module) -> None:
    """No torch-function mode on the stack, no hook on any module."""
    assert torch.overrides._get_current_function_mode_stack() == []
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks and not module._backward_hooks


OUTPUT_REFERENCE = {"gradient": lambda m: (Saliency(m), {"abs": False}), "deconv": lambda m: (Deconvolution(m), {}),
                    "guided": lambda m: (GuidedBackprop(m), {}), "desalinet": lambda m: (GuidedBackprop(m), {})}
NEURON_REFERENCE = {"gradient": NeuronGradient, "deconv": NeuronDeconvolution, "guided": NeuronGuidedBackprop,
                    "desalinet": NeuronGuidedBackprop}


def captum_output(model: nn.Module, x: torch.Tensor, method: str, target) -> torch.Tensor:
    explainer, kwargs = OUTPUT_REFERENCE[method](model)
    return explainer.attribute(x.clone(), target=target, **kwargs)


def captum_neuron(model: nn.Module, x: torch.Tensor, method: str, layer: str, unit: int) -> torch.Tensor:
    explainer = NEURON_REFERENCE[method](model, model.get_submodule(layer))
    return explainer.attribute(x.clone(), neuron_selector=lambda a: a[:, unit].sum((1, 2)))


def gradcam_plus_plus_reference(model: nn.Module, layer: str, x: torch.Tensor, target) -> torch.Tensor:
    """pytorch-grad-cam's Grad-CAM++ formula in numpy, on captum's layer gradient and activation."""
    module = model.get_submodule(layer)
    grads = LayerGradientXActivation(model, module, multiply_by_inputs=False).attribute(x, target=target).numpy()
    acts = LayerActivation(model, module).attribute(x).numpy()
    g2, g3 = grads ** 2, grads ** 3
    aij = g2 / (2 * g2 + acts.sum(axis=(2, 3))[:, :, None, None] * g3 + 1e-6)
    aij = np.where(grads != 0, aij, 0)
    weights = (np.maximum(grads, 0) * aij).sum(axis=(2, 3))
    cam = np.maximum((weights[:, :, None, None] * acts).sum(axis=1, keepdims=True), 0)
    return torch.from_numpy(cam)


def in_float64(run):
    """captum draws its noise in the default dtype."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return run()
    finally:
        torch.set_default_dtype(default)
