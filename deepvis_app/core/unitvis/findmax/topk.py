"""Per-unit top-k tracking, vectorized over all units of a layer at once.

find-max keeps, for every unit (channel) of a layer, the k images whose spatial maximum is
largest. Doing that with one Python loop per unit (the original's `searchsorted` per channel)
is the slow part of a scan; here a batch's candidates are concatenated with the current top-k
and the whole (channels, k + batch) table is sorted in two stable passes.

A unit's score for an image is its spatial max (the original's `find_max_acts`), or with
`score="sum"` the sum of its whole map (how strongly the image drives the unit everywhere, not at
one place); either way the recorded position is the arg-max, which the crops are centred on.

find-max --search-min keeps the k *lowest* scores per unit as well (the arikpoz fork's min
tracker): its table stores negated scores, so the same merge serves both.

Ties are broken by the image index (lower first), so the result is a pure function of the
*set* of images seen: the same whatever the batch order, the number of batches or processes,
or where a run was interrupted and resumed. Merging is associative and commutative, which is
what makes resuming and the distributed merge exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

SCORES = ("max", "sum")  # how an image is ranked for a unit (find-max --rank)
_EMPTY_INDEX = torch.iinfo(torch.int64).max  # sorts after every real image index


@dataclass
class TopK:
    """Top-k table of one layer: row c holds unit c's best entries, best first.

    values (C, k) float32 (-inf where empty); index (C, k) int64 image indices (-1 where empty);
    pos (C, k, D) int64 arg-max position of each entry (D = 0 for fully connected layers).
    """

    values: torch.Tensor
    index: torch.Tensor
    pos: torch.Tensor

    @property
    def k(self) -> int:
        return self.values.shape[1]

    def as_dict(self) -> dict[str, torch.Tensor]:
        return {"values": self.values, "index": self.index, "pos": self.pos}

    @classmethod
    def from_dict(cls, state: dict[str, torch.Tensor]) -> TopK:
        return cls(state["values"], state["index"], state["pos"])


def empty_topk(channels: int, k: int, spatial_dims: int) -> TopK:
    """A table with no entries yet."""
    return TopK(torch.full((channels, k), float("-inf")),
                torch.full((channels, k), -1, dtype=torch.int64),
                torch.zeros((channels, k, spatial_dims), dtype=torch.int64))


def batch_candidates(activations: torch.Tensor, image_index: torch.Tensor, score: str = "max",
                     lowest: bool = False) -> TopK:
    """Every unit's score (spatial max, or with `score="sum"` the sum of its map) and arg-max
    position for each image of a batch, as a (C, B) table.

    `activations` is (B, C, *spatial); `image_index` (B,) the images' global indices.
    The arg-max is the first maximal position in row-major order (torch's documented rule).
    NaN values are left out of the max; a map that is all NaN (or, for the sum, has any NaN) gets
    the worst score. With `lowest` (find-max --search-min) the scores are negated, so that
    `merge_topk` keeps the k *lowest* scores (ties still by image index); `negated` undoes it.
    """
    if score not in SCORES:
        raise ValueError(f"unknown ranking '{score}' (choose from {', '.join(SCORES)})")
    batch, channels = activations.shape[:2]
    spatial = tuple(activations.shape[2:])
    raw = activations.detach().reshape(batch, channels, -1).float()
    nan = torch.isnan(raw)
    flat = raw.masked_fill(nan, float("-inf"))
    values, flat_arg = flat.max(dim=2)
    invalid = nan.all(dim=2)
    if score == "sum":
        values, invalid = raw.sum(dim=2), nan.any(dim=2)
    if lowest:
        values = -values.masked_fill(invalid, float("inf"))
    values = values.masked_fill(invalid, float("-inf"))
    if spatial:
        pos = torch.stack(torch.unravel_index(flat_arg, spatial), dim=-1)
    else:
        pos = torch.zeros((batch, channels, 0), dtype=torch.int64, device=flat.device)
    index = image_index.to(flat.device, torch.int64)[:, None].expand(batch, channels)
    return TopK(values.T.cpu(), index.T.cpu(), pos.transpose(0, 1).cpu())


def merge_topk(first: TopK, second: TopK, k: int) -> TopK:
    """The k best of two tables' entries per unit: value descending, then image index ascending."""
    values = torch.cat([first.values, second.values], dim=1)
    index = torch.cat([first.index, second.index], dim=1)
    pos = torch.cat([first.pos, second.pos], dim=1)
    by_index = torch.sort(torch.where(index < 0, _EMPTY_INDEX, index), dim=1, stable=True).indices
    by_value = torch.sort(values.gather(1, by_index), dim=1, descending=True, stable=True).indices
    keep = by_index.gather(1, by_value)[:, :k]
    return TopK(values.gather(1, keep), index.gather(1, keep),
                pos.gather(1, keep[:, :, None].expand(-1, -1, pos.shape[2])))


def negated(table: TopK) -> TopK:
    """A table with its scores' signs flipped (the stored form of a --search-min table and back)."""
    return TopK(-table.values, table.index, table.pos)


# arg-max position in the layer -> its receptive-field centre in the network input (None: unknown)
Locate = Callable[[Sequence[int]], "tuple[float, float] | None"]


def topk_entries(table: TopK, paths: list[str], labels: Sequence[int | None] | None = None,
                 locate: Locate | None = None) -> list[list[dict]]:
    """The table as find-max JSON rows: per unit, its entries best first, empty slots dropped.

    An entry holds the image's `path`, for a file list (`labels` given) its `index` in the list and its
    `label` (where the line has one),
    the `value` (the score), the arg-max `pos` in the layer and `image_pos`, the receptive-field
    centre of `pos` in network-input pixels (row, column), where `locate` knows it.
    """
    units = []
    spatial = table.pos.shape[2] > 0
    for values, indices, positions in zip(table.values.tolist(), table.index.tolist(), table.pos.tolist(), strict=True):
        entries = []
        for value, index, pos in zip(values, indices, positions, strict=True):
            if index < 0:
                continue
            entry: dict = {"path": paths[index], "value": value}
            if labels is not None:  # a file list: the line's image index (the original's image_idx) and label
                entry["index"] = index
                if labels[index] is not None:
                    entry["label"] = labels[index]
            if spatial:
                entry["pos"] = pos
                where = locate(pos) if locate is not None else None
                if where is not None:
                    entry["image_pos"] = list(where)
            entries.append(entry)
        units.append(entries)
    return units
