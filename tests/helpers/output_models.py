"""Networks whose output is not a (B, K) class score: segmentation, detection, embedding, two inputs.

Tests load them as the app does (`load_kind`), and the CLI by name (``--model
tests.helpers.output_models:NAME``). Every builder seeds its initialisation, so two calls give the
same weights: the oracle runs on a second, bare copy (no deepvis hooks on it).
"""

from __future__ import annotations

import torch
from torch import nn


def segmentation() -> nn.Module:
    """torchvision's LR-ASPP MobileNetV3 (5 classes, random weights): output ``{"out": (B, 5, H, W)}``."""
    from torchvision.models.segmentation import lraspp_mobilenet_v3_large

    torch.manual_seed(0)
    return lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=5)


def detection() -> nn.Module:
    """torchvision's Faster R-CNN MobileNetV3 320 FPN (4 classes, random weights, every box kept, 128 px)."""
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

    torch.manual_seed(0)
    return fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, num_classes=4,
                                                 box_score_thresh=0.0, min_size=128, max_size=128)


class Encoder(nn.Module):
    """A small image encoder: (B, 3, H, W) -> a (B, 16) embedding (CLIP / DINO-style, in miniature)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(8, 12, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.proj = nn.Linear(12, 16)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.features(x)
        return {"last_hidden_state": features.flatten(2).transpose(1, 2),
                "image_embeds": self.proj(self.pool(features).flatten(1))}


def embedding() -> nn.Module:
    torch.manual_seed(0)
    return Encoder()


class Siamese(nn.Module):
    """``forward(first, second)``: one shared tower, a score from both embeddings (a change detector)."""

    def __init__(self) -> None:
        super().__init__()
        self.tower = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.head = nn.Linear(64, 3)

    def forward(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.tower(first), self.tower(second)], dim=1))


def siamese() -> nn.Module:
    torch.manual_seed(0)
    return Siamese()


class SideBySide(nn.Module):
    """A network of one input holding both images side by side (the original's concat_along_width)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d((2, 4)),
                                  nn.Flatten(), nn.Linear(48, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def side_by_side() -> nn.Module:
    torch.manual_seed(0)
    return SideBySide()


def stacked_channels() -> nn.Module:
    """A 6-channel network: both images' channels stacked (the original's concat_channelwise)."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(24, 3))


def load_kind(builder, input_size=(64, 64), **changes):
    """``builder``'s network loaded as the app loads a model, with settings ``changes``."""
    from deepvis_app.core.nn.model import load_model
    from deepvis_app.settings.loader import load_settings

    settings = load_settings().settings.replace(
        builder=builder, model=builder.__name__, model_dir=None, weights=None, labels=None, input_size=input_size,
        layers=None, pretty_names=None, output_layer=None, unit_images_on_demand=False, **changes)
    return load_model(settings)
