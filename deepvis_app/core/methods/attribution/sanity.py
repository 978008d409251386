"""The model-parameter randomization test (Adebayo et al. 2018, "Sanity checks for saliency maps",
arXiv:1810.03292): does the map depend on what the model learned?

Cascading randomization: starting from the output, re-initialize the parameters of one more layer
at a time (a copy of the model: the caller's is not touched) and recompute the map of the same
objective. A map that keeps a high rank correlation with the original map while the layers above
it are random (an edge detector, guided backprop on many nets) does not explain the model. We
report Spearman's rank correlation of the maps (signed and absolute, over every value, per image),
as the paper does.

A layer is a module owning parameters (weight/bias) directly, in forward order; it is
re-initialized by its own ``reset_parameters()`` (torch's default initialization; batch norm:
identity, running statistics reset), else its parameters are drawn from N(0, their std), under
``seed``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

import torch
from scipy.stats import spearmanr
from torch import nn

from deepvis_app.core.nn.hooks import forward_hooks

MapFn = Callable[[nn.Module], torch.Tensor]


@dataclass(frozen=True)
class RandomizationStep:
    """The map after randomizing ``layer`` and every layer above it: its rank correlation with the
    original map per image, of the values and of their absolute values."""

    layer: str
    rank_correlation: tuple[float, ...]
    abs_rank_correlation: tuple[float, ...]


def parameter_layers(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Names of the modules that own parameters, in the order the forward runs them (once each)."""
    owners = {name: module for name, module in model.named_modules()
              if any(True for _ in module.parameters(recurse=False))}
    order: list[str] = []

    def note(name: str):
        return lambda _m, _i, _o: order.append(name) if name not in order else None
    with forward_hooks([(module, note(name)) for name, module in owners.items()]), torch.no_grad():
        model(x)
    return order + [name for name in owners if name not in order]


def randomize_layer(module: nn.Module, generator_seed: int) -> None:
    """Re-initialize ``module``'s own parameters in place (see the module docstring)."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(generator_seed)
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()  # type: ignore[operator]  # Module.__getattr__ is typed for tensors/modules
            return
        for parameter in module.parameters(recurse=False):
            spread = parameter.std() if parameter.numel() > 1 else parameter.abs()
            parameter.normal_(0.0, float(spread) or 1.0)


def rank_correlations(first: torch.Tensor, second: torch.Tensor) -> tuple[float, ...]:
    """Spearman's rank correlation of each image's maps (NaN where a map is constant)."""
    pairs = zip(first.detach().flatten(1).double().cpu().numpy(), second.detach().flatten(1).double().cpu().numpy(),
                strict=True)
    return tuple(float(spearmanr(a, b).statistic) if a.std() > 0 and b.std() > 0 else float("nan")
                 for a, b in pairs)


def cascading_randomization(model: nn.Module, x: torch.Tensor, map_of: MapFn, seed: int = 0,
                            layers: list[str] | None = None) -> list[RandomizationStep]:
    """One `RandomizationStep` per layer, from the output down (``layers``: `parameter_layers`).

    ``map_of(model)`` computes the map on the given model (the original first, then the copy).
    """
    original = map_of(model).detach()
    randomized = copy.deepcopy(model)
    names = list(reversed(layers if layers is not None else parameter_layers(model, x)))
    steps = []
    for number, name in enumerate(names):
        randomize_layer(randomized.get_submodule(name), seed + number)
        current = map_of(randomized).detach()
        steps.append(RandomizationStep(name, rank_correlations(original, current),
                                       rank_correlations(original.abs(), current.abs())))
    return steps
