"""find-max: one pass over an image folder or file list that keeps every unit's top-k images, for many layers.

Images come from a folder or from a file list in the original's `filelist` format (`path [label]`
per line, see `scan_data.scan_source`); labels are written with the entries. Units rank images by
their spatial max (`rank_by="max"`, the original's find_max_acts) or by the sum of their map
(`rank_by="sum"`). Every entry keeps its arg-max position in the layer and, as `image_pos`, the
receptive-field centre of that position in network-input pixels (see `receptive_field`), so the
location is known without the layer's geometry. (conv-net-viz's "fix" mode is not implemented:
the reference material does not say what it does.) Each layer's record also holds every unit's
lowest and highest activation anywhere in its maps over the dataset (`unit_min`, `unit_max`; the
fork's tracker kept max and min values per channel).

With `search_min` (the arikpoz fork's `--search-min`) the same pass also keeps each unit's k
*lowest*-scoring images, written lowest first to find_min/<layer>.json so the max record stays as it
is; with `summaries` it keeps the per-image maxes of the first `summary_images` images and writes the
fork's histogram, inactivity and correlation pictures (see `findmax.summary`).

All listed layers are captured in the same forward pass; per batch, every unit's spatial max is
merged into its top-k table by `topk.merge_topk` (no per-unit loops). The state (tables, failed
images, batches done) is checkpointed atomically every few batches, so a run killed at any moment
continues where it stopped and ends with the same tables as an uninterrupted run. A checkpoint is
only resumed when it belongs to the same scan (model, weights, layers, top, batch, ranks, input
size, pixel limit) over the same files (paths, sizes and modification times): replacing an image
discards it, and the result says so (`state_discarded`). An unreadable or oversized image is
listed with its problem and skipped; it never aborts the scan. Under
torch.distributed each rank scans its share of the fixed batches (see `scan_data`) and the tables
are gathered and merged on rank 0, which equals the single-process result because the merge is
order-independent.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from deepvis_app.core.nn.hooks import forward_until
from deepvis_app.core.nn.model import LoadedModel
from deepvis_app.core.unitvis.findmax.receptive_field import receptive_field
from deepvis_app.core.unitvis.findmax.scan_data import (
    UNEXPECTED,
    ScanError,
    ScanSource,
    batch_loader,
    files_signature,
    fixed_batches,
    scan_source,
    shard,
)
from deepvis_app.core.unitvis.findmax.summary import (
    SUMMARY_IMAGES,
    empty_rows,
    map_extremes,
    record_rows,
    write_summary,
)
from deepvis_app.core.unitvis.findmax.topk import (
    SCORES,
    Locate,
    TopK,
    batch_candidates,
    empty_topk,
    merge_topk,
    negated,
    topk_entries,
)
from deepvis_app.core.unitvis.store.records import read_find_max_record
from deepvis_app.core.unitvis.store.unit_layout import UnitVisLayout
from deepvis_app.io.images import write_bytes_atomic

log = logging.getLogger("deepvis.unitvis.find_max")

# progress(batches done, batches total, images in the batch just done); may raise to stop the scan.
Progress = Callable[[int, int, int], None]


@dataclass(frozen=True)
class FindMaxRequest:
    """What to scan and where to write; see `deepvis find-max --help`. `dataset` is a folder of
    images or a file list (relative paths in it resolved against `images_dir`, else the list's
    folder); `rank_by` is "max" or "sum"."""

    dataset: Path
    layers: tuple[str, ...]
    out: Path
    top: int = 9
    batch_size: int = 32
    workers: int = 0
    checkpoint_every: int = 8
    images_dir: Path | None = None
    rank_by: str = "max"
    search_min: bool = False          # also keep each unit's lowest-scoring images (find_min/)
    summaries: bool = False           # also write the histogram / inactivity / correlation pictures
    summary_images: int = SUMMARY_IMAGES   # first images (by file index) the summaries cover


@dataclass
class FindMaxResult:
    """Outcome of a scan (on rank 0, the merged one)."""

    images: int
    batches_run: int
    resumed_batches: int
    skipped: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)   # skipped image -> why
    written: list[Path] = field(default_factory=list)
    state_discarded: str | None = None   # why an existing checkpoint was not resumed


@dataclass
class ScanState:
    """Everything a resumed run needs: batches done, tables so far, unreadable images (index -> problem),
    per layer the (2, C) lowest/highest activation so far, the --search-min tables (negated scores) and
    the --summaries rows (per-image maxes, NaN until scanned)."""

    done: int = 0
    tables: dict[str, TopK] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    ranges: dict[str, torch.Tensor] = field(default_factory=dict)
    min_tables: dict[str, TopK] = field(default_factory=dict)
    rows: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanKey:
    """What a checkpoint must match to be resumed: the scan itself and the files it reads."""

    scan: str
    files: str


def find_max(loaded: LoadedModel, request: FindMaxRequest, progress: Progress | None = None,
             rank: int = 0, world: int = 1) -> FindMaxResult:
    """Scan (or finish scanning) `request.dataset`; rank 0 writes DIR/find_max/<layer>.json."""
    if request.top < 1:
        raise ScanError(f"--top must be at least 1, got {request.top}")
    if request.rank_by not in SCORES:
        raise ScanError(f"--rank '{request.rank_by}': choose from {', '.join(SCORES)}")
    if request.summary_images < 1:
        raise ScanError(f"--summary-images must be at least 1, got {request.summary_images}")
    source = scan_source(request.dataset, request.images_dir)
    files = source.files
    batches = shard(fixed_batches(len(files), request.batch_size), rank, world)
    layout = UnitVisLayout(request.out)
    state_path = layout.find_max_state(rank, world)
    key = ScanKey(_scan_fingerprint(loaded, request, rank, world), files_signature(files, source.names))
    state, discarded = load_state(state_path, key)
    if discarded:
        log.warning("%s: %s", state_path, discarded)
    resumed = state.done
    loader = batch_loader(files, loaded.preprocessor, batches[state.done:], request.workers,
                          pin_memory=loaded.device.type == "cuda", max_pixels=loaded.settings.max_image_pixels)
    for indices, inputs, failed in loader:
        _scan_batch(loaded, request, state, indices, inputs, failed, len(files))
        state.done += 1
        if state.done % request.checkpoint_every == 0 or state.done == len(batches):
            save_state(state_path, key, state)
        if progress is not None:
            progress(state.done, len(batches), len(indices) + len(failed))
    merged = _gather_states(state, world)
    result = FindMaxResult(len(files), len(batches) - resumed, resumed, state_discarded=discarded)
    if rank == 0:
        relative = source.names
        result.skipped = [relative[i] for i in sorted(merged.failed)]
        result.problems = {relative[i]: merged.failed[i] for i in sorted(merged.failed)}
        locators = {name: image_locator(loaded, name) for name in request.layers}
        result.written = write_find_max(layout, request, merged, source, locators)
    return result


def _scan_batch(loaded: LoadedModel, request: FindMaxRequest, state: ScanState, indices: torch.Tensor,
                inputs: torch.Tensor, failed: list[tuple[int, str]], images: int) -> None:
    state.failed.update(failed)
    if len(indices) == 0:
        return
    x = inputs.to(loaded.device, non_blocking=True)
    with torch.inference_mode():
        store = forward_until(loaded.module, x, request.layers)
    for name in request.layers:
        acts = store[name]
        state.tables[name] = _merged(state.tables.get(name), batch_candidates(acts, indices, request.rank_by),
                                     request.top)
        if request.search_min:
            state.min_tables[name] = _merged(state.min_tables.get(name), batch_candidates(
                acts, indices, request.rank_by, lowest=True), request.top)
        lowest, highest = map_extremes(acts)
        batch_range = torch.stack([lowest.masked_fill(lowest.isnan(), float("inf")).amin(dim=0),
                                   highest.masked_fill(highest.isnan(), float("-inf")).amax(dim=0)])
        known = state.ranges.get(name)
        state.ranges[name] = batch_range if known is None else _merge_range(known, batch_range)
        if request.summaries:
            if name not in state.rows:
                state.rows[name] = empty_rows(min(images, request.summary_images), acts.shape[1])
            record_rows(state.rows[name], indices, highest)


def _merged(table: TopK | None, candidates: TopK, top: int) -> TopK:
    if table is None:
        table = empty_topk(candidates.values.shape[0], top, candidates.pos.shape[2])
    return merge_topk(table, candidates, top)


def _merge_range(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Two (2, C) [lowest; highest] ranges joined."""
    return torch.stack([torch.minimum(first[0], second[0]), torch.maximum(first[1], second[1])])


