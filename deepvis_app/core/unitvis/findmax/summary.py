"""find-max --summaries: the arikpoz fork's per-layer pictures of how a layer's units behave on a dataset.

The fork's find_max_acts (`--do-histograms`, `--do-correlation`) keeps every image's per-unit spatial
maximum (the first 10000 images) and draws, under its output folder:

    <layer>/unit_0007/max_histogram.png   histogram (50 bins) of the unit's max over the images, the bin
                                          holding 0 in red
    <layer>/layer_inactivity.png          how many units are active on what share of the images (20 bins
                                          of "activity percent", red to green)
    <layer>/channels_correlation.png      correlation matrix of the units' maxes across images, rows and
                                          columns ordered by `np.lexsort` of the matrix, colour scale -1..1

Here the same files go under the unit-vis folder's crops/<layer>/ (the fork's layout, where `deepvis
crops` puts the per-unit crops), with the numbers behind them: find_max_summary.json (per unit the
histogram counts and edges and the inactive share; the activity histogram; the matrix order) and
channels_correlation.npy (the unsorted matrix, too big for JSON on wide layers).

Rows come from the first `summary_images` images *by file index* (not by arrival as in the fork), so
the result is the same for any batch order, resume point or process count. One departure: a unit is
"inactive" on an image when its max there is <= 0, where the fork counted the images that fell in the
histogram bin holding 0 (which also takes small positive maxes, by an amount that depends on the
bins). NaN activations are left out (a row with any NaN is left out of the correlation). The pictures
are drawn with OpenCV, so the summaries need no plotting library.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from deepvis_app.core.imaging.display import apply_colormap
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import write_bytes_atomic
from deepvis_app.io.opencv import import_cv2

SUMMARY_IMAGES = 10000   # the fork's MAX_LIST_SIZE: images whose maxes are kept
HISTOGRAM_BINS = 50      # per-unit max histogram (the fork's bins=50)
ACTIVITY_BINS = 20       # layer activity histogram over 0..100 % (the fork's num_bins)
_MAX_MATRIX_SIDE = 1024   # pixels of the correlation picture at most
_GREEN, _RED, _INK, _PAPER = (40, 160, 40), (210, 40, 40), (30, 30, 30), (255, 255, 255)


def map_extremes(activations: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(lowest, highest) value of each unit's map per image, (B, C) each, NaN left out (NaN where
    the whole map is NaN)."""
    batch, channels = activations.shape[:2]
    flat = activations.detach().reshape(batch, channels, -1).float()
    nan = torch.isnan(flat)
    if not bool(nan.any()):   # the usual case: no masked copies of the layer
        return flat.amin(dim=2).cpu(), flat.amax(dim=2).cpu()
    lowest = flat.masked_fill(nan, float("inf")).amin(dim=2)
    highest = flat.masked_fill(nan, float("-inf")).amax(dim=2)
    empty = nan.all(dim=2)
    return lowest.masked_fill(empty, float("nan")).cpu(), highest.masked_fill(empty, float("nan")).cpu()


def empty_rows(images: int, channels: int) -> torch.Tensor:
    """The per-image maxes kept for the summaries: NaN rows until an image is scanned."""
    return torch.full((images, channels), float("nan"))


def record_rows(rows: torch.Tensor, indices: torch.Tensor, maxes: torch.Tensor) -> None:
    """Store the batch's (B, C) maxes at the rows of its images that fall within the kept range."""
    keep = indices < rows.shape[0]
    rows[indices[keep]] = maxes[keep.to(maxes.device)].to(rows.dtype)


@dataclass(frozen=True)
class LayerSummary:
    """The numbers behind a layer's summary pictures (see the module docstring)."""

    images: int                        # rows (images) with a value
    histograms: list[tuple[np.ndarray, np.ndarray]]   # per unit (counts, edges); empty for no value
    inactive: np.ndarray               # per unit: share of its images where its max <= 0 (NaN: none)
    activity_counts: np.ndarray        # units per activity-percent bin (ACTIVITY_BINS over 0..100)
    activity_edges: np.ndarray
    correlation: np.ndarray | None     # (C, C), None for one unit or fewer than 2 complete rows
    order: np.ndarray | None           # np.lexsort(correlation): the pictures' row/column order


