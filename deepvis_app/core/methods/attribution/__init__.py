"""Attribution methods on any architecture: occlusion, SmoothGrad, integrated gradients, the Grad-CAM
family (Grad-CAM, Grad-CAM++, HiResCAM, XGrad-CAM, LayerCAM, EigenCAM, EigenGrad-CAM, Score-CAM,
Ablation-CAM), FullGrad, input x gradient, GradientSHAP, DeepLIFT and the noise tunnel over any of
them; and checks of a map: deletion / insertion curves (`faithfulness`) and the parameter
randomization test (`sanity`).

``attribute`` in the method registry (`deepvis_app.core.methods.registry`) is the one entry point.
The objective (what is explained) is:

- with ``unit``: unit ``unit`` of ``layer``, summed over space (``a[:, unit].sum((1, 2))``; the unit
  itself for a 1-D layer), the same as the backprop seed ``one``;
- otherwise the class ``target`` of the model output (logit; ``probability=True`` for the softmax
  probability), each image's top predicted class when ``target`` is None.

Grad-CAM methods also need the layer where the map is computed: option ``cam_layer``, which defaults
to ``layer``. So ``attribute(m, x, "gradcam", target=t, layer="layer4")`` is Grad-CAM of class t at
layer4, and ``attribute(m, x, "gradcam", layer="layer4.1.conv2", unit=7, cam_layer="layer3")`` is
the map at layer3 of unit 7 of layer4.1.conv2.

Each method's options, with their defaults, are the fields of its options dataclass (next to the
method: `OcclusionOptions`, `SmoothGradOptions`, `IntegratedGradientsOptions`, `GradCamOptions`,
...); `deepvis attribute --help` lists them.

Results: (B, C, H, W) for the input methods (occlusion, smoothgrad, integrated_gradients,
guided_gradcam, input_x_gradient, gradient_shap, deeplift); (B, 1, H, W) for the CAMs ((B, 1, h, w)
with ``upsample=False``) and fullgrad; a noise tunnel's is its base method's.
"""

from __future__ import annotations

from deepvis_app.core.methods.attribution.integrated_gradients import QUADRATURES, integrated_gradients
from deepvis_app.core.methods.attribution.objective import Objective, make_objective

__all__ = ["QUADRATURES", "Objective", "integrated_gradients", "make_objective"]