def _scan_fingerprint(loaded: LoadedModel, request: FindMaxRequest, rank: int, world: int) -> str:
    """Identifies a scan apart from its files: a checkpoint of a different scan is discarded."""
    key = {"layers": list(request.layers), "top": request.top, "batch": request.batch_size, "rank": rank,
           "world": world, "model": str(loaded.settings.builder or loaded.settings.model),
           "weights": str(loaded.weights_path), "input": list(loaded.preprocessor.input_size),
           "max_pixels": loaded.settings.max_image_pixels}
    if request.rank_by != "max":  # only when set, so checkpoints of older (max-only) versions still resume
        key["rank_by"] = request.rank_by
    if request.search_min:
        key["search_min"] = True
    if request.summaries:
        key["summary_images"] = request.summary_images
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def save_state(path: Path, key: ScanKey, state: ScanState) -> None:
    """Checkpoint atomically (temp file, then rename)."""
    payload = {"scan": key.scan, "files": key.files, "done": state.done,
               "failed": [[index, problem] for index, problem in sorted(state.failed.items())],
               "tables": {name: table.as_dict() for name, table in state.tables.items()},
               "min_tables": {name: table.as_dict() for name, table in state.min_tables.items()},
               "ranges": state.ranges, "rows": state.rows}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def load_state(path: Path, key: ScanKey) -> tuple[ScanState, str | None]:
    """The checkpoint at `path` if it belongs to this scan over these files, else a fresh state and
    why the checkpoint was discarded (None when there was none)."""
    if not path.is_file():
        return ScanState(), None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        scan, files = payload["scan"], payload["files"]
        if scan != key.scan:
            return ScanState(), "checkpoint of a different scan (model, weights, layers, --top, --batch, " \
                                "--rank, --search-min, --summaries, processes or max_image_pixels changed): " \
                                "discarded, scanning from the start"
        if files != key.files:
            return ScanState(), "the images changed since the checkpoint (files added, removed, replaced or " \
                                "modified): checkpoint discarded, scanning from the start"
        tables = {name: TopK.from_dict(t) for name, t in payload["tables"].items()}
        failed = {int(index): str(problem) for index, problem in payload["failed"]}
        if any(problem.startswith(UNEXPECTED) for problem in failed.values()):
            return ScanState(), "the checkpoint recorded unexpected errors (not bad images): discarded, " \
                                "scanning from the start"
        min_tables = {name: TopK.from_dict(t) for name, t in payload["min_tables"].items()}
        return ScanState(int(payload["done"]), tables, failed, dict(payload["ranges"]), min_tables,
                         dict(payload["rows"])), None
    except Exception:  # a corrupt or old-format checkpoint only costs a rescan
        log.debug("checkpoint %s unreadable", path, exc_info=True)
        return ScanState(), "checkpoint unreadable or from an older deepvis: discarded, scanning from the start"


