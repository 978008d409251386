"""What is maximized: lucent's objective vocabulary as `Objective`s, combined with ``+ - * /``.

Each factory names the layers it reads and returns the shared `Objective` (`core.methods.attribution.
objective`), whose value is per image (N,): its batch mean is exactly minus lucent's loss, so weights
keep lucent's meaning (lucent's ``channel - 1e2*diversity`` loss is ``channel(...) + 100*diversity(...)``
here, since lucent's `diversity` returns minus the similarity: here too it is the value).

* channel(L, c): mean of channel c (lucent `channel`); the unit itself for a 1-D layer;
* neuron(L, c[, x, y]): channel c at column x, row y (default: the centre, lucent `neuron`);
* direction(L, v): cosine similarity of each position's activation vector with v, averaged;
* channel_interpolate(L1, c1, L2, c2): image n of N weighted (1 - n/(N-1)) and n/(N-1) between two
  channels, a batch sweeping from one objective to the other (N >= 2);
* diversity(L): -sum over the other images of the cosine similarity of L2-normalized Gram matrices
  (couples the batch);
* per-row units for `deepvis optimize` (`unit_objective`: row b belongs to unit ``units[b]``, so
  ``objective(...).sum()`` reaches each image only through its own unit): channel, neuron, and
  amplify, cnn-vis's layer amplification restricted to the unit's map: a surrogate whose gradient
  with respect to each activation a is l1*|a| + l2*clip(a, -c, c), the diff cnn-vis injects;
* layer amplification (whole layer) and cnn-vis `amplify_neuron` (the sum of one channel) serve
  `deepvis dream`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from deepvis_app.core.methods.attribution.objective import Activations, Objective
from deepvis_app.core.unitvis.optimize.config import OBJECTIVES
from deepvis_app.errors import DeepvisError


class ObjectiveError(DeepvisError, ValueError):
    """A bad objective expression, or one that does not fit the model (one line)."""


@dataclass(frozen=True)
class AmplifyWeights:
    """cnn-vis --amplify_l1_weight, --amplify_l2_weight, --amplify_grad_clip."""

    l1: float = 1.0
    l2: float = 1.0
    clip: float = 5.0


def amplify_surrogate(activation: torch.Tensor, weights: AmplifyWeights = AmplifyWeights()) -> torch.Tensor:
    """Elementwise value whose gradient is exactly cnn-vis's amplification diff (negated)."""
    diff = weights.l1 * activation.abs() + weights.l2 * activation.clamp(-weights.clip, weights.clip)
    return diff.detach() * activation