def summarize(rows: np.ndarray) -> LayerSummary:
    """The summary of (images, C) per-image maxes (NaN: not scanned or NaN activation)."""
    rows = np.asarray(rows, dtype=np.float64)
    seen = rows[~np.isnan(rows).all(axis=1)]
    histograms, inactive = [], np.full(rows.shape[1], np.nan)
    for unit in range(rows.shape[1]):
        values = seen[:, unit][np.isfinite(seen[:, unit])]
        if values.size == 0:
            histograms.append((np.zeros(0, dtype=np.int64), np.zeros(0)))
            continue
        histograms.append(np.histogram(values, bins=HISTOGRAM_BINS))
        inactive[unit] = float(np.mean(values <= 0))
    activity = 100.0 * (1.0 - inactive[np.isfinite(inactive)])
    activity_counts, activity_edges = np.histogram(activity, bins=ACTIVITY_BINS, range=(0, 100))
    complete = seen[np.isfinite(seen).all(axis=1)]
    correlation = order = None
    if rows.shape[1] > 1 and complete.shape[0] > 1:
        with np.errstate(invalid="ignore", divide="ignore"):   # a constant unit: NaN, then 0 as the fork
            correlation = np.nan_to_num(np.corrcoef(complete.T))
        np.fill_diagonal(correlation, 1.0)
        order = np.lexsort(correlation)
    return LayerSummary(seen.shape[0], histograms, inactive, activity_counts, activity_edges, correlation, order)


def write_summary(layout: UnitVisLayout, layer: str, rows: np.ndarray) -> list[Path]:
    """Write the layer's summary pictures and numbers (each file atomically); returns their paths."""
    summary = summarize(rows)
    written = []
    for unit, (counts, edges) in enumerate(summary.histograms):
        if counts.size:
            zero = [i for i in range(len(counts)) if edges[i] <= 0 < edges[i + 1]]
            colors = [_RED if i in zero else _GREEN for i in range(len(counts))]
            zero_at = -edges[0] / (edges[-1] - edges[0]) if edges[0] < 0 < edges[-1] else None
            image = bar_chart(counts, colors, f"{layer} unit {unit}: max activation, {summary.images} images",
                              (f"{edges[0]:.3g}", f"{edges[-1]:.3g}"), marker=zero_at)
            written.append(layout.write_png(layout.max_histogram(layer, unit), image))
    ramp = np.linspace(0.0, 1.0, ACTIVITY_BINS)
    colors = [(int(255 * (1 - t)), int(255 * t), 0) for t in ramp]
    written.append(layout.write_png(layout.layer_inactivity(layer), bar_chart(
        summary.activity_counts, colors, f"activity of layer {layer}: units per % of images with max > 0",
        ("0 %", "100 %"))))
    correlation_file = None
    if summary.correlation is not None and summary.order is not None:
        ordered = summary.correlation[summary.order][:, summary.order]
        written.append(layout.write_png(layout.channels_correlation(layer), matrix_picture(
            ordered, f"{layer}: correlation of the units' maxes")))
        buffer = io.BytesIO()
        np.save(buffer, summary.correlation.astype(np.float32))
        path = layout.channels_correlation_matrix(layer)
        write_bytes_atomic(path, buffer.getvalue())
        written.append(path)
        correlation_file = path.name
    record = {"layer": layer, "images": summary.images, "histogram_bins": HISTOGRAM_BINS,
              "units": [{"counts": counts.tolist(), "edges": edges.tolist(),
                         "inactive": None if np.isnan(share) else float(share)}
                        for (counts, edges), share in zip(summary.histograms, summary.inactive, strict=True)],
              "activity_percent": {"counts": summary.activity_counts.tolist(),
                                   "edges": summary.activity_edges.tolist()},
              "correlation_file": correlation_file,
              "correlation_order": None if summary.order is None else summary.order.tolist()}
    written.append(layout.write_json(layout.find_max_summary(layer), record))
    return written


