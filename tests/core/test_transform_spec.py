"""The `transforms` option's language: each spec gives the same images as the closures composed by
hand (same generator seed), `standard` is lucent's list, and bad specs are one-line ValueErrors."""

from __future__ import annotations

import pytest
import torch

from deepvis_app.cli.common import UserError
from deepvis_app.cli.main import build_parser
from deepvis_app.cli.optimize_commands import config_from_args
from deepvis_app.core.unitvis.optimize.config import OptimizeConfig
from deepvis_app.core.unitvis.optimize.transform_spec import parse_transforms
from deepvis_app.core.unitvis.optimize.transforms import (
    compose,
    jitter,
    pad,
    random_rotate,
    random_scale,
    standard_transforms,
    transform_set,
)

# lucent's standard_transforms, written out: pad 12, jitter 8, scales 0.90 .. 1.10, angles -10 .. 10 (+ 0 x5), jitter 4
LUCENT_SCALES = [0.9, 0.92, 0.94, 0.96, 0.98, 1.0, 1.02, 1.04, 1.06, 1.08, 1.1]
LUCENT_ANGLES = list(range(-10, 11)) + [0, 0, 0, 0, 0]


def _lucent_standard():
    return [pad(12), jitter(8), random_scale(LUCENT_SCALES), random_rotate(LUCENT_ANGLES), jitter(4)]


BY_HAND = {
    "pad(12), jitter(8)": lambda: [pad(12), jitter(8)],
    "pad(16), jitter(8), scale(0.9, 1.0, 1.1), rotate(-5, 0, 5), jitter(2)":
        lambda: [pad(16), jitter(8), random_scale([0.9, 1.0, 1.1]), random_rotate([-5, 0, 5]), jitter(2)],
    "random_scale([0.5, 2]), random_rotate((-30, 30))": lambda: [random_scale([0.5, 2]), random_rotate([-30, 30])],
    "  [jitter(3), rotate(+7.5)]  ": lambda: [jitter(3), random_rotate([7.5])],
    "standard": _lucent_standard,
    "standard, jitter(2)": lambda: _lucent_standard() + [jitter(2)],
    "none": list,
}


def _run(transform, images, fill, seed: int, calls: int = 3) -> list[torch.Tensor]:
    """Several calls with one generator, so that several random draws are compared."""
    gen = torch.Generator().manual_seed(seed)
    return [transform(images, fill, gen) for _ in range(calls)]


@pytest.mark.parametrize("spec", sorted(BY_HAND))
@pytest.mark.parametrize("seed", [0, 5])
def test_a_spec_equals_its_closures_composed_by_hand(spec, seed):
    images = torch.randn(2, 3, 40, 36, generator=torch.Generator().manual_seed(10 + seed)) * 30
    fill = torch.full((1, 3, 1, 1), 0.5)
    parsed = _run(transform_set(spec), images, fill, seed)
    by_hand = _run(compose(BY_HAND[spec]()), images, fill, seed)
    for a, b in zip(parsed, by_hand, strict=True):
        assert a.shape == b.shape and torch.equal(a, b)
    if spec.strip() != "none":
        assert any(a.shape != images.shape or not torch.equal(a, images) for a in parsed), "nothing changed"


def test_standard_is_lucents_list_and_standard_transforms():
    images = torch.randn(1, 3, 50, 50, generator=torch.Generator().manual_seed(1))
    fill = torch.zeros(1, 3, 1, 1)
    for a, b in zip(_run(compose(standard_transforms()), images, fill, 4, calls=6),
                    _run(compose(_lucent_standard()), images, fill, 4, calls=6), strict=True):
        assert torch.equal(a, b)


def test_parsed_steps_and_aliases():
    assert parse_transforms("pad(16), jitter(8.0), random_scale(0.9, 1.1), rotate([-5, 5])") == (
        ("pad", (16,)), ("jitter", (8,)), ("scale", (0.9, 1.1)), ("rotate", (-5.0, 5.0)))
    assert parse_transforms("none") == () and len(parse_transforms("standard")) == 5


