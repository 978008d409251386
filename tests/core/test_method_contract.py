"""The contract every registered method keeps, checked by iterating over the registry (`METHODS`), so a
method added there is tested without anyone listing it (`test_a_registered_dummy_method_is_checked`
shows a new entry gets every check, and a broken one fails them).

On three tiny networks (32 x 32 inputs, a batch of two with different classes): a CNN with max-pooling,
a ResNet-like net (batch norm, a reused ReLU module, a functional ReLU after a residual add) and a
vision transformer (class-token output over patch tokens), every method with its default options (but
fewer samples and steps, `LIGHT`):

- returns a finite (B, 1 or C, H, W) map at the input, in the input's dtype;
- is deterministic: the same map twice, whatever torch's global generator holds (with its ``seed``
  option set, where it has one; another seed gives another map);
- when it takes a `Progress` (`Method.progressive`): a cancelled token stops it (`Cancelled`), and its
  reports (a one-pass map makes none) run up to 1 with partial maps of the final map's shape;
- its default picture (`Method.view`, `Method.clip`) shows something: it differs from the picture of a
  zero map, unless the method says by a notice that the network is not one it applies to (rollout on
  a CNN, rule-based methods without ReLUs); every method applies to one of the three;
- its options all have help, are keyword-only parameters of its ``run``, and `deepvis attribute --help`
  names the method and each option's flag.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from deepvis_app.core.base.notices import Notices, routed_to
from deepvis_app.core.base.progress import Cancelled, CancelToken, Progress
from deepvis_app.core.imaging.display import BACK_VIEWS, ViewScale, back_view
from deepvis_app.core.methods import names, registry
from deepvis_app.core.methods.attribution import make_objective
from deepvis_app.core.methods.registry import METHOD_NAMES, MapKind, Method

SIZE = 32
TARGETS = [1, 6]


class ResNetish(nn.Module):
    """A stem, one residual block (batch norm, the stem's ReLU module reused, F.relu after the add), a head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.conv1, self.bn1 = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu(self.stem(x)))
        out = F.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + x)
        return self.head(out.mean(dim=(2, 3)))


def max_pool_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(16, 10))


def resnetish() -> nn.Module:
    net = ResNetish()
    for bn in (net.bn1, net.bn2):   # eval-mode statistics that are not the identity
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 1.5)
    return net


def tiny_vit() -> nn.Module:
    vit = torchvision.models.VisionTransformer(image_size=SIZE, patch_size=8, num_layers=2, num_heads=2,
                                               hidden_dim=16, mlp_dim=32, num_classes=10)
    nn.init.normal_(vit.heads.head.weight, std=0.5)   # torchvision starts it at zero: every gradient would be 0
    return vit


# name: (builder, the CAM layer for maps at a layer)
ARCHS = {"maxpool_cnn": (max_pool_cnn, "4"), "resnetish": (resnetish, "conv2"),
         "vit": (tiny_vit, "encoder.layers.encoder_layer_0")}   # not the last block (only its class token counts)


@dataclass(frozen=True)
class Case:
    """One architecture, built once: the network, a batch of two inputs and the CAM layer."""

    name: str
    model: nn.Module
    x: torch.Tensor
    cam_layer: str


@pytest.fixture(scope="module", params=sorted(ARCHS))
def case(request) -> Case:
    builder, cam_layer = ARCHS[request.param]
    torch.manual_seed(0)
    model = builder().eval()
    x = torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    return Case(request.param, model, x, cam_layer)


def methods() -> tuple[Method, ...]:
    """The registry's table, read when called (the dummy test patches it)."""
    return registry.METHODS


# fewer samples and steps than the defaults, for any method with such an option (the contract is the same)
LIGHT = {"samples": 2, "steps": 4}


def run(method: Method, case: Case, options=None, progress: Progress | None = None) -> tuple[torch.Tensor, Notices]:
    """The method's map of the targets on ``case`` (default options but `LIGHT`), with the notices it posted."""
    objective = make_objective(case.model, case.x, TARGETS, None, None)
    fields = {f.name for f in dataclasses.fields(method.options)}
    chosen = method.make_options({**{k: v for k, v in LIGHT.items() if k in fields}, **(options or {})})
    cam_layer = case.cam_layer if method.map_kind(chosen) is MapKind.LAYER else None
    with routed_to(Notices()) as notices:
        if progress is None:
            result = method.compute(case.model, case.x, objective, chosen, cam_layer=cam_layer)
        else:
            result = method.compute(case.model, case.x, objective, chosen, cam_layer=cam_layer, progress=progress)
    return result.detach(), notices


