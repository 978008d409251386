"""Receptive fields: known values on AlexNet / VGG16, gradient support on ResNet18 and EfficientNet."""

from __future__ import annotations

import pytest
import torch
import torchvision

from deepvis_app.core.nn.model import prepare_for_visualization
from deepvis_app.core.unitvis.findmax.receptive_field import measure_receptive_field, receptive_field


def _net(name: str):
    return prepare_for_visualization(torchvision.models.get_model(name, weights=None))


def _meta_net(name: str):
    """Shapes only (no weights allocated): the composition needs no real numbers."""
    with torch.device("meta"):
        return prepare_for_visualization(torchvision.models.get_model(name, weights=None))


def _hand_composed(layers: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """(size, jump, start) by the textbook recursion r += (k-1)*j; start -= p*j; j *= s."""
    size, jump, start = 1, 1, 0
    for kernel, stride, pad in layers:
        size, start, jump = size + (kernel - 1) * jump, start - pad * jump, jump * stride
    return size, jump, start


def _first(value) -> int:
    return value if isinstance(value, int) else value[0]


def _torchvision_layers(features, upto: int) -> list[tuple[int, int, int]]:
    """(kernel, stride, padding) of every conv / pool module of a Sequential, read off the modules."""
    found = []
    for module in list(features)[:upto + 1]:
        if hasattr(module, "kernel_size"):
            found.append((_first(module.kernel_size), _first(module.stride), _first(module.padding)))
    return found


@pytest.mark.parametrize("name, layer, index, size, known", [
    ("alexnet", "features.10", 10, 227, 163),   # conv5: Caffe's 163 px at 227 input
    ("alexnet", "features.12", 12, 227, 195),   # pool5
    ("vgg16", "features.29", 29, 224, 196),     # relu5_3
    ("vgg16", "features.30", 30, 224, 212),     # pool5
])
def test_known_receptive_fields(name, layer, index, size, known):
    net = _meta_net(name)
    rf = receptive_field(net, (3, size, size), layer, device="meta")
    hand_size, hand_jump, hand_start = _hand_composed(_torchvision_layers(net.features, index))
    assert hand_size == known
    assert rf.size == (known, known)
    assert (rf.rows.jump, rf.rows.start) == (hand_jump, hand_start)
    assert rf.box((2, 3)) == (hand_start + 2 * hand_jump, hand_start + 3 * hand_jump,
                              hand_start + 2 * hand_jump + known, hand_start + 3 * hand_jump + known)


def test_classifier_sees_the_whole_image():
    rf = receptive_field(_meta_net("alexnet"), (3, 227, 227), "classifier.6", device="meta")
    assert rf.whole_image and rf.size == (227, 227) and rf.box(None) == (0, 0, 227, 227)


def _clipped(box, height, width):
    top, left, bottom, right = box
    return max(top, 0), max(left, 0), min(bottom, height), min(right, width)


@pytest.mark.parametrize("layer, positions", [
    ("maxpool", [(0, 0), (7, 9), (15, 15)]),
    ("layer1.1", [(0, 0), (8, 4)]),
    ("layer2.0", [(0, 0), (3, 5), (7, 7)]),   # stride-2 block with a 1x1 downsample skip
])
def test_resnet18_matches_gradient_support(layer, positions):
    net = _net("resnet18")
    rf = receptive_field(net, (3, 64, 64), layer)
    for position in positions:
        measured = measure_receptive_field(net, (3, 64, 64), layer, position, trials=4)
        assert measured == _clipped(rf.box(position), 64, 64), (layer, position)


def test_efficientnet_same_padding_matches_gradient_support():
    from deepvis_app.core.nn.zoo.efficientnet_lite import efficientnet_lite0

    net = prepare_for_visualization(efficientnet_lite0())
    rf = receptive_field(net, (3, 64, 64), "_blocks.3")
    for position in [(0, 0), (3, 5), (7, 7)]:
        measured = measure_receptive_field(net, (3, 64, 64), "_blocks.3", position, trials=2)
        assert measured == _clipped(rf.box(position), 64, 64), position
