"""A tiny convolutional classifier (random weights, fixed seed) so window tests run in milliseconds."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


def build() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(3, 8, 5, stride=2, padding=2), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2),
        conv2=nn.Conv2d(8, 12, 3, padding=1), relu2=nn.ReLU(), gap=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(), fc=nn.Linear(12, 10),
    ))