def seed_options(method: Method, seed: int) -> dict:
    return {"seed": seed} if "seed" in {f.name for f in dataclasses.fields(method.options)} else {}


def check_shape_and_dtype(method: Method, case: Case) -> None:
    result, _ = run(method, case)
    batch, channels, height, width = case.x.shape
    assert result.dim() == 4 and result.shape[0] == batch and result.shape[2:] == (height, width), \
        (method.name, tuple(result.shape))
    assert result.shape[1] in (1, channels), (method.name, tuple(result.shape))
    assert result.dtype == case.x.dtype and torch.isfinite(result).all(), method.name


def check_deterministic(method: Method, case: Case) -> None:
    torch.manual_seed(1)
    first, _ = run(method, case, seed_options(method, 3))
    torch.manual_seed(2)
    again, _ = run(method, case, seed_options(method, 3))
    torch.testing.assert_close(first, again, rtol=0, atol=0, msg=f"{method.name} is not deterministic")
    if seed_options(method, 4):
        other, _ = run(method, case, seed_options(method, 4))
        assert not torch.equal(first, other), f"{method.name}'s seed does not change its noise"


def check_progress(method: Method, case: Case) -> None:
    if not method.progressive:
        return
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run(method, case, progress=Progress(token))
    reports: list[tuple[float, tuple[int, ...]]] = []
    final, _ = run(method, case, progress=Progress(
        report=lambda fraction, partial: reports.append((fraction, tuple(partial().shape)))))
    fractions = [fraction for fraction, _ in reports]
    assert fractions == sorted(fractions) and all(0 < fraction <= 1 + 1e-9 for fraction in fractions), \
        (method.name, fractions)
    assert not reports or fractions[-1] == pytest.approx(1.0), (method.name, fractions)
    assert {shape for _, shape in reports} <= {tuple(final.shape)}, method.name


def picture(method: Method, signal: np.ndarray, image: np.ndarray) -> np.ndarray:
    return back_view(signal, method.view, image=image, scale=ViewScale(clip_percent=method.clip))


def shows_something(method: Method, case: Case) -> bool | None:
    """Whether the method's default picture differs from a zero map's; None when it posted a notice
    (it says the network is not one it applies to)."""
    result, notices = run(method, case, seed_options(method, 3))
    if notices.current() is not None:
        return None
    signal = result[0].numpy()
    image = (255 * (case.x[0] - case.x[0].min()) / (case.x[0].max() - case.x[0].min())).byte().permute(1, 2, 0)
    shown = picture(method, signal, image.numpy())
    return bool(np.ptp(shown) > 0 and not np.array_equal(shown, picture(method, np.zeros_like(signal),
                                                                         image.numpy())))


def check_options_reach_the_cli(method: Method, help_text: str) -> None:
    assert method.help and method.view in BACK_VIEWS, method.name
    assert f"{method.name} (" in help_text, f"{method.name} is not in deepvis attribute --help"
    for field in dataclasses.fields(method.options):
        assert field.metadata.get("help"), f"{method.name}'s option {field.name} has no help"
        flag = "--" + (field.metadata.get("flag") or field.name).replace("_", "-")
        assert flag in help_text, f"{method.name}'s option {field.name} has no flag {flag} in --help"


def attribute_help() -> str:
    from deepvis_app.cli.main import build_parser

    parser = build_parser(only="attribute")
    return parser._subparsers._group_actions[0].choices["attribute"].format_help()


def names_of(table) -> list[str]:
    return [method.name for method in table]


@pytest.mark.parametrize("name", names_of(methods()))
def test_every_method_returns_a_finite_map_at_the_input_in_its_dtype(case, name):
    check_shape_and_dtype(registry.get_method(name), case)


@pytest.mark.parametrize("name", names_of(methods()))
def test_every_method_is_deterministic_given_its_seed(case, name):
    check_deterministic(registry.get_method(name), case)


@pytest.mark.parametrize("name", [m.name for m in methods() if m.progressive])
def test_every_progressive_method_is_cancellable_and_reports_partial_maps(case, name):
    check_progress(registry.get_method(name), case)


@pytest.mark.parametrize("name", names_of(methods()))
def test_every_methods_default_picture_shows_something_where_it_applies(case, name):
    assert shows_something(registry.get_method(name), case) is not False


