"""Input x gradient: x * df/dx, the first-order Taylor term of each input value (Shrikumar et al. 2016,
arXiv:1605.01713; captum's ``InputXGradient``).

For a bias-free ReLU network (positively homogeneous) it sums to f(x) and equals DeepLIFT-rescale
with a zero baseline (every reference activation is then 0). One forward and one backward.
"""

from __future__ import annotations

import torch
from torch import nn

from deepvis_app.core.methods.attribution.objective import Objective, objective_gradient


def input_x_gradient(model: nn.Module, x: torch.Tensor, objective: Objective) -> torch.Tensor:
    """(B, C, H, W) input times the gradient of ``objective``."""
    x = x.detach()
    return x * objective_gradient(model, x, objective, objective.index).input_grad
