"""The default model's ImageNet weights as a dense predictor and as an image encoder.

No segmentation, detection or embedding weights can be downloaded here, yet a user trying those
kinds wants maps that mean something. Both variants load the very state dict of
EfficientNet-Lite0 (`efficientnet_lite.lite0_weights_file`):

- `efficientnet_lite0_dense`: the fully-convolutional classifier of FCN (Long et al., 2015): the
  linear classifier applied at every position of the head's 7 x 7 map, as a 1 x 1 convolution,
  upsampled to the input: ``{"out": (B, 1000, H, W)}``, a (coarse) segmentation into ImageNet classes;
- `efficientnet_lite0_embed`: the pooled head features, ``{"image_embeds": (B, 1280)}``, the
  penultimate-layer embedding used for image retrieval.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from deepvis_app.core.nn.zoo.efficientnet_lite import LITE0_STAGES, EfficientNetLite


class DenseLite0(EfficientNetLite):
    """EfficientNet-Lite0 as a dense (per-position) ImageNet classifier (see the module docstring)."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        features = self._head_act(self._bn1(self._conv_head(self._blocks(self._stem_act(self._bn0(
            self._conv_stem(x)))))))
        logits = F.conv2d(features, self._fc.weight[:, :, None, None], self._fc.bias)
        return {"out": F.interpolate(logits, size=x.shape[-2:], mode="bilinear", align_corners=False)}


class EmbeddingLite0(EfficientNetLite):
    """EfficientNet-Lite0's pooled head features as an image embedding (see the module docstring)."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        features = self._head_act(self._bn1(self._conv_head(self._blocks(self._stem_act(self._bn0(
            self._conv_stem(x)))))))
        return {"image_embeds": self._avg_pooling(features).flatten(1)}


def efficientnet_lite0_dense() -> DenseLite0:
    return DenseLite0(LITE0_STAGES)


def efficientnet_lite0_embed() -> EmbeddingLite0:
    return EmbeddingLite0(LITE0_STAGES)
