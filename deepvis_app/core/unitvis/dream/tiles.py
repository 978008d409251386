"""Where `deepvis dream` runs the network on a large image: its sizes and its tiles (cnn-vis).

An image larger than the network's input is covered by overlapping net-size windows. Along
each axis the windows are the fewest evenly spaced ones that start at 0, end at the border,
overlap their neighbour and do not touch their second neighbour (cnn-vis `get_best_ranges`),
so each pixel lies in 1, 2 or 4 windows. Windows are split into two checkerboard phases that
are updated one after the other. `pixel_counts` gives the per-pixel learning-rate divisor.
"""

from __future__ import annotations

import numpy as np

Region = tuple[int, int, int, int]  # y0, y1, x0, x1


def parse_size(text: str | None, base: tuple[int, int]) -> tuple[int, int]:
    """None -> base; 'xF' -> F times base; 'HxW' -> (H, W)."""
    if text is None or text == "":
        return base
    try:
        if text.startswith("x"):
            factor = float(text[1:])
            size = (int(factor * base[0]), int(factor * base[1]))
        else:
            height, width = text.lower().split("x")
            size = (int(height), int(width))
    except ValueError:
        raise ValueError(f"size '{text}': expected xF (e.g. x1.5) or HxW (e.g. 600x800)") from None
    if min(size) < 1:
        raise ValueError(f"size '{text}' gives {size[0]}x{size[1]} pixels; both must be >= 1")
    return size


def size_sequence(base: tuple[int, int], initial: str | None, final: str | None, num_sizes: int,
                  resize_type: str = "geometric") -> list[tuple[int, int]]:
    """`num_sizes` sizes from initial to final, spaced geometrically or linearly (cnn-vis)."""
    start, end = parse_size(initial, base), parse_size(final, base)
    if num_sizes < 1:
        raise ValueError(f"num_sizes must be >= 1, got {num_sizes}")
    if num_sizes == 1:
        return [start]
    if resize_type == "geometric":
        heights = np.geomspace(start[0], end[0], num_sizes)
        widths = np.geomspace(start[1], end[1], num_sizes)
    elif resize_type == "linear":
        heights = np.linspace(start[0], end[0], num_sizes)
        widths = np.linspace(start[1], end[1], num_sizes)
    else:
        raise ValueError(f"unknown resize_type '{resize_type}' (geometric, linear)")
    return [(int(h), int(w)) for h, w in zip(np.round(heights), np.round(widths), strict=True)]


def _ranges(total: int, length: int, count: int) -> list[tuple[int, int]]:
    starts = [int(round(s)) for s in np.linspace(0, total - length, count)]
    return [(s, s + length) for s in starts]


def _valid(total: int, ranges: list[tuple[int, int]]) -> bool:
    if ranges[0][0] != 0 or ranges[-1][1] != total:
        return False
    for i, (start, end) in enumerate(ranges):
        if i + 1 < len(ranges) and (start == ranges[i + 1][0] or end < ranges[i + 1][0]):
            return False
        if i + 2 < len(ranges) and end >= ranges[i + 2][0]:
            return False
    return True


def axis_ranges(total: int, length: int) -> list[tuple[int, int]]:
    """Window spans along one axis; one span of the whole axis when it is not longer than a window."""
    if total <= length:
        return [(0, total)]
    for count in range(2, total + 1):
        if _valid(total, _ranges(total, length, count)):
            return _ranges(total, length, count)
    return _ranges(total, length, -(-total // length) + 1)  # unreachable in practice; still covers


def tile_regions(size: tuple[int, int], window: tuple[int, int]) -> tuple[list[Region], list[Region]]:
    """(even, odd) checkerboard phases of the windows covering an image of `size`."""
    even: list[Region] = []
    odd: list[Region] = []
    for i, (x0, x1) in enumerate(axis_ranges(size[1], window[1])):
        for j, (y0, y1) in enumerate(axis_ranges(size[0], window[0])):
            (even if i % 2 == j % 2 else odd).append((y0, y1, x0, x1))
    return even, odd


def pixel_counts(size: tuple[int, int], regions: list[Region]) -> np.ndarray:
    """How many windows cover each pixel (H x W)."""
    counts = np.zeros(size, dtype=np.float32)
    for y0, y1, x0, x1 in regions:
        counts[y0:y1, x0:x1] += 1
    return counts