@pytest.mark.parametrize("name", names_of(methods()))
def test_every_method_applies_to_one_of_the_architectures(name, request):
    """No method posts a "not applicable" notice on all three (it would escape the picture check)."""
    applies = []
    for arch in sorted(ARCHS):
        builder, cam_layer = ARCHS[arch]
        torch.manual_seed(0)
        case = Case(arch, builder().eval(), torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1)),
                    cam_layer)
        _, notices = run(registry.get_method(name), case, seed_options(registry.get_method(name), 3))
        applies.append(notices.current() is None)
        if applies[-1]:
            return
    pytest.fail(f"{name} posts a notice on every architecture: {sorted(ARCHS)}")


@pytest.mark.parametrize("name", names_of(methods()))
def test_every_method_takes_its_options_by_keyword_only(name):
    """``run(model, x, objective[, cam_layer], *, options...)``: no option can be passed by position."""
    import inspect

    method = registry.get_method(name)
    parameters = inspect.signature(method.run).parameters
    for field in dataclasses.fields(method.options):
        assert parameters[field.name].kind is inspect.Parameter.KEYWORD_ONLY, (name, field.name)
    if method.progressive:
        assert parameters["progress"].kind is inspect.Parameter.KEYWORD_ONLY, name


def test_every_methods_options_have_help_and_reach_the_cli():
    help_text = attribute_help()
    for method in methods():
        check_options_reach_the_cli(method, help_text)


def test_the_torch_free_names_are_the_registrys():
    """`deepvis keys` names the method cycle from `core.methods.names`: it must be the registry's, in order."""
    assert names.METHOD_NAMES == METHOD_NAMES


@dataclass(frozen=True)
class DummyOptions:
    """Options of the dummy method."""

    gain: float = dataclasses.field(default=2.0, metadata={"help": "how much of the input", "flag": "dummy_gain"})


def dummy(model: nn.Module, x: torch.Tensor, objective, *, gain: float = 2.0) -> torch.Tensor:
    return gain * x


def blank(model: nn.Module, x: torch.Tensor, objective) -> torch.Tensor:
    return torch.zeros_like(x)


def wrong_shape(model: nn.Module, x: torch.Tensor, objective) -> torch.Tensor:
    return x[:, :, ::2]


def noisy(model: nn.Module, x: torch.Tensor, objective) -> torch.Tensor:
    return torch.rand_like(x)


def register(monkeypatch, *extra: Method) -> None:
    """Add ``extra`` to the registry's table, as a new line in `METHODS` would (and the CLI's view of it)."""
    import deepvis_app.cli.method_flags as method_flags

    table = registry.METHODS + extra
    monkeypatch.setattr(registry, "METHODS", table)
    monkeypatch.setattr(registry, "_BY_NAME", {m.name: m for m in table})
    monkeypatch.setattr(method_flags, "METHODS", table)


def test_a_registered_dummy_method_is_checked(monkeypatch):
    """A method added to the registry's table gets every check; one that breaks the contract fails it."""
    good = Method("dummy", dummy, MapKind.INPUT, DummyOptions, help="the input, scaled")
    bad = {"blank": Method("blank", blank, MapKind.INPUT, help="nothing"),
           "wrong_shape": Method("wrong_shape", wrong_shape, MapKind.INPUT, help="half the rows"),
           "noisy": Method("noisy", noisy, MapKind.INPUT, help="noise")}
    register(monkeypatch, good, *bad.values())
    assert {"dummy", *bad} <= set(names_of(methods()))
    torch.manual_seed(0)
    case = Case("maxpool_cnn", max_pool_cnn().eval(), torch.randn(2, 3, SIZE, SIZE), "4")
    check_shape_and_dtype(good, case)
    check_deterministic(good, case)
    assert shows_something(good, case)
    check_options_reach_the_cli(good, attribute_help())

    assert shows_something(bad["blank"], case) is False
    with pytest.raises(AssertionError):
        check_shape_and_dtype(bad["wrong_shape"], case)
    with pytest.raises(AssertionError):
        check_deterministic(bad["noisy"], case)
    undocumented = dataclasses.make_dataclass("Undocumented", [("level", float, dataclasses.field(default=1.0))],
                                              frozen=True)
    quiet = Method("undocumented", dummy, MapKind.INPUT, undocumented, help="an option without help")
    register(monkeypatch, quiet)
    with pytest.raises(AssertionError, match="has no help"):
        check_options_reach_the_cli(quiet, attribute_help())
