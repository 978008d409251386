"""Every small network the tests build, in one place (as captum keeps its `basic_models`).

Tests, the CLI (`--model tests.helpers.models:NAME`) and the window subprocesses load these by
name, so this module imports neither PySide6 nor captum, and torchvision only when asked.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

# --- float64 nets for the backprop and attribution tests -----------------------------------------

INPUT_SHAPE = (2, 3, 16, 16)


class TinyNet(nn.Module):
    """Conv -> ReLU -> MaxPool -> Conv -> ReLU -> AvgPool -> Linear (methods.md's fixture).

    The nets cover what the ReLU rules must reach: ReLU modules (out-of-place and in-place), one ReLU
    module called several times (a residual block, as torchvision ResNet), functional ReLUs (as
    torchvision GoogLeNet) and ReLU6 modules (as EfficientNet-Lite).

    ``relu``: "module", "inplace", "functional" (F.relu(inplace=True) / torch.relu / Tensor.relu_),
    or "relu6"; ``residual`` adds a block that calls its one ReLU module twice.
    """

    def __init__(self, relu: str = "module", residual: bool = False, classes: int = 5):
        super().__init__()
        self.kind = relu
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.act1 = self._activation()
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1)
        self.act2 = self._activation()
        self.residual = residual
        if residual:
            self.res_conv = nn.Conv2d(6, 6, 3, padding=1)
            self.res_relu = nn.ReLU(inplace=relu == "inplace")
        self.avg = nn.AvgPool2d(2)
        self.fc = nn.Linear(6 * 4 * 4, classes)

    def _activation(self) -> nn.Module:
        if self.kind == "relu6":
            return nn.ReLU6()
        return nn.ReLU(inplace=self.kind == "inplace")

    def _act(self, module: nn.Module, x: torch.Tensor, which: int) -> torch.Tensor:
        if self.kind != "functional":
            return module(x)
        if which == 1:
            return F.relu(x, inplace=True)
        torch.relu_(x)  # in-place, return value ignored on purpose
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self._act(self.act1, self.conv1(x), 1))
        x = self._act(self.act2, self.conv2(x), 2)
        if self.residual:
            out = self.res_relu(self.res_conv(x))
            x = self.res_relu(out + x) if self.kind != "functional" else torch.relu(out + x)
        return self.fc(self.avg(x).flatten(1))


def tiny_net(relu: str = "module", residual: bool = False, seed: int = 0) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet(relu, residual).double().eval().requires_grad_(False)


def tiny_input(seed: int = 1, shape: tuple[int, ...] = INPUT_SHAPE) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.randn(shape, dtype=torch.float64)


def module_twin(net: TinyNet) -> TinyNet:
    """The same weights with out-of-place ReLU modules: what captum handles."""
    twin = TinyNet("module", net.residual).double().eval().requires_grad_(False)
    twin.load_state_dict(net.state_dict())
    return twin


class HandNet(nn.Module):
    """x in R^2 (as a 1x2x1x1 image) -> 1x1 conv W1 -> ReLU -> 1x1 conv W2 -> 2 outputs."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, 1, bias=False)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(2, 2, 1, bias=False)
        with torch.no_grad():
            self.conv1.weight.copy_(torch.tensor([[1.0, -1.0], [-2.0, 1.0]]).view(2, 2, 1, 1))
            self.conv2.weight.copy_(torch.tensor([[-2.0, 3.0], [2.0, 3.0]]).view(2, 2, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.relu(self.conv1(x))).flatten(1)


class ChannelSum(nn.Module):
    """The unit objective as a model output, for the oracles: unit ``unit`` of ``layer`` summed over
    space; shape (N,), or (N, 1) with ``keepdim`` (a one-class classifier, for pytorch-grad-cam and
    captum methods that take a target)."""

    def __init__(self, model: nn.Module, layer: str, unit: int, keepdim: bool = False):
        super().__init__()
        self.model, self.layer, self.unit, self.keepdim = model, layer, unit, keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        store = {}
        handle = self.model.get_submodule(self.layer).register_forward_hook(lambda _m, _i, out: store.update(a=out))
        try:
            self.model(x)
        finally:
            handle.remove()
        total = store["a"][:, self.unit].sum((1, 2))
        return total[:, None] if self.keepdim else total


# --- torchvision architectures with seeded random weights -----------------------------------------

def seeded_torchvision(name: str, **kwargs) -> nn.Module:
    """torchvision's `name` (weights=None) with seed-0 weights, float64, eval, no parameter grads."""
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.get_model(name, weights=None, **kwargs).double().eval().requires_grad_(False)


def out_of_place(model: nn.Module) -> nn.Module:
    """A copy whose ReLUs are out-of-place modules (what captum's hooks handle)."""
    from deepvis_app.core.nn.model import prepare_for_visualization

    return prepare_for_visualization(copy.deepcopy(model))


# Small inputs keep the tests fast; alexnet's stem and pools need about 64 px.
TORCHVISION_INPUT_SIZE = {"alexnet": 64, "resnet18": 48, "squeezenet1_1": 48}


def torchvision_case(name: str) -> tuple[str, nn.Module, nn.Module, torch.Tensor]:
    """(name, the model as torchvision builds it, its out-of-place twin, two seeded float64 inputs
    of `TORCHVISION_INPUT_SIZE`) for alexnet, resnet18 and squeezenet1_1."""
    model = seeded_torchvision(name)
    torch.manual_seed(1)
    size = TORCHVISION_INPUT_SIZE[name]
    return name, model, out_of_place(model), torch.randn(2, 3, size, size, dtype=torch.float64)


def randomized_torchvision(name: str, size: int = 64) -> nn.Module:
    """`seeded_torchvision` whose batch norms have random statistics and affine parameters
    (torchvision initializes them to the identity, leaving FullGrad's biases at zero), and whose
    classifier is scaled to logits of standard deviation ~1 on `size` x `size` inputs (mobilenet's
    are ~1e-3 otherwise, which makes Score-CAM's softmax over channels flat)."""
    model = seeded_torchvision(name)
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            count = module.num_features
            module.running_mean.copy_(0.1 * torch.randn(count, generator=generator, dtype=torch.float64))
            module.running_var.copy_(0.5 + torch.rand(count, generator=generator, dtype=torch.float64))
            module.weight.copy_(0.5 + torch.rand(count, generator=generator, dtype=torch.float64))
            module.bias.copy_(0.1 * torch.randn(count, generator=generator, dtype=torch.float64))
    classifier = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        spread = model(torch.randn(2, 3, size, size, generator=generator, dtype=torch.float64)).std()
    classifier.weight.div_(spread)
    classifier.bias.div_(spread)
    return model


# --- float32 models for find-max, crops, the report and the CLI ----------------------------------

FIND_MAX_SIZE = (16, 16)
FIND_MAX_LAYERS = ("conv", "pool", "fc")


class FindMaxNet(nn.Module):
    """conv (spatial), a coarse pool (few positions: many ties), fc (no positions); 16x16 inputs."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.pool = nn.AvgPool2d(8)
        self.fc = nn.Linear(5 * 2 * 2, 4)

    def forward(self, x):
        pooled = self.pool(torch.relu(self.conv(x)))
        return self.fc(pooled.flatten(1))


def find_max_model():
    """`FindMaxNet` loaded as the app loads a model (a `LoadedModel` on the CPU)."""
    from deepvis_app.core.nn.model import LoadedModel, prepare_for_visualization
    from deepvis_app.core.nn.preprocess import Preprocessor
    from deepvis_app.settings.defaults import Settings

    settings = Settings(input_size=FIND_MAX_SIZE)
    return LoadedModel(prepare_for_visualization(FindMaxNet()), settings, torch.device("cpu"), [], [],
                       Preprocessor(settings))


SLOW_UNITS = 6


class SlowNet(nn.Module):
    """A conv of `SLOW_UNITS` units and a head; every forward sleeps 10 ms, so optimizing one unit
    for 30 steps takes a good third of a second (time to kill a run between units)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, SLOW_UNITS, 3, padding=1)
        self.head = nn.Linear(SLOW_UNITS, 4)

    def forward(self, x):
        time.sleep(0.01)
        return self.head(torch.relu(self.conv(x)).mean((2, 3)))


def cli_classifier() -> nn.Module:
    """Conv, ReLU, global pool, 3 classes; default (unseeded) initialization."""
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(4, 3))


def two_conv_net() -> nn.Module:
    """conv -> ReLU -> conv, no head (seed 0): a layer to amplify for the deep-dream tests."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 5, 3, padding=1))
    return net.eval().requires_grad_(False)


# --- classifiers for the session and window tests -------------------------------------------------

WINDOW_CLASSES = [f"class_{i}" for i in range(10)]


def window_classifier() -> nn.Module:
    """10 classes (`WINDOW_CLASSES`), random weights (seed 0), so window tests run in milliseconds."""
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(3, 8, 5, stride=2, padding=2), relu1=nn.ReLU(), pool1=nn.MaxPool2d(2),
        conv2=nn.Conv2d(8, 12, 3, padding=1), relu2=nn.ReLU(), gap=nn.AdaptiveAvgPool2d(1),
        flatten=nn.Flatten(), fc=nn.Linear(12, 10),
    ))


def session_classifier() -> nn.Module:
    """Two conv stages and 10 classes (seed 0) for the Qt-free session tests."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(16, 10))