@pytest.mark.parametrize("spec, fragment", [
    ("blur(2)", "unknown transform 'blur'"),
    ("__import__('os')", "unknown transform '__import__'"),
    ("__import__('os').system('touch hacked')", "cannot be called"),
    ("os.system('touch hacked')", "'os.system' cannot be called"),
    ("jitter(8, 2)", "jitter(8, 2): jitter takes 1 argument, got 2"),
    ("pad()", "pad takes 1 argument, got 0"),
    ("jitter('a')", "jitter('a'): arguments must be numbers, got 'a'"),
    ("pad(True)", "arguments must be numbers"),
    ("rotate(1 + 2)", "arguments must be numbers, got 1 + 2"),
    ("pad(1.5)", "pad(width): a whole number"),
    ("pad(-1)", "pad(width): a whole number of pixels from 0 to 1024"),
    ("jitter(0)", "jitter(d): a whole number from 1 to 1024"),
    ("scale(0.9, 0)", "scale(0.9, 0): scale(f1, f2, ...): factors above 0 and at most 4"),
    ("scale()", "scale(): give at least one value"),
    ("rotate(1e999)", "not a finite number"),
    ("rotate(deg=5)", "keyword arguments are not supported"),
    ("pad(16", "syntax error"),
    ("pad(4); jitter(2)", "syntax error"),
    ("", "empty"),
    ("()", "no transforms"),
    ("jitter", "'jitter' is not a transform"),
    ("standard(2)", "standard takes no arguments"),
    ("none, jitter(2)", "'none' cannot be combined"),
    ("x", "'x' is not a transform"),
])
def test_bad_specs_are_clear_value_errors(spec, fragment, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as caught:
        parse_transforms(spec)
    message = str(caught.value)
    assert message.startswith(f"transforms = {spec!r}: ") and fragment in message, message
    assert "\n" not in message
    with pytest.raises(ValueError, match="transforms = "):
        transform_set(spec)
    with pytest.raises(ValueError, match="transforms = "):
        OptimizeConfig(transforms=spec).validate()
    assert not (tmp_path / "hacked").exists()


def test_the_command_line_takes_a_spec_and_reports_a_bad_one():
    argv = ["optimize", "--layer", "x", "--units", "0", "--out", "o", "--preset", "cppn"]
    config = config_from_args(build_parser().parse_args(argv + ["--transforms", "pad(4), jitter(2)"]))
    assert config.transforms == "pad(4), jitter(2)" and config.param == "cppn" and config.lr == 5e-3
    assert config_from_args(build_parser().parse_args(argv)).transforms == "standard"
    with pytest.raises(UserError, match=r"--transforms = 'jitter\(2, 3\)': jitter\(2, 3\): jitter takes 1 argument"):
        config_from_args(build_parser().parse_args(argv + ["--transforms", "jitter(2, 3)"]))


def test_a_jitter_past_the_border_leaves_only_fill():
    images = torch.randn(1, 3, 6, 6)
    fill = torch.full((1, 3, 1, 1), 0.25)
    fills = 0
    for seed in range(8):
        dx, dy = (int(v) for v in torch.randint(12, (2,), generator=torch.Generator().manual_seed(seed)))
        out = transform_set("jitter(12)")(images, fill, torch.Generator().manual_seed(seed))
        assert out.shape == images.shape
        if dx >= 6 or dy >= 6:
            assert (out == 0.25).all()
            fills += 1
        else:
            assert torch.equal(out[..., dy:, dx:], images[..., :6 - dy, :6 - dx])
    assert fills, "no seed shifted past the border"


@pytest.mark.parametrize("seed", range(3))
def test_a_custom_list_treats_every_row_alike(seed):
    images = torch.randn(3, 3, 30, 30, generator=torch.Generator().manual_seed(seed))
    fill = torch.zeros(1, 3, 1, 1)
    transform = transform_set("pad(5), jitter(6), scale(0.8, 1.3), rotate(-20, 20)")
    batched = transform(images, fill, torch.Generator().manual_seed(seed))
    for row in range(3):
        assert torch.equal(batched[row], transform(images[row:row + 1], fill, torch.Generator().manual_seed(seed))[0])
