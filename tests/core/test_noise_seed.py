"""`--noise-seed` (the `seed` option of smoothgrad, noise_tunnel and gradient_shap): the same seed gives
the same map, another seed another map, whatever the global generators did in between. Integrated
gradients draws nothing, so it has no seed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from deepvis_app.cli.main import main
from deepvis_app.core.methods.registry import attribute, get_method
from tests.helpers.models import tiny_input, tiny_net

CASES = {
    "smoothgrad": {"samples": 4},
    "gradient_shap": {"samples": 4, "noise_level": 0.1},
    "noise_tunnel": {"samples": 4, "base": "gradient"},
    "noise_tunnel_over_smoothgrad": {"samples": 2, "base": "smoothgrad"},  # the base draws noise too
}


_GLOBAL_SEEDS = itertools.count(100)


def _map(case: str, seed: int | None) -> torch.Tensor:
    method = "noise_tunnel" if case.startswith("noise_tunnel") else case
    net, x = tiny_net(), tiny_input()  # these seed torch's global generator themselves
    global_seed = next(_GLOBAL_SEEDS)  # so every call leaves the global generators somewhere else
    torch.manual_seed(global_seed)
    np.random.seed(global_seed)
    return attribute(net, x, method, target=1, seed=seed, **CASES[case])


@pytest.mark.parametrize("case", list(CASES))
def test_same_noise_seed_same_map_other_seed_other_map(case):
    first, again, other = _map(case, 3), _map(case, 3), _map(case, 4)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert (first - other).abs().max() > 1e-6 * first.abs().max()


@pytest.mark.parametrize("case", list(CASES))
def test_without_a_seed_the_maps_differ(case):
    """The check above can fail: unseeded runs follow the global generators, which moved."""
    assert not torch.equal(_map(case, None), _map(case, None))


def test_integrated_gradients_has_no_noise_seed():
    fields = get_method("integrated_gradients").make_options()
    assert not hasattr(fields, "seed")
    for name in ("smoothgrad", "gradient_shap", "noise_tunnel"):
        assert hasattr(get_method(name).make_options({"seed": 5}), "seed")


@pytest.mark.slow
def test_cli_noise_seed_reaches_smoothgrad(tmp_path):
    """Two `deepvis attribute --method smoothgrad --noise-seed 7` runs write the same map; seed 8 another."""
    torch.manual_seed(0)
    np.save(tmp_path / "x.npy", torch.randn(3, 32, 32).numpy().astype(np.float32))
    torch.save(_resnet18().state_dict(), tmp_path / "w.pth")

    def run(name: str, seed: str) -> np.ndarray:
        argv = ["attribute", str(tmp_path / "x.npy"), "--method", "smoothgrad", "--noise-seed", seed,
                "--samples", "3", "--target", "2", "--npy", str(tmp_path / f"{name}.npy"),
                "-o", str(tmp_path / f"{name}.png"), "--model", "torchvision:resnet18", "--weights",
                str(tmp_path / "w.pth"), "--device", "cpu", "--set", "input_size=(32, 32)"]
        assert main(argv) == 0
        return np.load(tmp_path / f"{name}.npy")

    first, again, other = run("a", "7"), run("b", "7"), run("c", "8")
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 1e-6 * np.abs(first).max()


def _resnet18() -> torch.nn.Module:
    import torchvision

    return torchvision.models.resnet18(weights=None)