def unit_maps(activation: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
    """activation[b, units[b]] for every row b: N x H x W (or N for 2-D layers)."""
    return activation[torch.arange(activation.shape[0], device=activation.device), units]


def _mean_map(activation: torch.Tensor, channel: int) -> torch.Tensor:
    return activation[:, channel].reshape(activation.shape[0], -1).mean(1)


def channel(layer: str, unit: int) -> Objective:
    """lucent `channel`: the mean of ``unit``'s map (the unit itself for a 1-D layer)."""
    return Objective(lambda acts, _rows: _mean_map(acts[layer], unit), (layer,), f"channel('{layer}', {unit})")


def neuron(layer: str, unit: int, x: int | None = None, y: int | None = None) -> Objective:
    """lucent `neuron`: ``unit`` at column ``x``, row ``y`` (default: the centre)."""
    def fn(acts: Activations, _rows: torch.Tensor | None) -> torch.Tensor:
        activation = acts[layer]
        if activation.dim() == 2 and x is None and y is None:
            return activation[:, unit]
        if activation.dim() != 4:
            raise ObjectiveError(f"neuron('{layer}', ...): a position needs a layer with a spatial map")
        column, row = _position(activation.shape, layer, unit, x, y)
        return activation[:, unit, row, column]
    where = "" if x is None and y is None else f", {x}, {y}"
    return Objective(fn, (layer,), f"neuron('{layer}', {unit}{where})")


def _position(shape: Sequence[int], layer: str, unit: int, x: int | None, y: int | None) -> tuple[int, int]:
    """(x, y): the given column and row, else the centre; ObjectiveError outside the map."""
    height, width = shape[-2], shape[-1]
    column = width // 2 if x is None else x
    row = height // 2 if y is None else y
    if not (0 <= column < width and 0 <= row < height):
        raise ObjectiveError(f"neuron('{layer}', {unit}, {column}, {row}): position outside the "
                             f"{width}x{height} (width x height) map of the layer at this image size")
    return column, row


def direction(layer: str, vector: Sequence[float]) -> Objective:
    """lucent `direction`: cosine similarity of each position's activation vector with ``vector``."""
    values = tuple(vector)

    def fn(acts: Activations, _rows: torch.Tensor | None) -> torch.Tensor:
        activation = acts[layer]
        towards = torch.tensor(values, dtype=activation.dtype, device=activation.device)
        shape = (1, -1) + (1,) * (activation.dim() - 2)
        cosine = torch.nn.functional.cosine_similarity(towards.view(shape), activation, dim=1)
        return cosine.reshape(activation.shape[0], -1).mean(1)
    return Objective(fn, (layer,), f"direction('{layer}', {list(values)})")


def channel_interpolate(layer1: str, unit1: int, layer2: str, unit2: int) -> Objective:
    """lucent `channel_interpolate`: image n of N is (1 - n/(N-1)) * channel 1 + n/(N-1) * channel 2."""
    def fn(acts: Activations, _rows: torch.Tensor | None) -> torch.Tensor:
        first, second = acts[layer1], acts[layer2]
        count = first.shape[0]
        if count < 2:
            raise ObjectiveError("channel_interpolate needs a batch of at least 2 images (--batch)")
        weights = torch.arange(count, dtype=first.dtype, device=first.device) / (count - 1)
        return (1 - weights) * _mean_map(first, unit1) + weights * _mean_map(second, unit2)
    return Objective(fn, tuple(dict.fromkeys((layer1, layer2))),
                     f"channel_interpolate('{layer1}', {unit1}, '{layer2}', {unit2})", min_batch=2)


def diversity(layer: str, group: int | None = None) -> Objective:
    """lucent `diversity` among consecutive groups of ``group`` rows (default: the whole batch)."""
    return Objective(lambda acts, _rows: diversity_values(acts[layer], group), (layer,), f"diversity('{layer}')",
                     coupled=True, min_batch=2)


def diversity_values(activation: torch.Tensor, group: int | None = None) -> torch.Tensor:
    """lucent's diversity per image within consecutive groups of ``group`` rows (default: the whole
    batch): -sum_{j != i} <G_i, G_j> with G the Gram matrix (channels x channels) of an image's
    activation normalized to unit Frobenius norm. Its batch mean is lucent's `diversity` value."""
    count, channels = activation.shape[:2]
    group = group or count
    if count % group:
        raise ValueError(f"a batch of {count} does not split into groups of {group}")
    flat = activation.reshape(count, channels, -1)
    grams = flat @ flat.transpose(1, 2)
    grams = grams / grams.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1)
    vectors = grams.reshape(count // group, group, -1)
    similarity = vectors @ vectors.transpose(1, 2)
    others = similarity.sum(-1) - similarity.diagonal(dim1=1, dim2=2)
    return -others.reshape(count)


def unit_objective(kind: str, layer: str, units: torch.Tensor,
                   weights: AmplifyWeights = AmplifyWeights()) -> Objective:
    """Per-row units: the ``kind`` objective (channel, neuron, amplify) of unit ``units[b]`` for row b."""
    if kind not in OBJECTIVES:
        raise ValueError(f"unknown objective '{kind}' (choices: {', '.join(OBJECTIVES)})")

    def fn(acts: Activations, _rows: torch.Tensor | None) -> torch.Tensor:
        maps = unit_maps(acts[layer], units)
        if maps.dim() == 1:
            return amplify_surrogate(maps, weights) if kind == "amplify" else maps
        if kind == "channel":
            return maps.flatten(1).mean(1)
        if kind == "neuron":
            return maps[:, maps.shape[1] // 2, maps.shape[2] // 2]
        return amplify_surrogate(maps, weights).flatten(1).sum(1)
    return Objective(fn, (layer,), f"{kind} of the units of {layer}")


def unit_at(layer: str, units: torch.Tensor, row: int, column: int) -> Objective:
    """Per-row units at one position (the original's --push-spatial): ``a[b, units[b], row, column]``."""
    def fn(acts: Activations, _rows: torch.Tensor | None) -> torch.Tensor:
        activation = acts[layer]
        if activation.dim() != 4:
            raise ValueError(f"push_spatial: layer '{layer}' has no spatial map (leave the position out)")
        height, width = activation.shape[-2:]
        if not (0 <= row < height and 0 <= column < width):
            raise ValueError(f"push_spatial ({row}, {column}) is outside the {height}x{width} map of '{layer}' "
                             "at this image size")
        return unit_maps(activation, units)[:, row, column]
    return Objective(fn, (layer,), f"the units of {layer} at ({row}, {column})")


def layer_amplification(layer: str, weights: AmplifyWeights = AmplifyWeights()) -> Objective:
    """cnn-vis amplify_layer over the whole layer, per image."""
    return Objective(lambda acts, _rows: amplify_surrogate(acts[layer], weights).flatten(1).sum(1), (layer,),
                     f"amplify_layer('{layer}')")


def channel_sum(layer: str, unit: int) -> Objective:
    """cnn-vis amplify_neuron: diff -1 on the whole channel, i.e. the channel's sum, per image."""
    return Objective(lambda acts, _rows: acts[layer][:, unit].reshape(acts[layer].shape[0], -1).sum(1), (layer,),
                     f"amplify_neuron('{layer}', {unit})")
