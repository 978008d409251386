"""Attribution methods on any architecture: occlusion, SmoothGrad, integrated gradients, Grad-CAM family.

``attribute`` is the one entry point. The objective (what is explained) is:

- with ``unit``: unit ``unit`` of ``layer``, summed over space (``a[:, unit].sum((1, 2))``; the unit
  itself for a 1-D layer), the same as the backprop seed ``one``;
- otherwise the class ``target`` of the model output (logit; ``probability=True`` for the softmax
  probability), each image's top predicted class when ``target`` is None.

Grad-CAM methods also need the layer where the map is computed: option ``cam_layer``, which defaults
to ``layer``. So ``attribute(m, x, "gradcam", target=t, layer="layer4")`` is Grad-CAM of class t at
layer4, and ``attribute(m, x, "gradcam", layer="layer4.1.conv2", unit=7, cam_layer="layer3")`` is
the map at layer3 of unit 7 of layer4.1.conv2.

Options per method (defaults in brackets):

- ``occlusion``: window [16], stride [8], baseline [0.0], perturbations_per_eval [32];
- ``smoothgrad``: samples [16], noise_level [0.15] (fraction of each image's value range) or stdev
  (absolute), base_method ["gradient"] (any backprop method), batch_size, generator;
- ``integrated_gradients``: baseline [0.0], steps [32], quadrature ["gausslegendre"],
  internal_batch_size;
- ``gradcam`` / ``gradcam++``: cam_layer, upsample [True] (bilinear to the input size), and for
  gradcam relu [True];
- ``guided_gradcam``: cam_layer.

Results: (B, C, H, W) for occlusion, smoothgrad, integrated_gradients and guided_gradcam;
(B, 1, H, W) for gradcam and gradcam++ ((B, 1, h, w) with ``upsample=False``).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from deepvis_app.core.attribution.gradcam import gradcam, gradcam_plus_plus, guided_gradcam
from deepvis_app.core.attribution.integrated_gradients import QUADRATURES, integrated_gradients
from deepvis_app.core.attribution.objective import Objective, make_objective
from deepvis_app.core.attribution.occlusion import occlusion
from deepvis_app.core.attribution.smoothgrad import smoothgrad

ATTRIBUTION_METHODS = ("occlusion", "smoothgrad", "integrated_gradients", "gradcam", "gradcam++", "guided_gradcam")
CAM_METHODS = ("gradcam", "gradcam++", "guided_gradcam")

__all__ = ["ATTRIBUTION_METHODS", "CAM_METHODS", "QUADRATURES", "Objective", "attribute", "make_objective",
           "integrated_gradients"]


def attribute(model: nn.Module, x: torch.Tensor, method: str, *, target: int | Sequence[int] | None = None,
              layer: str | None = None, unit: int | Sequence[int] | None = None, **options: Any) -> torch.Tensor:
    """Attribution of the objective (see the module docstring) to the input ``x`` (B, C, H, W)."""
    if method not in ATTRIBUTION_METHODS:
        raise ValueError(f"unknown attribution method '{method}' (choose from {', '.join(ATTRIBUTION_METHODS)})")
    probability = bool(options.pop("probability", False))
    cam_layer = options.pop("cam_layer", None) or layer
    objective = make_objective(model, x, target, layer, unit, probability)
    try:
        return _dispatch(model, x, method, objective, cam_layer, options)
    except TypeError as exc:
        if "unexpected keyword argument" in str(exc):
            raise ValueError(f"{method}: {exc}") from None
        raise


def _dispatch(model: nn.Module, x: torch.Tensor, method: str, objective: Objective, cam_layer: str | None,
              options: dict[str, Any]) -> torch.Tensor:
    if method == "occlusion":
        return occlusion(model, x, objective, **options)
    if method == "smoothgrad":
        return smoothgrad(model, x, objective, **options)
    if method == "integrated_gradients":
        if "quadrature" in options:
            options["quadrature_method"] = options.pop("quadrature")
        return integrated_gradients(model, x, objective, with_delta=False, **options)[0]
    if not cam_layer:
        raise ValueError(f"{method} needs a layer with a spatial output (layer= or cam_layer=)")
    if method == "gradcam":
        return gradcam(model, x, objective, cam_layer, **options)
    if method == "gradcam++":
        return gradcam_plus_plus(model, x, objective, cam_layer, **options)
    return guided_gradcam(model, x, objective, cam_layer, **options)