def bar_chart(counts: np.ndarray, colors: list[tuple[int, int, int]], title: str, x_labels: tuple[str, str],
              size: tuple[int, int] = (480, 320), marker: float | None = None) -> np.ndarray:
    """An RGB uint8 bar chart: one bar per count (in its colour), a title, the x range's ends and the
    highest count; `marker` (0..1 along the x axis) draws a thin red line there (the value 0)."""
    cv2 = import_cv2()
    width, height = size
    image = np.full((height, width, 3), _PAPER, dtype=np.uint8)
    left, right, top, bottom = 40, width - 10, 30, height - 30
    peak = max(int(np.max(counts)) if len(counts) else 0, 1)
    step = (right - left) / max(len(counts), 1)
    for i, (count, color) in enumerate(zip(counts, colors, strict=True)):
        x0, x1 = int(left + i * step + 0.15 * step), int(left + (i + 1) * step - 0.15 * step)
        y0 = int(round(bottom - (bottom - top) * int(count) / peak))
        if count:
            cv2.rectangle(image, (x0, y0), (max(x0, x1), bottom), color, thickness=-1)
    if marker is not None:
        x = int(round(left + marker * (right - left)))
        cv2.line(image, (x, top), (x, bottom), _RED, 1)
    cv2.line(image, (left, bottom), (right, bottom), _INK, 1)
    cv2.line(image, (left, top), (left, bottom), _INK, 1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(image, title[:70], (5, 18), font, 0.42, _INK, 1, cv2.LINE_AA)
    cv2.putText(image, str(peak), (2, top + 10), font, 0.38, _INK, 1, cv2.LINE_AA)
    cv2.putText(image, x_labels[0], (left, bottom + 18), font, 0.38, _INK, 1, cv2.LINE_AA)
    (text_w, _), _ = cv2.getTextSize(x_labels[1], font, 0.38, 1)
    cv2.putText(image, x_labels[1], (right - text_w, bottom + 18), font, 0.38, _INK, 1, cv2.LINE_AA)
    return image


def matrix_picture(matrix: np.ndarray, title: str, side: int = 480) -> np.ndarray:
    """A -1..1 matrix as a viridis picture (nearest-neighbour enlarged) with a colour bar and a title."""
    cv2 = import_cv2()
    cells = apply_colormap((np.clip(matrix, -1.0, 1.0) + 1.0) / 2.0, "viridis")
    scale = max(1, side // max(matrix.shape[0], 1))
    cells = cv2.resize(cells, (matrix.shape[1] * scale, matrix.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
    if cells.shape[0] > _MAX_MATRIX_SIDE:   # a wide layer: averaged down, not one pixel per unit pair
        cells = cv2.resize(cells, (_MAX_MATRIX_SIDE, _MAX_MATRIX_SIDE), interpolation=cv2.INTER_AREA)
    height, width = cells.shape[:2]
    bar = apply_colormap(np.linspace(1.0, 0.0, height)[:, None].repeat(16, axis=1), "viridis")
    image = np.full((height + 40, width + 70, 3), _PAPER, dtype=np.uint8)
    image[30:30 + height, :width] = cells
    image[30:30 + height, width + 10:width + 26] = bar
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(image, title[:70], (5, 18), font, 0.42, _INK, 1, cv2.LINE_AA)
    cv2.putText(image, "1", (width + 30, 40), font, 0.38, _INK, 1, cv2.LINE_AA)
    cv2.putText(image, "-1", (width + 30, 30 + height), font, 0.38, _INK, 1, cv2.LINE_AA)
    return image