def _gather_states(state: ScanState, world: int) -> ScanState:
    """All ranks' states merged (identity for one process)."""
    if world == 1:
        return ScanState(state.done, dict(state.tables), dict(state.failed), dict(state.ranges),
                         dict(state.min_tables), dict(state.rows))
    import torch.distributed as dist

    gathered: list[Any] = [None] * world
    plain = {"failed": state.failed, "tables": {n: t.as_dict() for n, t in state.tables.items()},
             "min_tables": {n: t.as_dict() for n, t in state.min_tables.items()},
             "ranges": state.ranges, "rows": state.rows}
    dist.all_gather_object(gathered, plain)
    merged = ScanState(state.done)
    for part in gathered:
        merged.failed.update(part["failed"])
        for tables, key in ((merged.tables, "tables"), (merged.min_tables, "min_tables")):
            for name, table_dict in part[key].items():
                table = TopK.from_dict(table_dict)
                tables[name] = table if name not in tables else merge_topk(tables[name], table, table.k)
        for name, extent in part["ranges"].items():
            merged.ranges[name] = extent if name not in merged.ranges else _merge_range(merged.ranges[name], extent)
        for name, rows in part["rows"].items():  # each image's row is filled by one rank, NaN elsewhere
            merged.rows[name] = rows if name not in merged.rows else torch.fmax(merged.rows[name], rows)
    return merged


