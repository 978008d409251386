"""What is maximized: per-image objectives read off one layer's activation.

Row b of a batch belongs to unit `units[b]`, so `objective(...).sum()` has a gradient that
reaches each image only through its own unit: a batch of units optimizes like separate runs.

* channel: mean of the unit's feature map (lucent `channel`); the unit itself for 2-D layers.
* neuron: the unit at the centre of the map (lucent `neuron`, the original's `--push-spatial`
  default); the unit itself for 2-D layers.
* amplify: cnn-vis layer amplification restricted to the unit's map: a surrogate whose
  gradient with respect to each activation a is l1*|a| + l2*clip(a, -c, c), the diff cnn-vis
  injects (it amplifies what is already active).
* layer amplification (whole layer) and cnn-vis `amplify_neuron` (the sum of one channel) serve
  `deepvis dream`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from deepvis_app.core.unitvis.optimize.config import OBJECTIVES


@dataclass(frozen=True)
class AmplifyWeights:
    """cnn-vis --amplify_l1_weight, --amplify_l2_weight, --amplify_grad_clip."""

    l1: float = 1.0
    l2: float = 1.0
    clip: float = 5.0


def amplify_surrogate(activation: torch.Tensor, weights: AmplifyWeights = AmplifyWeights()) -> torch.Tensor:
    """Elementwise value whose gradient is exactly cnn-vis's amplification diff (negated)."""
    diff = weights.l1 * activation.abs() + weights.l2 * activation.clamp(-weights.clip, weights.clip)
    return diff.detach() * activation


def unit_maps(activation: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
    """activation[b, units[b]] for every row b: N x H x W (or N for 2-D layers)."""
    return activation[torch.arange(activation.shape[0], device=activation.device), units]


def unit_objective(kind: str, activation: torch.Tensor, units: torch.Tensor,
                   weights: AmplifyWeights = AmplifyWeights()) -> torch.Tensor:
    """Per-image objective (N,) for unit units[b] of row b."""
    maps = unit_maps(activation, units)
    if kind not in OBJECTIVES:
        raise ValueError(f"unknown objective '{kind}' (choices: {', '.join(OBJECTIVES)})")
    if maps.dim() == 1:
        return amplify_surrogate(maps, weights) if kind == "amplify" else maps
    if kind == "channel":
        return maps.flatten(1).mean(1)
    if kind == "neuron":
        return maps[:, maps.shape[1] // 2, maps.shape[2] // 2]
    return amplify_surrogate(maps, weights).flatten(1).sum(1)


def layer_amplification(activation: torch.Tensor, weights: AmplifyWeights = AmplifyWeights()) -> torch.Tensor:
    """cnn-vis amplify_layer over the whole layer, per image (N,)."""
    return amplify_surrogate(activation, weights).flatten(1).sum(1)


def channel_sum(activation: torch.Tensor, unit: int) -> torch.Tensor:
    """cnn-vis amplify_neuron: diff -1 on the whole channel, i.e. the channel's sum, per image (N,)."""
    return activation[:, unit].reshape(activation.shape[0], -1).sum(1)