def image_locator(loaded: LoadedModel, layer: str) -> Locate | None:
    """The layer's arg-max position -> its receptive-field centre in network-input pixels; None where
    the receptive field cannot be followed through the graph."""
    shape = loaded.preprocessor.network_shape
    rf = receptive_field(loaded.module, shape, layer, loaded.device)
    return None if rf is None or rf.whole_image else rf.center


def write_find_max(layout: UnitVisLayout, request: FindMaxRequest, state: ScanState, source: ScanSource,
                   locators: dict[str, Locate | None] | None = None) -> list[Path]:
    """DIR/find_max/<layer>.json for every layer (and find_min/<layer>.json, the summaries, when asked),
    plus the list of skipped images and their problems.

    "dataset" is the folder the entries' paths are relative to; "file_list" the list scanned (or null).
    """
    missing = [name for name in request.layers if name not in state.tables]
    if missing:
        first = min(state.failed.items(), key=lambda item: (not item[1].startswith(UNEXPECTED), item[0]),
                    default=None)   # a bug's error says more than a bad image's
        why = f" ({len(state.failed)} skipped; {source.names[first[0]]}: {first[1]})" if first else ""
        raise ScanError(f"{request.dataset}: no readable image{why}, nothing to rank for {', '.join(missing)}")
    relative: Sequence[str] = source.names
    file_list = str(source.file_list.resolve()) if source.file_list is not None else None
    written = []
    labels = source.labels if source.file_list is not None else None
    for name in request.layers:
        locate = (locators or {}).get(name)
        units = topk_entries(state.tables[name], list(relative), labels, locate)
        lowest, highest = ([v if math.isfinite(v) else None for v in row] for row in state.ranges[name].tolist())
        doc = {"layer": name, "top": request.top, "units": units, "rank_by": request.rank_by,
               "dataset": str(Path(source.root).resolve()), "file_list": file_list,
               "unit_min": lowest, "unit_max": highest}
        path = layout.find_max_json(name)
        write_bytes_atomic(path, json.dumps(doc).encode())
        written.append(path)
        if request.search_min:
            min_units = topk_entries(negated(state.min_tables[name]), list(relative), labels, locate)
            min_doc = dict(doc, units=min_units, order="lowest first")
            written.append(layout.find_min_json(name))
            write_bytes_atomic(written[-1], json.dumps(min_doc).encode())
        if request.summaries:
            written.extend(write_summary(layout, name, state.rows[name].numpy()))
    failed = sorted(state.failed)
    skipped = {"dataset": str(Path(source.root).resolve()), "file_list": file_list,
               "skipped": [relative[i] for i in failed],
               "problems": {relative[i]: state.failed[i] for i in failed}}
    write_bytes_atomic(layout.find_max_skipped(), json.dumps(skipped, indent=1).encode())
    return written


def read_find_max(layout: UnitVisLayout, layer: str) -> dict:
    """A find-max JSON document, with a clear error when it is missing or malformed (`records.RecordError`)."""
    path = layout.find_max_json(layer)
    if not path.is_file():
        raise ScanError(f"{path}: no find-max result for layer '{layer}' (run `deepvis find-max` first)")
    return read_find_max_record(path, layer)   # every field checked: one line naming the field
